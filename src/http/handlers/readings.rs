//! `POST /api/v1/readings`: readings entered by hand, as a JSON list of
//! `{meter, time, quantity, value, note?}`. All or nothing: one bad reading refuses the lot,
//! with every problem listed by position.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::auth::Principal;
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::ingest::validate;
use crate::quantity::Quantity;
use crate::reading::{Reading, ReadingQuality};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualReading {
    meter: String,
    time: DateTime<Utc>,
    quantity: String,
    value: f64,
    #[serde(default)]
    note: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    who: Option<Extension<Principal>>,
    body: Result<Json<Vec<ManualReading>>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let Json(body) =
        body.map_err(|e| AppError::BadRequest(format!("readings: {}", e.body_text())))?;
    if body.is_empty() {
        return Err(AppError::BadRequest("no readings".into()));
    }
    let known = crate::ingest::known_meters(&state.site);
    let now = Utc::now();
    let mut readings = Vec::new();
    let mut problems = Vec::new();
    for (i, r) in body.into_iter().enumerate() {
        let Some(quantity) = Quantity::parse(&r.quantity) else {
            problems.push(format!("reading {i}: unknown quantity `{}`", r.quantity));
            continue;
        };
        let reading = Reading {
            meter: Arc::from(r.meter.as_str()),
            quantity,
            time: r.time,
            value: r.value,
            quality: ReadingQuality::Manual,
        };
        match validate(&reading, &known, now) {
            Ok(()) => readings.push((reading, r.note)),
            Err(e) => problems.push(format!("reading {i}: {e}")),
        }
    }
    if !problems.is_empty() {
        return Err(AppError::BadRequest(format!(
            "nothing was stored: {}",
            problems.join("; ")
        )));
    }
    let n = readings.len();
    let store = state.store.clone();
    let stored = readings.clone();
    // Audited under the user who entered them.
    let by = who.map_or_else(|| "api".to_string(), |p| p.user.name.clone());
    tokio::task::spawn_blocking(move || store.writer()?.write_manual(&stored, &by)).await??;
    let live: Vec<Reading> = readings.into_iter().map(|(r, _)| r).collect();
    state.live.record_manual(&live);
    Ok((StatusCode::CREATED, Json(json!({ "stored": n }))))
}
