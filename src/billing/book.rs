//! The recovery ledger finance works from (水电费回收): statements for a month (issued ones as
//! issued, the rest as drafts), issuing and re-issuing, what each tenant still owes, and what
//! was billed and recovered per month.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;

use super::compute::{BillingError, BillingPeriod, draft_statement};
use super::review::{Acceptance, Hold, holds_key};
use super::statement::{Statement, Status, late_fee};
use crate::energy::ledger::Ledger;
use crate::site::Site;
use crate::store::billing::{BillingRefusal, Payment};
use crate::store::reviews::StoredAcceptance;
use crate::store::sqlite::StoreReader;
use crate::store::sqlite::StoreWriter;
use crate::time::{Month, local_midnight};

/// The late fee rate of a tenant (its own or the site's).
fn late_rate(site: &Site, tenant: &str) -> Decimal {
    site.tenant(tenant)
        .and_then(|t| t.late_fee_per_day)
        .unwrap_or(site.billing.late_fee_per_day)
}

/// Fills in an issued statement's standing on `today`: paid, late fee, outstanding, status.
pub fn settle(s: &mut Statement, paid: Decimal, superseded: bool, rate: Decimal, today: NaiveDate) {
    s.paid = paid;
    let owed = (s.total - paid).max(Decimal::ZERO);
    s.late_fee = late_fee(owed, rate, s.due_date, today);
    s.outstanding = if superseded {
        Decimal::ZERO
    } else {
        owed + s.late_fee
    };
    s.status = if superseded {
        Status::Superseded
    } else if paid >= s.total {
        Status::Paid
    } else if today > s.due_date {
        Status::Overdue
    } else if paid > Decimal::ZERO {
        Status::PartlyPaid
    } else {
        Status::Issued
    };
}

/// Paid per (tenant, period), over every statement of the period (a re-issue inherits what
/// was paid against the statement it replaces).
fn paid_by_period(
    issued: &[crate::store::billing::IssuedStatement],
    payments: &[Payment],
) -> HashMap<(String, String), Decimal> {
    let period_of: HashMap<&str, (&str, &str)> = issued
        .iter()
        .map(|i| {
            let s = &i.statement;
            (s.number.as_str(), (s.tenant.as_str(), s.period.as_str()))
        })
        .collect();
    let mut out: HashMap<(String, String), Decimal> = HashMap::new();
    for p in payments {
        if let Some((t, per)) = period_of.get(p.statement.as_str()) {
            *out.entry((t.to_string(), per.to_string())).or_default() += p.amount;
        }
    }
    out
}

/// The opening balances in force, per tenant: (first month, quota carried into it).
fn openings(reader: &StoreReader) -> Result<HashMap<String, (Month, Decimal)>, BillingError> {
    Ok(reader
        .opening_balances()?
        .into_iter()
        .filter_map(|o| Some((o.tenant, (o.month.parse::<Month>().ok()?, o.carried_in))))
        .collect())
}

/// A held draft that a finance user accepted as it stands (same total, same holds) is
/// issuable: it carries the acceptance and is a plain draft again.
fn apply_acceptance(draft: &mut Statement, accepted: &HashMap<(String, String), StoredAcceptance>) {
    if draft.holds.is_empty() {
        return;
    }
    let key = (draft.tenant.clone(), draft.period.clone());
    if let Some(a) = accepted.get(&key)
        && a.total == draft.total
        && a.holds == holds_key(&draft.holds)
    {
        draft.accepted = Some(a.acceptance.clone());
        draft.status = Status::Draft;
    }
}

/// What drafts need from the store besides the ledger: opening balances and acceptances.
struct DraftContext {
    openings: HashMap<String, (Month, Decimal)>,
    accepted: HashMap<(String, String), StoredAcceptance>,
}

impl DraftContext {
    fn load(reader: &StoreReader) -> Result<DraftContext, BillingError> {
        Ok(DraftContext {
            openings: openings(reader)?,
            accepted: reader
                .acceptances(None)?
                .into_iter()
                .map(|a| ((a.tenant.clone(), a.period.clone()), a))
                .collect(),
        })
    }

    /// A tenant's draft for `period`, with its opening balance and any acceptance.
    fn draft(
        &self,
        ledger: &Ledger,
        site: &Site,
        tenant: &crate::billing::tenant::Tenant,
        period: &BillingPeriod,
        today: NaiveDate,
    ) -> Result<Statement, BillingError> {
        let opening = self.openings.get(&tenant.id).copied();
        let mut d = draft_statement(ledger, site, tenant, period, opening, today)?;
        apply_acceptance(&mut d, &self.accepted);
        Ok(d)
    }
}

/// What a tenant still owes on `today` for the periods before `before` (上期欠费).
fn arrears(
    site: &Site,
    issued: &[crate::store::billing::IssuedStatement],
    paid: &HashMap<(String, String), Decimal>,
    tenant: &str,
    before: NaiveDate,
    today: NaiveDate,
) -> Decimal {
    issued
        .iter()
        .filter(|i| {
            i.superseded_by.is_none() && i.statement.tenant == tenant && i.statement.end < before
        })
        .map(|i| {
            let mut s = i.statement.clone();
            let p = paid
                .get(&(s.tenant.clone(), s.period.clone()))
                .copied()
                .unwrap_or_default();
            settle(&mut s, p, false, late_rate(site, tenant), today);
            s.outstanding
        })
        .sum()
}

/// Every tenant's statement for the period ending with `month`: the current issued one
/// (with payments, late fee and status on `today`, flagged when a later change touched it),
/// or a draft computed now.
pub fn month_statements(
    ledger: &Ledger,
    reader: &StoreReader,
    site: &Site,
    month: Month,
    tenant: Option<&str>,
    today: NaiveDate,
) -> Result<Vec<Statement>, BillingError> {
    let issued = reader.issued_statements(None, tenant)?;
    let payments = reader.payments(None)?;
    let paid = paid_by_period(&issued, &payments);
    let flagged = reader.flagged_statements()?;
    let context = DraftContext::load(reader)?;
    let mut out = Vec::new();
    for t in site
        .tenants
        .iter()
        .filter(|t| tenant.is_none_or(|id| t.id == id))
    {
        let Some(period) = BillingPeriod::ending_with(month.first_day(), t.cycle) else {
            continue;
        };
        let current = issued.iter().find(|i| {
            i.superseded_by.is_none()
                && i.statement.tenant == t.id
                && i.statement.period == period.label
        });
        let mut s = match current {
            Some(i) => {
                let mut s = i.statement.clone();
                let p = paid
                    .get(&(t.id.clone(), period.label.clone()))
                    .copied()
                    .unwrap_or_default();
                settle(&mut s, p, false, late_rate(site, &t.id), today);
                s.reissue_needed = flagged.contains(&s.number);
                s
            }
            None => context.draft(ledger, site, t, &period, today)?,
        };
        s.arrears = arrears(site, &issued, &paid, &t.id, period.start, today);
        out.push(s);
    }
    Ok(out)
}

/// What issuing did for one tenant.
#[derive(Debug, Clone, Serialize)]
pub struct Issued {
    pub tenant: String,
    pub number: String,
    /// issued, reissued, unchanged (already issued and nothing changed since), or no_data
    /// (not issued: `no_data` lists the meters that read nothing in the period).
    pub outcome: &'static str,
    pub total: Decimal,
    pub difference: Option<Decimal>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub no_data: Vec<String>,
    /// needs_review: what holds it (accept it with a reason, or correct the data).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub holds: Vec<Hold>,
}

impl Issued {
    fn held(draft: &Statement, outcome: &'static str) -> Issued {
        Issued {
            tenant: draft.tenant.clone(),
            number: draft.number.clone(),
            outcome,
            total: draft.total,
            difference: None,
            no_data: Vec::new(),
            holds: Vec::new(),
        }
    }
}

/// Issues the month's statements (one tenant or all): new periods are issued, flagged ones
/// re-issued, the rest left as they are. A statement without data, or held for review and
/// not accepted, is not issued: its outcome says why.
#[allow(clippy::too_many_arguments)]
pub fn issue(
    ledger: &Ledger,
    reader: &StoreReader,
    site: &Site,
    writer: &mut StoreWriter,
    month: Month,
    tenant: Option<&str>,
    who: &str,
    today: NaiveDate,
) -> Result<Vec<Issued>, BillingError> {
    let tz = ledger.timezone();
    let context = DraftContext::load(reader)?;
    let mut out = Vec::new();
    for t in site
        .tenants
        .iter()
        .filter(|t| tenant.is_none_or(|id| t.id == id))
    {
        let Some(period) = BillingPeriod::ending_with(month.first_day(), t.cycle) else {
            continue;
        };
        let draft = context.draft(ledger, site, t, &period, today)?;
        let (Some(a), Some(b)) = (
            local_midnight(draft.start, tz),
            draft.end.succ_opt().and_then(|d| local_midnight(d, tz)),
        ) else {
            continue;
        };
        let no_data = draft.meters_without_data();
        if !no_data.is_empty() {
            // Nothing read is not nothing used: no 0.00 statement, settled as paid.
            out.push(Issued {
                no_data,
                ..Issued::held(&draft, "no_data")
            });
            continue;
        }
        if draft.status == Status::NeedsReview {
            out.push(Issued {
                holds: draft.holds.clone(),
                ..Issued::held(&draft, "needs_review")
            });
            continue;
        }
        let billed: Vec<_> = draft
            .meters
            .iter()
            .map(|m| (m.meter.clone(), a, b, m.metered))
            .collect();
        match writer.issue_statement(&draft, &billed, who) {
            Ok(s) => out.push(Issued {
                tenant: s.tenant.clone(),
                outcome: if s.replaces.is_some() {
                    "reissued"
                } else {
                    "issued"
                },
                number: s.number,
                total: s.total,
                difference: s.difference,
                no_data: Vec::new(),
                holds: Vec::new(),
            }),
            Err(BillingRefusal::AlreadyIssued(number)) => out.push(Issued {
                number,
                ..Issued::held(&draft, "unchanged")
            }),
            Err(BillingRefusal::Store(e)) => return Err(e.into()),
            Err(other) => return Err(BillingError::Config(other.to_string())),
        }
    }
    Ok(out)
}

/// A statement accepted for issue.
#[derive(Debug, Clone, Serialize)]
pub struct Accepted {
    pub tenant: String,
    pub number: String,
    pub total: Decimal,
    pub holds: Vec<Hold>,
    pub acceptance: Acceptance,
}

/// Why an acceptance was refused.
#[derive(Debug, thiserror::Error)]
pub enum AcceptRefusal {
    #[error(
        "a reason is needed to accept a held statement (what was checked, and why the figure stands)"
    )]
    NoReason,
    #[error("reason: at most 500 characters (got {0})")]
    TooLong(usize),
    #[error("statement {0} is not held for review: nothing to accept")]
    NotHeld(String),
    #[error(
        "statement {0}: no readings in the period from {1}; it cannot be accepted without data"
    )]
    NoData(String, String),
    #[error(transparent)]
    Billing(#[from] BillingError),
}

/// Accepts the month's held drafts (one tenant's, or every held one) as they stand, with
/// `reason`, under `who`: each can then be issued. A tenant's statement that is not held, or
/// has no data at all, is refused.
#[allow(clippy::too_many_arguments)]
pub fn accept(
    ledger: &Ledger,
    reader: &StoreReader,
    site: &Site,
    writer: &mut StoreWriter,
    month: Month,
    tenant: Option<&str>,
    reason: &str,
    who: &str,
    today: NaiveDate,
) -> Result<Vec<Accepted>, AcceptRefusal> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AcceptRefusal::NoReason);
    }
    if reason.chars().count() > 500 {
        return Err(AcceptRefusal::TooLong(reason.chars().count()));
    }
    let mut out = Vec::new();
    for s in month_statements(ledger, reader, site, month, tenant, today)? {
        let no_data = s.meters_without_data();
        if s.status != Status::NeedsReview || !no_data.is_empty() {
            if tenant.is_some() {
                return Err(if no_data.is_empty() {
                    AcceptRefusal::NotHeld(s.number)
                } else {
                    AcceptRefusal::NoData(s.number, no_data.join(", "))
                });
            }
            continue;
        }
        let acceptance = writer
            .accept_statement(&s, &holds_key(&s.holds), reason, who)
            .map_err(BillingError::from)?;
        out.push(Accepted {
            tenant: s.tenant.clone(),
            number: s.number.clone(),
            total: s.total,
            holds: s.holds.clone(),
            acceptance,
        });
    }
    Ok(out)
}

/// What a tenant owes over all its current issued statements.
#[derive(Debug, Clone, Serialize)]
pub struct Balance {
    pub tenant: String,
    pub tenant_name: String,
    /// Statements not fully paid.
    pub open_statements: Vec<String>,
    pub billed: Decimal,
    pub paid: Decimal,
    pub late_fee: Decimal,
    pub outstanding: Decimal,
}

pub fn balances(
    reader: &StoreReader,
    site: &Site,
    today: NaiveDate,
) -> Result<Vec<Balance>, BillingError> {
    let issued = reader.issued_statements(None, None)?;
    let paid = paid_by_period(&issued, &reader.payments(None)?);
    let mut out = Vec::new();
    for t in &site.tenants {
        let mut b = Balance {
            tenant: t.id.clone(),
            tenant_name: t.name.clone(),
            open_statements: vec![],
            billed: Decimal::ZERO,
            paid: Decimal::ZERO,
            late_fee: Decimal::ZERO,
            outstanding: Decimal::ZERO,
        };
        for i in issued
            .iter()
            .filter(|i| i.superseded_by.is_none() && i.statement.tenant == t.id)
        {
            let mut s = i.statement.clone();
            let p = paid
                .get(&(t.id.clone(), s.period.clone()))
                .copied()
                .unwrap_or_default();
            settle(&mut s, p, false, late_rate(site, &t.id), today);
            b.billed += s.total;
            b.paid += s.paid;
            b.late_fee += s.late_fee;
            b.outstanding += s.outstanding;
            if s.status != Status::Paid {
                b.open_statements.push(s.number);
            }
        }
        out.push(b);
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct MonthRecovery {
    pub month: String,
    /// Totals of the current statements whose period ends this month.
    pub billed: Decimal,
    /// Payments received this month (by payment date).
    pub recovered: Decimal,
}

/// One tenant's year: billed for periods ending in it, recovered in it, still owed.
#[derive(Debug, Clone, Serialize)]
pub struct TenantRecovery {
    pub tenant: String,
    pub tenant_name: String,
    pub billed: Decimal,
    pub recovered: Decimal,
    /// What the year's statements still lack (before late fees).
    pub outstanding: Decimal,
}

#[derive(Debug, Clone, Serialize)]
pub struct Recovery {
    pub year: i32,
    pub months: Vec<MonthRecovery>,
    pub tenants: Vec<TenantRecovery>,
    pub billed: Decimal,
    pub recovered: Decimal,
    pub outstanding: Decimal,
}

/// Billed and recovered per month and per tenant of `year` (水电费回收): the figure a campus
/// reports as "recovered N yuan this year".
pub fn recovery(reader: &StoreReader, site: &Site, year: i32) -> Result<Recovery, BillingError> {
    let issued = reader.issued_statements(None, None)?;
    let payments = reader.payments(None)?;
    let paid = paid_by_period(&issued, &payments);
    let mut months: Vec<MonthRecovery> = (1..=12)
        .map(|m| MonthRecovery {
            month: format!("{year}-{m:02}"),
            billed: Decimal::ZERO,
            recovered: Decimal::ZERO,
        })
        .collect();
    let mut tenants: Vec<TenantRecovery> = site
        .tenants
        .iter()
        .map(|t| TenantRecovery {
            tenant: t.id.clone(),
            tenant_name: t.name.clone(),
            billed: Decimal::ZERO,
            recovered: Decimal::ZERO,
            outstanding: Decimal::ZERO,
        })
        .collect();
    let tenant_of: HashMap<&str, &str> = issued
        .iter()
        .map(|i| (i.statement.number.as_str(), i.statement.tenant.as_str()))
        .collect();
    for i in issued.iter().filter(|i| i.superseded_by.is_none()) {
        let s = &i.statement;
        if s.end.year() != year {
            continue;
        }
        months[s.end.month0() as usize].billed += s.total;
        if let Some(t) = tenants.iter_mut().find(|t| t.tenant == s.tenant) {
            let p = paid
                .get(&(s.tenant.clone(), s.period.clone()))
                .copied()
                .unwrap_or_default();
            t.billed += s.total;
            t.outstanding += (s.total - p).max(Decimal::ZERO);
        }
    }
    for p in payments.iter().filter(|p| p.paid_on.year() == year) {
        months[p.paid_on.month0() as usize].recovered += p.amount;
        let tenant = tenant_of
            .get(p.statement.as_str())
            .copied()
            .unwrap_or_default();
        if let Some(t) = tenants.iter_mut().find(|t| t.tenant == tenant) {
            t.recovered += p.amount;
        }
    }
    Ok(Recovery {
        year,
        billed: months.iter().map(|m| m.billed).sum(),
        recovered: months.iter().map(|m| m.recovered).sum(),
        outstanding: tenants.iter().map(|t| t.outstanding).sum(),
        months,
        tenants,
    })
}
