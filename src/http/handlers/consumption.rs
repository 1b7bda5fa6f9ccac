//! `GET /api/v1/meters/{id}/consumption?from&to&step`: consumption per step from the ledger.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;

use crate::energy::ledger::{Row, Step, consumption, parse_time};
use crate::http::error::AppError;
use crate::http::state::AppState;

#[derive(Deserialize)]
pub struct Params {
    from: String,
    to: String,
    step: Option<String>,
}

pub async fn meter(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> Result<Json<Vec<Row>>, AppError> {
    let site = state.site.clone();
    let meter = site
        .meter(&id)
        .ok_or_else(|| AppError::NotFound(format!("no meter `{id}`")))?
        .clone();
    let from = parse_time(&p.from, site.timezone)
        .map_err(|e| AppError::BadRequest(format!("from: {e}")))?;
    let to =
        parse_time(&p.to, site.timezone).map_err(|e| AppError::BadRequest(format!("to: {e}")))?;
    if to <= from {
        return Err(AppError::BadRequest("`to` must be after `from`".into()));
    }
    if to - from > chrono::Duration::days(800) {
        return Err(AppError::BadRequest("at most 800 days per request".into()));
    }
    let step = Step::parse(p.step.as_deref().unwrap_or("1d")).map_err(AppError::BadRequest)?;
    let store = state.store.clone();
    let rows = tokio::task::spawn_blocking(move || {
        consumption(&store.reader()?, &site, &meter, from, to, step)
    })
    .await??;
    Ok(Json(rows))
}
