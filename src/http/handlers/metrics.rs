//! `GET /metrics`: Prometheus text exposition.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::http::error::AppError;
use crate::http::state::AppState;

pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    let mut out = String::new();
    state
        .health
        .encode(&mut out)
        .map_err(|e| anyhow::anyhow!("encoding metrics: {e}"))?;
    // Meters by communication status, from the live state.
    let mut counts = std::collections::BTreeMap::new();
    let now = chrono::Utc::now();
    for m in &state.site.meters {
        let status = crate::status::current(&state.live, m, now).status;
        *counts
            .entry(format!("{status:?}").to_lowercase())
            .or_insert(0u64) += 1;
    }
    out.push_str(
        "# HELP jieneng_meters Meters by communication status.\n# TYPE jieneng_meters gauge\n",
    );
    for (status, n) in counts {
        out.push_str(&format!("jieneng_meters{{status=\"{status}\"}} {n}\n"));
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    ))
}
