//! Every route in one place.

use axum::Router;
use axum::routing::{delete, get, patch, post};

use super::auth;
use super::handlers::{
    admin, alerts, billing, consumption, corrections, events, health, inputs, live, meters,
    metrics, pages, readings, reports, rules, ui, users,
};
use super::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::overview))
        .route("/units/{id}", get(ui::unit))
        .route("/meters/{id}", get(ui::meter))
        .route("/alerts", get(ui::alerts))
        .route("/ratings", get(ui::ratings))
        .route("/billing", get(ui::billing))
        .route("/admin", get(admin::page))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/api/v1/session", get(auth::session))
        .route("/api/v1/openapi.json", get(super::openapi::openapi))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::metrics))
        .route("/api/v1/live", get(live::live))
        .route("/api/v1/overview", get(pages::overview_json))
        .route("/api/v1/meters", get(meters::list))
        .route("/api/v1/meters/{id}", get(meters::one))
        .route("/api/v1/meters/{id}/consumption", get(consumption::meter))
        .route("/api/v1/meters/{id}/events", post(events::create))
        .route("/api/v1/meters/{id}/corrections", post(corrections::create))
        .route("/api/v1/meters/{id}/audit", get(corrections::meter_audit))
        .route("/api/v1/meters/{id}/anomalies", get(consumption::anomalies))
        .route("/api/v1/audit", get(corrections::audit))
        .route("/api/v1/reissue", get(corrections::reissue))
        .route("/api/v1/units/{id}/consumption", get(consumption::unit))
        .route(
            "/api/v1/units/{id}/indicators",
            get(consumption::indicators),
        )
        .route(
            "/api/v1/units/{id}/intensity-check",
            get(rules::intensity_check),
        )
        .route("/api/v1/balance", get(consumption::balance))
        .route("/api/v1/quotas", get(rules::quotas))
        .route("/api/v1/alerts", get(alerts::list))
        .route("/api/v1/alerts/{id}/acknowledge", post(alerts::acknowledge))
        .route("/api/v1/alerts/{id}/resolve", post(alerts::resolve))
        .route("/api/v1/ratings/{month}", get(rules::ratings))
        .route("/api/v1/ratings/{month}/committee", post(rules::committee))
        .route(
            "/api/v1/billing/{month}/statements",
            get(billing::statements),
        )
        .route(
            "/api/v1/billing/{month}/statements.csv",
            get(billing::statements_csv),
        )
        .route(
            "/api/v1/billing/{month}/statements.xlsx",
            get(billing::statements_xlsx),
        )
        .route(
            "/api/v1/billing/{month}/statements.pdf",
            get(billing::statements_pdf),
        )
        .route("/api/v1/billing/{month}/issue", post(billing::issue))
        .route(
            "/api/v1/billing/payments",
            get(billing::payments).post(billing::record_payment),
        )
        .route("/api/v1/billing/outstanding", get(billing::outstanding))
        .route("/api/v1/billing/recovery", get(billing::recovery))
        .route("/api/v1/reports/monthly/{month}", get(reports::monthly))
        .route("/api/v1/users", get(users::list).post(users::create))
        .route("/api/v1/users/{name}", patch(users::update))
        .route("/api/v1/users/{name}/tokens", post(users::create_token))
        .route(
            "/api/v1/users/{name}/tokens/{id}",
            delete(users::revoke_token),
        )
        .route("/api/v1/inputs", get(inputs::list))
        .route("/api/v1/readings", post(readings::create))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::metrics_layer::track,
        ))
        .with_state(state)
}
