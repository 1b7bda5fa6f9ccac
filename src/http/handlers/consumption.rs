//! Consumption from the ledger:
//! - `GET /api/v1/meters/{id}/consumption?from&to&step[&quantity]` (real or virtual meters;
//!   `quantity` picks a time-of-use register such as `energy_import_kwh_peak`);
//! - `GET /api/v1/units/{id}/consumption?category&from&to&step` (`category=kgce`: standard coal);
//! - `GET /api/v1/units/{id}/indicators?from&to` (综合能耗, per person, per m², CO₂);
//! - `GET /api/v1/balance?from&to` (main versus sub-meters);
//! - `GET /api/v1/meters/{id}/anomalies?from&to[&quantity]` (rollovers, drops, jumps, gaps).

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::energy::aggregate::{Balance, Indicators};
use crate::energy::category;
use crate::energy::intervals::Anomaly;
use crate::energy::ledger::{Ledger, Row, Step, register_quantity, registers};
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::quantity::Quantity;
use crate::site::{Meter, Site};
use crate::time::parse_time;

#[derive(Deserialize)]
pub struct Params {
    from: String,
    to: String,
    step: Option<String>,
    quantity: Option<String>,
    category: Option<String>,
}

/// The longest range one request may ask for.
const MAX_DAYS: i64 = 800;

fn range(site: &Site, from: &str, to: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), AppError> {
    let from =
        parse_time(from, site.timezone).map_err(|e| AppError::BadRequest(format!("from: {e}")))?;
    let to = parse_time(to, site.timezone).map_err(|e| AppError::BadRequest(format!("to: {e}")))?;
    if to <= from {
        return Err(AppError::BadRequest("`to` must be after `from`".into()));
    }
    if to - from > chrono::Duration::days(MAX_DAYS) {
        return Err(AppError::BadRequest(format!(
            "at most {MAX_DAYS} days per request"
        )));
    }
    Ok((from, to))
}

fn step(p: &Params) -> Result<Step, AppError> {
    Step::parse(p.step.as_deref().unwrap_or("1d")).map_err(AppError::BadRequest)
}

/// Runs a ledger query on a blocking thread with its own store reader.
async fn with_ledger<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Ledger<'_>) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, AppError> {
    let (site, store) = (state.site.clone(), state.store.clone());
    Ok(tokio::task::spawn_blocking(move || {
        let reader = store.reader()?;
        f(&Ledger::new(&reader, &site))
    })
    .await??)
}

pub async fn meter(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> Result<Json<Vec<Row>>, AppError> {
    let (from, to) = range(&state.site, &p.from, &p.to)?;
    let step = step(&p)?;
    if let Some(v) = state.site.virtual_meter(&id).cloned() {
        if p.quantity.is_some() {
            return Err(AppError::BadRequest(format!(
                "`{id}` is a virtual meter ({}): it has no registers to choose from",
                v.formula
            )));
        }
        return Ok(Json(
            with_ledger(&state, move |l| l.virtual_meter(&v, from, to, step)).await?,
        ));
    }
    let meter = state.meter(&id)?.clone();
    let quantity = chosen_register(&meter, p.quantity.as_deref())?;
    Ok(Json(
        with_ledger(&state, move |l| l.meter(&meter, quantity, from, to, step)).await?,
    ))
}

pub async fn anomalies(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> Result<Json<Vec<Anomaly>>, AppError> {
    let (from, to) = range(&state.site, &p.from, &p.to)?;
    let meter = state.meter(&id)?.clone();
    let quantity = chosen_register(&meter, p.quantity.as_deref())?;
    Ok(Json(
        with_ledger(&state, move |l| l.anomalies(&meter, quantity, from, to)).await?,
    ))
}

/// The main register, or the one `quantity` names if the meter keeps it.
fn chosen_register(meter: &Meter, quantity: Option<&str>) -> Result<Quantity, AppError> {
    let Some(name) = quantity else {
        return Ok(register_quantity(meter));
    };
    let kept = registers(meter);
    Quantity::parse(name)
        .filter(|q| kept.contains(q))
        .ok_or_else(|| {
            AppError::BadRequest(format!(
                "meter `{}` keeps no register `{name}`; it has {}",
                meter.id,
                kept.iter().map(|q| q.name()).collect::<Vec<_>>().join(", ")
            ))
        })
}

pub async fn unit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> Result<Json<Vec<Row>>, AppError> {
    if state.site.unit(&id).is_none() {
        return Err(AppError::NotFound(format!("no unit `{id}`")));
    }
    let (from, to) = range(&state.site, &p.from, &p.to)?;
    let step = step(&p)?;
    let Some(cat) = p.category.clone() else {
        return Err(AppError::BadRequest(
            "`category` is required: a category code (01000 electricity, 01A00 lighting, 02000 water, 03000 gas, 04000 heat ...) or `kgce` for standard coal over all energy".into(),
        ));
    };
    if cat == "kgce" {
        return Ok(Json(
            with_ledger(&state, move |l| l.unit_kgce(&id, from, to, step)).await?,
        ));
    }
    if category::category(&cat).is_none() {
        return Err(AppError::BadRequest(format!(
            "unknown category code `{cat}` (e.g. 01000 electricity, 02000 water) or `kgce`"
        )));
    }
    Ok(Json(
        with_ledger(&state, move |l| l.unit(&id, &cat, from, to, step)).await?,
    ))
}

pub async fn indicators(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> Result<Json<Indicators>, AppError> {
    let unit = state
        .site
        .unit(&id)
        .ok_or_else(|| AppError::NotFound(format!("no unit `{id}`")))?
        .clone();
    let (from, to) = range(&state.site, &p.from, &p.to)?;
    Ok(Json(
        with_ledger(&state, move |l| l.indicators(&unit, from, to)).await?,
    ))
}

pub async fn balance(
    State(state): State<AppState>,
    Query(p): Query<Params>,
) -> Result<Json<Vec<Balance>>, AppError> {
    let (from, to) = range(&state.site, &p.from, &p.to)?;
    Ok(Json(
        with_ledger(&state, move |l| l.balances(from, to)).await?,
    ))
}
