//! Every route in one place.

use axum::Router;
use axum::routing::{get, post};

use super::handlers::{consumption, events, health, inputs, meters, metrics, pages, readings};
use super::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::overview))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::metrics))
        .route("/api/v1/meters", get(meters::list))
        .route("/api/v1/meters/{id}", get(meters::one))
        .route("/api/v1/meters/{id}/consumption", get(consumption::meter))
        .route("/api/v1/meters/{id}/events", post(events::create))
        .route("/api/v1/inputs", get(inputs::list))
        .route("/api/v1/readings", post(readings::create))
        .with_state(state)
}
