//! The committee's monthly report: `GET /api/v1/reports/monthly/{YYYY-MM}` as JSON, `.html`
//! for the printable page (`?lang=en` for English), `.pdf` (A4, Chinese) or `.xlsx`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;

use crate::energy::ledger::Ledger;
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::report::MonthlyReport;
use crate::report::html::{Lang, render};
use crate::report::monthly::{ReportError, monthly_report};
use crate::time::Month;

#[derive(Deserialize)]
pub struct ReportParams {
    lang: Option<String>,
}

async fn build(state: &AppState, month: &str) -> Result<MonthlyReport, AppError> {
    let month = month.parse::<Month>().map_err(AppError::BadRequest)?;
    let (site, store) = (state.site.clone(), state.store.clone());
    tokio::task::spawn_blocking(move || {
        let reader = store.reader()?;
        let ledger = Ledger::new(&reader, &site);
        monthly_report(&ledger, &reader, &site, month, Utc::now())
    })
    .await?
    .map_err(|e| match e {
        ReportError::Store(e) => AppError::from(e),
        e @ ReportError::NoLocalMidnight(_) => AppError::BadRequest(e.to_string()),
    })
}

/// `{month}` is `YYYY-MM` (JSON), or with `.html`, `.pdf` or `.xlsx`.
pub async fn monthly(
    State(state): State<AppState>,
    Path(month): Path<String>,
    Query(p): Query<ReportParams>,
) -> Result<Response, AppError> {
    let (month, format) = month.split_once('.').unwrap_or((month.as_str(), "json"));
    let report = build(&state, month).await?;
    match format {
        "json" => Ok(Json(report).into_response()),
        "html" => {
            let figures = crate::report::figures(&report);
            let lang = Lang::parse(p.lang.as_deref());
            Ok(Html(render(&report, &figures, lang).into_string()).into_response())
        }
        "pdf" => {
            let bytes = tokio::task::spawn_blocking(move || {
                crate::report::pdf::document(&report, crate::report::png_figures(&report))
            })
            .await?
            .map_err(anyhow::Error::msg)?;
            Ok(super::attachment(
                bytes,
                "application/pdf",
                &format!("report-{month}.pdf"),
            ))
        }
        "xlsx" => {
            let bytes =
                crate::report::xlsx::workbook(&report, &crate::report::png_figures(&report))?;
            Ok(super::attachment(
                bytes,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                &format!("report-{month}.xlsx"),
            ))
        }
        other => Err(AppError::NotFound(format!(
            "no `.{other}` form of the monthly report: use .html, .pdf, .xlsx or none (JSON)"
        ))),
    }
}
