//! Utility-charge billing for finance:
//! - `GET /api/v1/billing/{YYYY-MM}/statements[.csv|.xlsx|.pdf]?tenant=` — the month's
//!   statements (issued ones as issued, with payments and status; the rest as drafts);
//! - `POST /api/v1/billing/{YYYY-MM}/issue` — issue them (flagged ones are re-issued);
//! - `POST /api/v1/billing/payments`, `GET /api/v1/billing/payments` — payments;
//! - `GET /api/v1/billing/outstanding` — what each tenant owes;
//! - `GET /api/v1/billing/recovery?year=` — billed and recovered per month and per tenant
//!   (水电费回收);
//! - `POST /api/v1/billing/{YYYY-MM}/accept` — accept held statements with a reason;
//! - `GET|POST /api/v1/billing/opening-balances` — rooms' free quota carried in from before.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::billing::BillingError;
use crate::billing::Statement;
use crate::billing::book::{self, AcceptRefusal};
use crate::energy::ledger::Ledger;
use crate::http::auth::Principal;
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::store::billing::{BillingRefusal, NewPayment};
use crate::time::Month;

#[derive(Deserialize)]
pub struct StatementParams {
    tenant: Option<String>,
}

/// A tenant named in a request must be one of the site's (404 otherwise).
fn known_tenant(state: &AppState, tenant: Option<&str>) -> Result<(), AppError> {
    match tenant {
        Some(t) if state.site.tenant(t).is_none() => {
            Err(AppError::NotFound(format!("no tenant `{t}`")))
        }
        _ => Ok(()),
    }
}

fn today(state: &AppState) -> NaiveDate {
    Utc::now().with_timezone(&state.site.timezone).date_naive()
}

async fn load(
    state: &AppState,
    month: &str,
    tenant: Option<String>,
) -> Result<Vec<Statement>, AppError> {
    let month = month.parse::<Month>().map_err(AppError::BadRequest)?;
    known_tenant(state, tenant.as_deref())?;
    let (site, store, today) = (state.site.clone(), state.store.clone(), today(state));
    let statements = tokio::task::spawn_blocking(move || {
        let reader = store.reader()?;
        let ledger = Ledger::new(&reader, &site);
        book::month_statements(&ledger, &reader, &site, month, tenant.as_deref(), today)
    })
    .await??;
    Ok(statements)
}

/// The month's statements as JSON: `{"statements": [...]}`.
pub async fn statements(
    State(state): State<AppState>,
    Path(month): Path<String>,
    Query(p): Query<StatementParams>,
) -> Result<Response, AppError> {
    let statements = load(&state, &month, p.tenant).await?;
    Ok(Json(json!({ "statements": statements })).into_response())
}

pub async fn statements_csv(
    State(state): State<AppState>,
    Path(month): Path<String>,
    Query(p): Query<StatementParams>,
) -> Result<Response, AppError> {
    let statements = load(&state, &month, p.tenant).await?;
    let bytes = crate::billing::output::csv(&statements)?;
    Ok(super::attachment(
        bytes,
        "text/csv; charset=utf-8",
        &format!("statements-{month}.csv"),
    ))
}

pub async fn statements_xlsx(
    State(state): State<AppState>,
    Path(month): Path<String>,
    Query(p): Query<StatementParams>,
) -> Result<Response, AppError> {
    let statements = load(&state, &month, p.tenant).await?;
    let bytes = crate::billing::xlsx::workbook(&statements, &state.site.billing)?;
    Ok(super::attachment(
        bytes,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &format!("statements-{month}.xlsx"),
    ))
}

pub async fn statements_pdf(
    State(state): State<AppState>,
    Path(month): Path<String>,
    Query(p): Query<StatementParams>,
) -> Result<Response, AppError> {
    let statements = load(&state, &month, p.tenant).await?;
    let site = state.site.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        crate::billing::pdf::document(&statements, &site.billing)
    })
    .await?
    .map_err(anyhow::Error::msg)?;
    Ok(super::attachment(
        bytes,
        "application/pdf",
        &format!("statements-{month}.pdf"),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueBody {
    tenant: Option<String>,
}

pub async fn issue(
    State(state): State<AppState>,
    Path(month): Path<String>,
    Extension(principal): Extension<Principal>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let month = month.parse::<Month>().map_err(AppError::BadRequest)?;
    let b: IssueBody = crate::http::body::change(body, "issue")?;
    let issued_by = principal.user.name;
    known_tenant(&state, b.tenant.as_deref())?;
    let (site, store, today) = (state.site.clone(), state.store.clone(), today(&state));
    let issued = tokio::task::spawn_blocking(move || {
        let reader = store.reader()?;
        let mut writer = store.writer()?;
        let ledger = Ledger::new(&reader, &site);
        book::issue(
            &ledger,
            &reader,
            &site,
            &mut writer,
            month,
            b.tenant.as_deref(),
            &issued_by,
            today,
        )
    })
    .await??;
    Ok((StatusCode::CREATED, Json(json!({ "issued": issued }))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
    statement: String,
    amount: Decimal,
    paid_on: NaiveDate,
    #[serde(default)]
    method: String,
    #[serde(default)]
    reference: String,
}

pub async fn record_payment(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let b: PaymentBody = crate::http::body::change(body, "payment")?;
    let recorded_by = principal.user.name;
    if b.amount.scale() > 2 {
        return Err(AppError::BadRequest(format!(
            "payment: amount {} has more than two decimals (yuan and fen)",
            b.amount
        )));
    }
    let store = state.store.clone();
    let payment = NewPayment {
        statement: b.statement,
        amount: b.amount,
        paid_on: b.paid_on,
        method: b.method,
        reference: b.reference,
    };
    let outcome = tokio::task::spawn_blocking(move || {
        store
            .writer()
            .map_err(BillingRefusal::Store)?
            .record_payments(std::slice::from_ref(&payment), &recorded_by)
    })
    .await?;
    match outcome {
        Ok(ids) => Ok((StatusCode::CREATED, Json(json!({ "payment": ids.first() })))),
        Err(BillingRefusal::Store(e)) => Err(e.into()),
        Err(e @ BillingRefusal::UnknownStatement(_)) => Err(AppError::NotFound(e.to_string())),
        Err(e) => Err(AppError::BadRequest(e.to_string())),
    }
}

pub async fn payments(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    let store = state.store.clone();
    let list = tokio::task::spawn_blocking(move || store.reader()?.payments(None)).await??;
    Ok(Json(json!({ "payments": list })))
}

pub async fn outstanding(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    let (site, store, today) = (state.site.clone(), state.store.clone(), today(&state));
    let balances =
        tokio::task::spawn_blocking(move || book::balances(&store.reader()?, &site, today))
            .await??;
    let total: Decimal = balances.iter().map(|b| b.outstanding).sum();
    Ok(Json(json!({ "tenants": balances, "outstanding": total })))
}

#[derive(Deserialize)]
pub struct RecoveryParams {
    year: Option<i32>,
}

pub async fn recovery(
    State(state): State<AppState>,
    Query(p): Query<RecoveryParams>,
) -> Result<Json<book::Recovery>, AppError> {
    let year = p.year.unwrap_or_else(|| {
        use chrono::Datelike;
        today(&state).year()
    });
    if !(1970..=9999).contains(&year) {
        return Err(AppError::BadRequest(format!("year {year}: use 1970..9999")));
    }
    let (site, store) = (state.site.clone(), state.store.clone());
    let r = tokio::task::spawn_blocking(move || book::recovery(&store.reader()?, &site, year))
        .await??;
    Ok(Json(r))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    tenant: Option<String>,
    #[serde(default)]
    reason: String,
}

/// Accepts the month's held statements (one tenant's, or every held one) with a reason,
/// under the signed-in account: `{"accepted": [...]}`.
pub async fn accept(
    State(state): State<AppState>,
    Path(month): Path<String>,
    Extension(principal): Extension<Principal>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let month = month.parse::<Month>().map_err(AppError::BadRequest)?;
    let b: AcceptBody = crate::http::body::change(body, "accept")?;
    known_tenant(&state, b.tenant.as_deref())?;
    let who = principal.user.name;
    let (site, store, today) = (state.site.clone(), state.store.clone(), today(&state));
    let outcome = tokio::task::spawn_blocking(move || {
        let reader = store.reader().map_err(BillingError::from)?;
        let mut writer = store.writer().map_err(BillingError::from)?;
        let ledger = Ledger::new(&reader, &site);
        book::accept(
            &ledger,
            &reader,
            &site,
            &mut writer,
            month,
            b.tenant.as_deref(),
            &b.reason,
            &who,
            today,
        )
    })
    .await?;
    match outcome {
        Ok(accepted) => Ok((StatusCode::CREATED, Json(json!({ "accepted": accepted })))),
        Err(AcceptRefusal::Billing(e)) => Err(e.into()),
        Err(e) => Err(AppError::BadRequest(format!("accept: {e}"))),
    }
}

pub async fn opening_balances(State(state): State<AppState>) -> Result<Json<Value>, AppError> {
    let store = state.store.clone();
    let list = tokio::task::spawn_blocking(move || store.reader()?.opening_balances()).await??;
    Ok(Json(json!({ "opening_balances": list })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningBody {
    tenant: String,
    month: String,
    carried_in: Value,
    #[serde(default)]
    note: String,
}

/// Records a room's opening balance under the signed-in account; issued statements it
/// changes are flagged for re-issue: `{"flagged": [...]}`.
pub async fn record_opening_balance(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let b: OpeningBody = crate::http::body::change(body, "opening balance")?;
    let carried = match &b.carried_in {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => {
            return Err(AppError::BadRequest(format!(
                "opening balance: carried_in {other} is not a number"
            )));
        }
    };
    let opening =
        crate::billing::openings::check(&state.site, &b.tenant, &b.month, &carried, &b.note)
            .map_err(|e| AppError::BadRequest(format!("opening balance: {e}")))?;
    let who = principal.user.name;
    let (site, store) = (state.site.clone(), state.store.clone());
    let flagged = tokio::task::spawn_blocking(move || {
        let meters = |tenant: &str| -> Vec<String> {
            site.tenant(tenant)
                .map(|t| t.meters.iter().map(|m| m.meter.clone()).collect())
                .unwrap_or_default()
        };
        store.writer()?.record_openings(&[opening], &meters, &who)
    })
    .await??;
    Ok((StatusCode::CREATED, Json(json!({ "flagged": flagged }))))
}
