//! Alerts:
//! - `GET /api/v1/alerts` — open and acknowledged alerts, newest first; `?since=T` for every
//!   alert seen since T, resolved ones too;
//! - `POST /api/v1/alerts/{id}/acknowledge`, `POST /api/v1/alerts/{id}/resolve` —
//!   `{"note": "..."}` (the note optional); recorded under the signed-in account.

use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;

use crate::http::auth::Principal;
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::rules::alert::Alert;
use crate::time::parse_time;

#[derive(Deserialize)]
pub struct ListParams {
    since: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Query(p): Query<ListParams>,
) -> Result<Json<Vec<Alert>>, AppError> {
    let since = p
        .since
        .map(|s| parse_time(&s, state.site.timezone))
        .transpose()
        .map_err(|e| AppError::BadRequest(format!("since: {e}")))?;
    let store = state.store.clone();
    Ok(Json(
        tokio::task::spawn_blocking(move || store.reader()?.alerts(since)).await??,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandleBody {
    #[serde(default)]
    note: Option<String>,
}

async fn handle(
    state: AppState,
    id: i64,
    principal: Principal,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
    resolve: bool,
) -> Result<Json<Alert>, AppError> {
    let b: HandleBody = crate::http::body::change(body, "alert")?;
    let by = principal.user.name;
    let store = state.store.clone();
    let result = tokio::task::spawn_blocking(move || {
        let Some(mut alert) = store.reader()?.alert(id)? else {
            return Ok(Err(AppError::NotFound(format!("no alert {id}"))));
        };
        let now = Utc::now();
        let done = if resolve {
            alert.resolve(&by, b.note.as_deref(), now)
        } else {
            alert.acknowledge(&by, b.note.as_deref(), now)
        };
        if let Err(e) = done {
            return Ok(Err(AppError::BadRequest(e.to_string())));
        }
        let saved = store.writer()?.save_alerts(&[alert])?;
        Ok::<_, crate::store::StoreError>(Ok(saved.into_iter().next()))
    })
    .await??;
    result?
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("no alert {id}")))
}

pub async fn acknowledge(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Extension(principal): Extension<Principal>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Alert>, AppError> {
    handle(state, id, principal, body, false).await
}

pub async fn resolve(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Extension(principal): Extension<Principal>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Alert>, AppError> {
    handle(state, id, principal, body, true).await
}
