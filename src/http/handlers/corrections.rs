//! Corrections, with why (the body's `note`) and who (the signed-in account), kept in the audit log:
//! - `POST /api/v1/meters/{id}/corrections` — correct or strike out a reading, set or estimate
//!   an interval's consumption, or annotate; answers with the audit entry and any statements
//!   flagged for re-issue;
//! - `GET /api/v1/meters/{id}/audit`, `GET /api/v1/audit` — the audit log, newest first;
//! - `GET /api/v1/reissue` — statements whose billed figures a later change touched.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, Duration, Timelike, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::energy::intervals::Quality;
use crate::energy::ledger::{register_quantity, registers};
use crate::http::auth::Principal;
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::quantity::Quantity;
use crate::store::ledger::{AuditEntry, Change, ChangeOutcome, IntervalCorrection};

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CorrectionBody {
    /// The stored reading at `time` should have been `value` (the raw reading is kept).
    Reading {
        time: DateTime<Utc>,
        value: Decimal,
        quantity: Option<String>,
        note: String,
    },
    /// The stored reading at `time` is wrong and is left out of consumption.
    StrikeOut {
        time: DateTime<Utc>,
        quantity: Option<String>,
        note: String,
    },
    /// The consumption of [start, end) (multiplier applied) was `consumption`; `estimated`
    /// when it is an estimate rather than a known figure.
    Interval {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        consumption: Decimal,
        #[serde(default)]
        estimated: bool,
        quantity: Option<String>,
        note: String,
    },
    /// A note on a reading or a stretch of time; changes no figure.
    Note {
        start: DateTime<Utc>,
        end: Option<DateTime<Utc>>,
        quantity: Option<String>,
        note: String,
    },
}

fn on_grid(t: DateTime<Utc>) -> bool {
    t.minute().is_multiple_of(15) && t.second() == 0 && t.nanosecond() == 0
}

pub async fn create(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(principal): Extension<Principal>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<ChangeOutcome>), AppError> {
    let body: CorrectionBody = crate::http::body::change(body, "correction")?;
    let meter = state.meter(&id)?.clone();
    let (quantity, note) = match &body {
        CorrectionBody::Reading { quantity, note, .. }
        | CorrectionBody::StrikeOut { quantity, note, .. }
        | CorrectionBody::Interval { quantity, note, .. }
        | CorrectionBody::Note { quantity, note, .. } => (quantity.clone(), note.clone()),
    };
    if note.trim().is_empty() {
        return Err(AppError::BadRequest(
            "a correction needs a `note` (why)".into(),
        ));
    }
    let who = principal.user.name.clone();
    let quantity = match quantity {
        None => register_quantity(&meter),
        Some(name) => Quantity::parse(&name)
            .filter(|q| registers(&meter).contains(q))
            .ok_or_else(|| {
                AppError::BadRequest(format!("meter `{id}` keeps no register `{name}`"))
            })?,
    };
    let now = Utc::now();
    match &body {
        CorrectionBody::Reading { value, .. } if *value < Decimal::ZERO => {
            return Err(AppError::BadRequest(
                "register readings cannot be negative".into(),
            ));
        }
        CorrectionBody::Interval {
            start,
            end,
            consumption,
            ..
        } => {
            if !(on_grid(*start) && on_grid(*end)) || end <= start {
                return Err(AppError::BadRequest(
                    "an interval correction covers whole 15-minute intervals: `start` before `end`, both on :00, :15, :30 or :45".into(),
                ));
            }
            if *end > now + Duration::minutes(15) {
                return Err(AppError::BadRequest("the interval is in the future".into()));
            }
            if *consumption < Decimal::ZERO {
                return Err(AppError::BadRequest(
                    "consumption cannot be negative".into(),
                ));
            }
        }
        CorrectionBody::Note {
            start,
            end: Some(end),
            ..
        } if end < start => {
            return Err(AppError::BadRequest("`end` is before `start`".into()));
        }
        _ => {}
    }
    let store = state.store.clone();
    let meter_id = meter.id.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let change = Change {
            meter: &meter_id,
            quantity,
            who: &who,
            note: &note,
        };
        let mut w = store.writer()?;
        Ok::<_, crate::store::StoreError>(match body {
            CorrectionBody::Reading { time, value, .. } => {
                w.correct_reading(&change, time, Some(value))?
            }
            CorrectionBody::StrikeOut { time, .. } => w.correct_reading(&change, time, None)?,
            CorrectionBody::Interval {
                start,
                end,
                consumption,
                estimated,
                ..
            } => Some(w.correct_interval(
                &change,
                &IntervalCorrection {
                    start,
                    end,
                    consumption,
                    quality: if estimated {
                        Quality::Estimated
                    } else {
                        Quality::Corrected
                    },
                },
            )?),
            CorrectionBody::Note { start, end, .. } => {
                Some(w.annotate(&change, start, end.unwrap_or(start))?)
            }
        })
    })
    .await??;
    let outcome = outcome.ok_or_else(|| {
        AppError::NotFound(format!(
            "meter `{id}` has no stored {} reading at that time (to add one, POST /api/v1/readings)",
            quantity.name()
        ))
    })?;
    tracing::info!(meter = %id, audit = outcome.audit_id, reissue = ?outcome.reissue, "correction recorded");
    Ok((StatusCode::CREATED, Json(outcome)))
}

#[derive(Deserialize)]
pub struct AuditParams {
    limit: Option<usize>,
}

pub async fn meter_audit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<AuditParams>,
) -> Result<Json<Vec<AuditEntry>>, AppError> {
    if state.site.meter(&id).is_none() {
        return Err(AppError::NotFound(format!("no meter `{id}`")));
    }
    let store = state.store.clone();
    let limit = p.limit.unwrap_or(200).min(10_000);
    Ok(Json(
        tokio::task::spawn_blocking(move || store.reader()?.audit(Some(&id), limit)).await??,
    ))
}

pub async fn audit(
    State(state): State<AppState>,
    Query(p): Query<AuditParams>,
) -> Result<Json<Vec<AuditEntry>>, AppError> {
    let store = state.store.clone();
    let limit = p.limit.unwrap_or(200).min(10_000);
    Ok(Json(
        tokio::task::spawn_blocking(move || store.reader()?.audit(None, limit)).await??,
    ))
}

#[derive(Serialize)]
pub struct ReissueFlag {
    statement: String,
    meter: String,
    audit_id: i64,
}

pub async fn reissue(State(state): State<AppState>) -> Result<Json<Vec<ReissueFlag>>, AppError> {
    let store = state.store.clone();
    let flags = tokio::task::spawn_blocking(move || store.reader()?.reissue_flags()).await??;
    Ok(Json(
        flags
            .into_iter()
            .map(|(statement, meter, audit_id)| ReissueFlag {
                statement,
                meter,
                audit_id,
            })
            .collect(),
    ))
}
