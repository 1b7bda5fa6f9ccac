//! `POST /api/v1/meters/{id}/events`: an engineer records a meter replacement or a register
//! reset, so consumption across it is counted instead of excluded.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::energy::intervals::Event;
use crate::energy::ledger::register_quantity;
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::store::ledger::{Change, ChangeOutcome};

#[derive(Debug, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventBody {
    /// The old meter's final register reading and the new one's initial reading.
    Replacement {
        time: DateTime<Utc>,
        old_final: Decimal,
        new_initial: Decimal,
        note: String,
        recorded_by: String,
    },
    /// The register was reset (or set) to `new_value`.
    Reset {
        time: DateTime<Utc>,
        new_value: Decimal,
        note: String,
        recorded_by: String,
    },
}

/// The event as recorded, its audit entry, and statements flagged for re-issue.
#[derive(Serialize)]
pub struct Recorded {
    #[serde(flatten)]
    event: EventBody,
    #[serde(flatten)]
    outcome: ChangeOutcome,
}

pub async fn create(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<EventBody>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Recorded>), AppError> {
    let Json(body) = body.map_err(|e| AppError::BadRequest(format!("event: {}", e.body_text())))?;
    let meter = state.meter(&id)?;
    let (event, note, by) = match &body {
        EventBody::Replacement {
            time,
            old_final,
            new_initial,
            note,
            recorded_by,
        } => {
            if *old_final < Decimal::ZERO || *new_initial < Decimal::ZERO {
                return Err(AppError::BadRequest(
                    "register readings cannot be negative".into(),
                ));
            }
            (
                Event::Replacement {
                    time: *time,
                    old_final: *old_final,
                    new_initial: *new_initial,
                },
                note,
                recorded_by,
            )
        }
        EventBody::Reset {
            time,
            new_value,
            note,
            recorded_by,
        } => {
            if *new_value < Decimal::ZERO {
                return Err(AppError::BadRequest(
                    "register readings cannot be negative".into(),
                ));
            }
            (
                Event::Reset {
                    time: *time,
                    new_value: *new_value,
                },
                note,
                recorded_by,
            )
        }
    };
    if note.trim().is_empty() || by.trim().is_empty() {
        return Err(AppError::BadRequest(
            "an event needs a `note` (why) and `recorded_by` (who)".into(),
        ));
    }
    if event.time() > Utc::now() {
        return Err(AppError::BadRequest(
            "the event's time is in the future".into(),
        ));
    }
    let quantity = register_quantity(meter);
    let (store, meter_id, note, by) = (
        state.store.clone(),
        meter.id.clone(),
        note.clone(),
        by.clone(),
    );
    let outcome = tokio::task::spawn_blocking(move || {
        let change = Change {
            meter: &meter_id,
            quantity,
            who: &by,
            note: &note,
        };
        store.writer()?.add_event(&change, &event)
    })
    .await??;
    tracing::info!(meter = %id, kind = ?body, "meter event recorded");
    Ok((
        StatusCode::CREATED,
        Json(Recorded {
            event: body,
            outcome,
        }),
    ))
}
