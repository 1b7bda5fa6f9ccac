//! The committee's figures:
//! - `GET /api/v1/quotas?month=YYYY-MM` — each quota's month: allowance, used, pro-rated,
//!   projected, status (the current month by default);
//! - `GET /api/v1/ratings/{YYYY-MM}` — every unit's rating, ranked, each item with its input,
//!   score and weight (kept as history each time it is computed);
//! - `POST /api/v1/ratings/{YYYY-MM}/committee` — the committee's points for a unit.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{Datelike, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::energy::ledger::Ledger;
use crate::http::auth::Principal;
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::rules::quota::MonthStatus;
use crate::rules::rating::UnitRating;
use crate::time::Month;

#[derive(Deserialize)]
pub struct QuotaParams {
    month: Option<String>,
}

pub async fn quotas(
    State(state): State<AppState>,
    Query(p): Query<QuotaParams>,
) -> Result<Json<Vec<MonthStatus>>, AppError> {
    let now = Utc::now();
    let month = match &p.month {
        Some(m) => m.parse::<Month>().map_err(AppError::BadRequest)?,
        None => Month::of(now.with_timezone(&state.site.timezone).date_naive()),
    };
    let (site, store) = (state.site.clone(), state.store.clone());
    Ok(Json(
        tokio::task::spawn_blocking(move || {
            let reader = store.reader()?;
            let ledger = Ledger::new(&reader, &site);
            site.quotas
                .iter()
                .filter(|q| q.year.is_none_or(|y| y == month.year()))
                .map(|q| crate::rules::quota::quota_month(&ledger, &site, q, month, now))
                .collect::<Result<Vec<_>, _>>()
        })
        .await??,
    ))
}

pub async fn ratings(
    State(state): State<AppState>,
    Path(month): Path<String>,
) -> Result<Json<Vec<UnitRating>>, AppError> {
    let month = month.parse::<Month>().map_err(AppError::BadRequest)?;
    let (site, store) = (state.site.clone(), state.store.clone());
    let rated = tokio::task::spawn_blocking(move || {
        let reader = store.reader()?;
        let ledger = Ledger::new(&reader, &site);
        let rated = crate::rules::month_ratings(&ledger, &reader, &site, month, Utc::now())?;
        store.writer()?.save_ratings(&rated)?;
        Ok::<_, crate::store::StoreError>(rated)
    })
    .await??;
    Ok(Json(rated))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitteeBody {
    unit: String,
    points: Decimal,
    note: String,
}

pub async fn committee(
    State(state): State<AppState>,
    Path(month): Path<String>,
    Extension(principal): Extension<Principal>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let month = month.parse::<Month>().map_err(AppError::BadRequest)?;
    let b: CommitteeBody = crate::http::body::change(body, "committee points")?;
    let entered_by = principal.user.name;
    if state.site.unit(&b.unit).is_none() {
        return Err(AppError::NotFound(format!("no unit `{}`", b.unit)));
    }
    if b.points < Decimal::ZERO || b.points > Decimal::ONE_HUNDRED {
        return Err(AppError::BadRequest(
            "points must be between 0 and 100".into(),
        ));
    }
    if b.note.trim().is_empty() {
        return Err(AppError::BadRequest(
            "committee points need a `note` (why)".into(),
        ));
    }
    let store = state.store.clone();
    let (unit, points) = (b.unit.clone(), b.points);
    tokio::task::spawn_blocking(move || {
        store.writer()?.set_committee_points(
            &b.unit,
            &month.to_string(),
            b.points,
            &b.note,
            &entered_by,
        )
    })
    .await??;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "unit": unit, "points": points })),
    ))
}

#[derive(Deserialize)]
pub struct CheckParams {
    /// A calendar year; the last twelve complete months by default.
    year: Option<i32>,
}

/// `GET /api/v1/units/{id}/intensity-check?year=YYYY`: the GB/T 51161-style annual check.
pub async fn intensity_check(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<CheckParams>,
) -> Result<Json<crate::rules::intensity::IntensityCheck>, AppError> {
    let unit = state
        .site
        .unit(&id)
        .ok_or_else(|| AppError::NotFound(format!("no unit `{id}`")))?
        .clone();
    let tz = state.site.timezone;
    let (first, next) = match p.year {
        Some(y) if (1970..=9998).contains(&y) => (
            chrono::NaiveDate::from_ymd_opt(y, 1, 1),
            chrono::NaiveDate::from_ymd_opt(y + 1, 1, 1),
        ),
        Some(y) => return Err(AppError::BadRequest(format!("year {y} is out of range"))),
        None => {
            let this_month = Utc::now().with_timezone(&tz).date_naive().with_day(1);
            (this_month.map(|m| m - chrono::Months::new(12)), this_month)
        }
    };
    let bounds = first
        .zip(next)
        .and_then(|(a, b)| {
            crate::time::local_midnight(a, tz).zip(crate::time::local_midnight(b, tz))
        })
        .ok_or_else(|| AppError::BadRequest("no such year".into()))?;
    let standard = crate::rules::intensity::Standard::office()
        .map_err(|e| AppError::Internal(anyhow::anyhow!(e)))?;
    let (site, store) = (state.site.clone(), state.store.clone());
    Ok(Json(
        tokio::task::spawn_blocking(move || {
            let reader = store.reader()?;
            crate::rules::intensity::intensity_check(
                &Ledger::new(&reader, &site),
                &site,
                &standard,
                &unit,
                bounds.0,
                bounds.1,
            )
        })
        .await??,
    ))
}
