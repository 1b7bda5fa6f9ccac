//! The axum router, built from the route table ([`super::routes::ROUTES`]): each route with
//! its handler, every request through the guard (which applies the table's access rule to the
//! matched route; unknown paths too), and the metrics layer outside it all.

use std::sync::Arc;

use axum::{Extension, Router};

use super::auth;
use super::handlers::openapi::ApiDocument;
use super::routes::{self, ROUTES};
use super::state::AppState;

pub fn router(state: AppState) -> Router {
    let mut app = Router::new();
    for r in ROUTES {
        app = app.route(r.path, (r.handler)(r.verb.filter()));
    }
    let guard = auth::Guard {
        state: state.clone(),
        access: routes::access,
    };
    app.layer(Extension(ApiDocument(Arc::new(super::openapi::document()))))
        .layer(axum::middleware::from_fn_with_state(guard, auth::guard))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::metrics_layer::track,
        ))
        .with_state(state)
}
