//! `GET /api/v1/meters`: every meter with its place, category, communication status and
//! latest values.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::health::DeviceHealth;
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::ingest::MeterStatus;
use crate::site::{Meter, MeterSource};

#[derive(Serialize)]
pub struct MeterView {
    pub id: String,
    pub name: String,
    pub unit: String,
    pub unit_name: String,
    pub category: String,
    pub category_name: String,
    pub status: MeterStatus,
    /// Why the meter is not online, when it is not.
    pub status_detail: Option<String>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub last_seen: Option<DateTime<Utc>>,
    pub values: BTreeMap<&'static str, f64>,
    pub multiplier: String,
    pub profile: Option<String>,
    pub connection: Option<String>,
    /// Communication health: requests, errors by kind, retries, last success, response times.
    pub comm: Option<DeviceHealth>,
}

fn rfc3339_opt<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Secs, true)),
        None => s.serialize_none(),
    }
}

pub fn view(state: &AppState, m: &Meter) -> MeterView {
    let live = state.live.get(&m.id);
    let crate::status::Status {
        status,
        detail: status_detail,
    } = crate::status::status(m, live.as_ref(), Utc::now());
    let (profile, connection) = match &m.source {
        MeterSource::Modbus {
            profile,
            connection,
            ..
        } => (Some(profile.name.clone()), Some(connection.clone())),
        MeterSource::Line {
            profile,
            connection,
            ..
        } => (Some(profile.name.clone()), Some(connection.clone())),
        MeterSource::Mqtt { connection, .. } => (None, Some(connection.clone())),
        MeterSource::Manual { .. } => (None, None),
    };
    MeterView {
        id: m.id.clone(),
        name: m.name.clone(),
        unit: m.unit.clone(),
        unit_name: state
            .site
            .unit(&m.unit)
            .map(|u| u.name.clone())
            .unwrap_or_default(),
        category: m.category.code.to_string(),
        category_name: m.category.name_zh.to_string(),
        status,
        status_detail,
        last_seen: live.as_ref().and_then(|l| l.last_seen),
        values: live
            .map(|l| l.values.iter().map(|(q, v)| (q.name(), *v)).collect())
            .unwrap_or_default(),
        multiplier: m.multiplier.normalize().to_string(),
        comm: connection
            .as_ref()
            .map(|c| state.health.device_health(&m.id, c)),
        profile,
        connection,
    }
}

pub async fn list(State(state): State<AppState>) -> Json<Vec<MeterView>> {
    Json(state.site.meters.iter().map(|m| view(&state, m)).collect())
}

pub async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<MeterView>, AppError> {
    let m = state.meter(&id)?;
    Ok(Json(view(&state, m)))
}
