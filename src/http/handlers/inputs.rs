//! `GET /api/v1/inputs`: per MQTT topic, messages, readings, bad messages and the last bad one
//! with its reason and a sample — where to look when a device sends something unexpected.

use axum::Json;
use axum::extract::State;

use crate::health::InputStats;
use crate::http::state::AppState;

pub async fn list(State(state): State<AppState>) -> Json<Vec<InputStats>> {
    Json(state.health.inputs())
}
