//! `GET /healthz`: liveness for load balancers and the demo (is the history in place yet).

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::http::state::AppState;

/// `GET /healthz`: the process is up and serving.
pub async fn healthz(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "site": state.site.name,
        "meters": state.site.meters.len(),
        "history_ready": state.history_ready.load(Ordering::Relaxed),
    }))
}
