//! The recovery ledger finance works from (水电费回收): statements for a month (issued ones as
//! issued, the rest as drafts), issuing and re-issuing, what each tenant still owes, and what
//! was billed and recovered per month.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;

use super::compute::{BillingError, BillingPeriod, draft_statement, draft_statements};
use super::statement::{Statement, Status, late_fee};
use crate::energy::ledger::Ledger;
use crate::site::Site;
use crate::store::billing::{BillingRefusal, Payment};
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
        match current {
            Some(i) => {
                let mut s = i.statement.clone();
                let p = paid
                    .get(&(t.id.clone(), period.label.clone()))
                    .copied()
                    .unwrap_or_default();
                settle(&mut s, p, false, late_rate(site, &t.id), today);
                s.reissue_needed = flagged.contains(&s.number);
                out.push(s);
            }
            None => out.push(draft_statement(ledger, site, t, &period, today)?),
        }
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
}

/// Issues the month's statements (one tenant or all): new periods are issued, flagged ones
/// re-issued, the rest left as they are.
pub fn issue(
    ledger: &Ledger,
    site: &Site,
    writer: &mut StoreWriter,
    month: Month,
    tenant: Option<&str>,
    who: &str,
    today: NaiveDate,
) -> Result<Vec<Issued>, BillingError> {
    let tz = ledger.timezone();
    let mut out = Vec::new();
    for draft in draft_statements(ledger, site, month, tenant, today)? {
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
                tenant: draft.tenant.clone(),
                number: draft.number.clone(),
                outcome: "no_data",
                total: draft.total,
                difference: None,
                no_data,
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
            }),
            Err(BillingRefusal::AlreadyIssued(number)) => out.push(Issued {
                tenant: draft.tenant.clone(),
                number,
                outcome: "unchanged",
                total: draft.total,
                difference: None,
                no_data: Vec::new(),
            }),
            Err(BillingRefusal::Store(e)) => return Err(e.into()),
            Err(other) => return Err(BillingError::Config(other.to_string())),
        }
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

#[derive(Debug, Clone, Serialize)]
pub struct Recovery {
    pub year: i32,
    pub months: Vec<MonthRecovery>,
    pub billed: Decimal,
    pub recovered: Decimal,
}

/// Billed and recovered per month of `year` (水电费回收).
pub fn recovery(reader: &StoreReader, year: i32) -> Result<Recovery, BillingError> {
    let issued = reader.issued_statements(None, None)?;
    let payments = reader.payments(None)?;
    let mut months: Vec<MonthRecovery> = (1..=12)
        .map(|m| MonthRecovery {
            month: format!("{year}-{m:02}"),
            billed: Decimal::ZERO,
            recovered: Decimal::ZERO,
        })
        .collect();
    for i in issued.iter().filter(|i| i.superseded_by.is_none()) {
        let end = i.statement.end;
        if end.year() == year {
            months[end.month0() as usize].billed += i.statement.total;
        }
    }
    for p in payments.iter().filter(|p| p.paid_on.year() == year) {
        months[p.paid_on.month0() as usize].recovered += p.amount;
    }
    Ok(Recovery {
        year,
        billed: months.iter().map(|m| m.billed).sum(),
        recovered: months.iter().map(|m| m.recovered).sum(),
        months,
    })
}
