//! What finance decides about statements beyond issuing and payments:
//! - `statement_acceptances`: a held statement accepted as it stands, with the reason, tied to
//!   the total and the holds it was accepted with (a later change of either needs a new one);
//! - `opening_balances`: a room's free quota carried in from the system used before, from a
//!   month on (the latest entry for a tenant counts; earlier ones stay for the record).
//!
//! Both are audited under the account that made them; an opening balance that changes an
//! issued statement's period flags that statement for re-issue.

use chrono::{DateTime, Utc};
use rusqlite::params;
use rust_decimal::Decimal;
use serde::Serialize;

use super::StoreError;
use super::billing::audit;
use super::sqlite::{StoreReader, StoreWriter, from_millis, millis};
use crate::billing::review::Acceptance;
use crate::time::Month;

pub(super) const MIGRATION: &str = "
    CREATE TABLE statement_acceptances (
        id INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        period TEXT NOT NULL,         -- 2026-10 or 2026-Q4
        total TEXT NOT NULL,          -- the draft's total when accepted, decimal yuan
        holds TEXT NOT NULL,          -- what held it (billing::review::holds_key)
        reason TEXT NOT NULL,
        accepted_by TEXT NOT NULL,
        accepted_at INTEGER NOT NULL
    );
    CREATE INDEX statement_acceptances_by_period ON statement_acceptances (period, tenant);
    CREATE TABLE opening_balances (
        id INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        month TEXT NOT NULL,          -- YYYY-MM: the first month carried from
        carried_in TEXT NOT NULL,     -- free quota carried into that month, decimal units
        note TEXT NOT NULL,
        entered_by TEXT NOT NULL,
        entered_at INTEGER NOT NULL
    );
    CREATE INDEX opening_balances_by_tenant ON opening_balances (tenant, id);";

/// An acceptance as stored, with what it was given for.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAcceptance {
    pub tenant: String,
    pub period: String,
    pub total: Decimal,
    pub holds: String,
    pub acceptance: Acceptance,
}

/// A room's free quota carried in from before jieneng.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpeningBalance {
    pub tenant: String,
    /// The first month the carry applies to.
    pub month: String,
    pub carried_in: Decimal,
    pub note: String,
    pub entered_by: String,
    pub entered_at: DateTime<Utc>,
}

/// An opening balance to record.
#[derive(Debug, Clone)]
pub struct NewOpening {
    pub tenant: String,
    pub month: Month,
    pub carried_in: Decimal,
    pub note: String,
}

/// The last month of a period label (`2026-10`, `2026-Q4` → `2026-12`).
fn last_month(period: &str) -> String {
    match period.split_once("-Q") {
        Some((year, q)) => format!("{year}-{:02}", q.parse::<u32>().unwrap_or(4) * 3),
        None => period.to_string(),
    }
}

impl StoreWriter {
    /// Records a finance user's acceptance of a held statement, audited.
    pub fn accept_statement(
        &mut self,
        statement: &crate::billing::Statement,
        holds: &str,
        reason: &str,
        who: &str,
    ) -> Result<Acceptance, StoreError> {
        let acceptance = Acceptance {
            by: who.to_string(),
            at: Utc::now(),
            reason: reason.to_string(),
        };
        self.in_transaction(|tx| {
            tx.execute(
                "INSERT INTO statement_acceptances (tenant, period, total, holds, reason, accepted_by, accepted_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    statement.tenant,
                    statement.period,
                    statement.total.to_string(),
                    holds,
                    reason,
                    who,
                    millis(acceptance.at)
                ],
            )?;
            let after = serde_json::json!({
                "tenant": statement.tenant, "period": statement.period,
                "total": statement.total.to_string(), "holds": holds,
            });
            audit(tx, who, "billing.accept", &statement.number, &after, reason)
        })?;
        Ok(acceptance)
    }

    /// Records opening balances, all or none, audited; flags for re-issue the issued
    /// statements of those tenants whose period ends in or after the opening month.
    pub fn record_openings(
        &mut self,
        openings: &[NewOpening],
        meters: &dyn Fn(&str) -> Vec<String>,
        who: &str,
    ) -> Result<Vec<String>, StoreError> {
        self.in_transaction(|tx| {
            let mut flagged = Vec::new();
            for o in openings {
                tx.execute(
                    "INSERT INTO opening_balances (tenant, month, carried_in, note, entered_by, entered_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![o.tenant, o.month.to_string(), o.carried_in.to_string(), o.note, who, millis(Utc::now())],
                )?;
                let after = serde_json::json!({
                    "month": o.month.to_string(), "carried_in": o.carried_in.to_string(),
                });
                audit(tx, who, "billing.opening_balance", &o.tenant, &after, &o.note)?;
                let audit_id = tx.last_insert_rowid();
                let mut stmt = tx.prepare_cached(
                    "SELECT number, period FROM statements WHERE tenant = ?1 AND superseded_by IS NULL",
                )?;
                let issued: Vec<(String, String)> = stmt
                    .query_map(params![o.tenant], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                for (number, period) in issued {
                    if last_month(&period) < o.month.to_string() {
                        continue;
                    }
                    for meter in meters(&o.tenant) {
                        tx.execute(
                            "INSERT OR IGNORE INTO reissue_flags (statement, meter, audit, flagged_at) VALUES (?1, ?2, ?3, ?4)",
                            params![number, meter, audit_id, millis(Utc::now())],
                        )?;
                    }
                    flagged.push(number);
                }
            }
            Ok(flagged)
        })
    }
}

impl StoreReader {
    /// The latest acceptance of each (tenant, period) of `period` (all periods when None).
    pub fn acceptances(&self, period: Option<&str>) -> Result<Vec<StoredAcceptance>, StoreError> {
        let run = || -> rusqlite::Result<Vec<StoredAcceptance>> {
            let mut stmt = self.conn().prepare_cached(
                "SELECT tenant, period, total, holds, reason, accepted_by, accepted_at
                 FROM statement_acceptances a
                 WHERE (?1 IS NULL OR period = ?1)
                   AND id = (SELECT max(id) FROM statement_acceptances b
                             WHERE b.tenant = a.tenant AND b.period = a.period)
                 ORDER BY period, tenant",
            )?;
            stmt.query_map(params![period], |r| {
                Ok(StoredAcceptance {
                    tenant: r.get(0)?,
                    period: r.get(1)?,
                    total: r.get::<_, String>(2)?.parse().unwrap_or_default(),
                    holds: r.get(3)?,
                    acceptance: Acceptance {
                        reason: r.get(4)?,
                        by: r.get(5)?,
                        at: from_millis(r.get(6)?),
                    },
                })
            })?
            .collect()
        };
        run().map_err(|e| self.fail(e))
    }

    /// Each tenant's current opening balance (the latest entered).
    pub fn opening_balances(&self) -> Result<Vec<OpeningBalance>, StoreError> {
        let run = || -> rusqlite::Result<Vec<OpeningBalance>> {
            let mut stmt = self.conn().prepare_cached(
                "SELECT tenant, month, carried_in, note, entered_by, entered_at
                 FROM opening_balances a
                 WHERE id = (SELECT max(id) FROM opening_balances b WHERE b.tenant = a.tenant)
                 ORDER BY tenant",
            )?;
            stmt.query_map([], |r| {
                Ok(OpeningBalance {
                    tenant: r.get(0)?,
                    month: r.get(1)?,
                    carried_in: r.get::<_, String>(2)?.parse().unwrap_or_default(),
                    note: r.get(3)?,
                    entered_by: r.get(4)?,
                    entered_at: from_millis(r.get(5)?),
                })
            })?
            .collect()
        };
        run().map_err(|e| self.fail(e))
    }
}

#[cfg(test)]
mod tests {
    use super::last_month;

    #[test]
    fn a_quarter_ends_with_its_third_month() {
        assert_eq!(last_month("2026-Q4"), "2026-12");
        assert_eq!(last_month("2026-Q1"), "2026-03");
        assert_eq!(last_month("2026-10"), "2026-10");
    }
}
