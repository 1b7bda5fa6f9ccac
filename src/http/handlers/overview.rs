//! `GET /api/v1/overview`: the overview page's figures (refreshed at most once a minute).

use axum::extract::State;

use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::report::overview::Overview;

/// `GET /api/v1/overview`: the overview's figures (refreshed at most once a minute).
pub async fn figures(State(state): State<AppState>) -> Result<axum::Json<Overview>, AppError> {
    Ok(axum::Json(
        state.overview.get(&state).await?.as_ref().clone(),
    ))
}
