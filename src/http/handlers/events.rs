//! `POST /api/v1/meters/{id}/events`: an engineer records a meter replacement or a register
//! reset, so consumption across it is counted instead of excluded. The event is recorded under
//! the signed-in account.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::energy::intervals::Event;
use crate::energy::ledger::register_quantity;
use crate::http::auth::Principal;
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
    },
    /// The register was reset (or set) to `new_value`.
    Reset {
        time: DateTime<Utc>,
        new_value: Decimal,
        note: String,
    },
}

/// The event as recorded, its audit entry, and statements flagged for re-issue.
#[derive(Serialize)]
pub struct Recorded {
    #[serde(flatten)]
    event: EventBody,
    /// The signed-in account that recorded it.
    recorded_by: String,
    #[serde(flatten)]
    outcome: ChangeOutcome,
}

pub async fn create(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(principal): Extension<Principal>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Recorded>), AppError> {
    let body: EventBody = crate::http::body::change(body, "event")?;
    let meter = state.meter(&id)?;
    let (event, note) = match &body {
        EventBody::Replacement {
            time,
            old_final,
            new_initial,
            note,
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
            )
        }
        EventBody::Reset {
            time,
            new_value,
            note,
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
            )
        }
    };
    if note.trim().is_empty() {
        return Err(AppError::BadRequest("an event needs a `note` (why)".into()));
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
        principal.user.name.clone(),
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
            recorded_by: principal.user.name,
            outcome,
        }),
    ))
}
