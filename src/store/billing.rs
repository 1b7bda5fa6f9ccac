//! Issued statements and payments. A statement is kept as issued (JSON) and never changed: a
//! re-issue adds a new statement that names the one it replaces. Payments belong to a
//! statement; what a tenant owes for a period is the latest statement's total less every
//! payment made against any statement of that period.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{OptionalExtension, params};
use rust_decimal::Decimal;
use serde::Serialize;

use super::StoreError;
use super::sqlite::{StoreReader, StoreWriter, from_millis, millis};
use crate::billing::Statement;

pub(super) const MIGRATION: &str = "
    CREATE TABLE statements (
        number TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        period TEXT NOT NULL,         -- 2026-10 or 2026-Q4
        issued_at INTEGER NOT NULL,
        issued_by TEXT NOT NULL,
        total TEXT NOT NULL,          -- decimal yuan
        replaces TEXT,                -- the statement this one re-issues
        superseded_by TEXT,           -- set when re-issued
        body TEXT NOT NULL            -- the statement as issued, JSON
    );
    CREATE INDEX statements_by_period ON statements (period, tenant);
    CREATE TABLE payments (
        id INTEGER PRIMARY KEY,
        statement TEXT NOT NULL REFERENCES statements(number),
        amount TEXT NOT NULL,         -- decimal yuan
        paid_on TEXT NOT NULL,        -- local date
        method TEXT NOT NULL,
        reference TEXT NOT NULL,
        recorded_by TEXT NOT NULL,
        recorded_at INTEGER NOT NULL
    );
    CREATE INDEX payments_by_statement ON payments (statement);";

/// An issued statement as stored, with what happened to it since.
#[derive(Debug, Clone)]
pub struct IssuedStatement {
    pub statement: Statement,
    pub issued_at: DateTime<Utc>,
    pub superseded_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Payment {
    pub id: i64,
    pub statement: String,
    pub amount: Decimal,
    pub paid_on: NaiveDate,
    pub method: String,
    pub reference: String,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// A payment to record.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub statement: String,
    pub amount: Decimal,
    pub paid_on: NaiveDate,
    pub method: String,
    pub reference: String,
}

/// Why a billing write was refused.
#[derive(Debug, thiserror::Error)]
pub enum BillingRefusal {
    #[error("statement {0} is already issued and nothing in its period changed since")]
    AlreadyIssued(String),
    #[error("no issued statement numbered `{0}`")]
    UnknownStatement(String),
    #[error("statement {0} was re-issued as {1}: record payments against {1}")]
    Superseded(String, String),
    #[error("amount must be greater than 0 (got {0})")]
    NotPositive(Decimal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn to_json<T: serde::Serialize>(v: &T) -> rusqlite::Result<String> {
    serde_json::to_string(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

pub(super) fn audit(
    tx: &rusqlite::Transaction<'_>,
    who: &str,
    action: &str,
    target: &str,
    after: &serde_json::Value,
    note: &str,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO audit_log (at, who, action, meter, quantity, target, before, after, note)
         VALUES (?1, ?2, ?3, NULL, NULL, ?4, 'null', ?5, ?6)",
        params![
            millis(Utc::now()),
            who,
            action,
            target,
            after.to_string(),
            note
        ],
    )?;
    Ok(())
}

/// The current (not superseded) statement of a tenant's period: (number, total).
fn current(
    conn: &rusqlite::Connection,
    tenant: &str,
    period: &str,
) -> rusqlite::Result<Option<(String, String)>> {
    conn.query_row(
        "SELECT number, total FROM statements WHERE tenant = ?1 AND period = ?2 AND superseded_by IS NULL",
        params![tenant, period],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

impl StoreWriter {
    /// Issues a draft: stores it, records the billed periods of its meters (later changes
    /// there flag it for re-issue) and audits it. When the period already has a statement,
    /// issuing again is allowed only if it was flagged; the new one (`-R1`, `-R2` ...)
    /// replaces it and shows the difference.
    pub fn issue_statement(
        &mut self,
        draft: &Statement,
        billed: &[(String, DateTime<Utc>, DateTime<Utc>, Decimal)],
        who: &str,
    ) -> Result<Statement, BillingRefusal> {
        self.in_transaction(|tx| {
            let mut s = draft.clone();
            if let Some((old, old_total)) = current(tx, &draft.tenant, &draft.period)? {
                let flagged: i64 = tx.query_row(
                    "SELECT count(*) FROM reissue_flags WHERE statement = ?1",
                    params![old],
                    |r| r.get(0),
                )?;
                if flagged == 0 {
                    return Ok(Err(BillingRefusal::AlreadyIssued(old)));
                }
                let n: i64 = tx.query_row(
                    "SELECT count(*) FROM statements WHERE tenant = ?1 AND period = ?2",
                    params![draft.tenant, draft.period],
                    |r| r.get(0),
                )?;
                let old_total: Decimal = old_total.parse().unwrap_or_default();
                s.number = format!("{}-R{n}", draft.number);
                s.replaces = Some(old.clone());
                s.previous_total = Some(old_total);
                s.difference = Some(s.total - old_total);
                tx.execute(
                    "UPDATE statements SET superseded_by = ?2 WHERE number = ?1",
                    params![old, s.number],
                )?;
                tx.execute("DELETE FROM reissue_flags WHERE statement = ?1", params![old])?;
            }
            s.status = crate::billing::statement::Status::Issued;
            s.reissue_needed = false;
            tx.execute(
                "INSERT INTO statements (number, tenant, period, issued_at, issued_by, total, replaces, superseded_by, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8)",
                params![s.number, s.tenant, s.period, millis(Utc::now()), who, s.total.to_string(), s.replaces, to_json(&s)?],
            )?;
            for (meter, start, end, consumption) in billed {
                tx.execute(
                    "INSERT OR REPLACE INTO billed_periods (statement, meter, start, end, consumption, issued_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![s.number, meter, millis(*start), millis(*end), consumption.to_string(), millis(Utc::now())],
                )?;
            }
            let after = serde_json::json!({ "total": s.total.to_string(), "replaces": s.replaces });
            audit(tx, who, "billing.issue", &s.number, &after, "")?;
            Ok(Ok(s))
        })?
    }

    /// Records payments, all or none (a CSV import is one call): every payment is checked
    /// before any is written. Audited.
    pub fn record_payments(
        &mut self,
        payments: &[NewPayment],
        who: &str,
    ) -> Result<Vec<i64>, BillingRefusal> {
        self.in_transaction(|tx| {
            for p in payments {
                if p.amount <= Decimal::ZERO {
                    return Ok(Err(BillingRefusal::NotPositive(p.amount)));
                }
                let found: Option<Option<String>> = tx
                    .query_row(
                        "SELECT superseded_by FROM statements WHERE number = ?1",
                        params![p.statement],
                        |r| r.get(0),
                    )
                    .optional()?;
                match found {
                    None => return Ok(Err(BillingRefusal::UnknownStatement(p.statement.clone()))),
                    Some(Some(newer)) => {
                        return Ok(Err(BillingRefusal::Superseded(p.statement.clone(), newer)));
                    }
                    Some(None) => {}
                }
            }
            let mut ids = Vec::new();
            for p in payments {
                tx.execute(
                    "INSERT INTO payments (statement, amount, paid_on, method, reference, recorded_by, recorded_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![p.statement, p.amount.to_string(), p.paid_on.to_string(), p.method, p.reference, who, millis(Utc::now())],
                )?;
                let id = tx.last_insert_rowid();
                ids.push(id);
                let after = serde_json::json!({
                    "payment": id, "amount": p.amount.to_string(), "paid_on": p.paid_on.to_string(),
                    "method": p.method, "reference": p.reference,
                });
                audit(tx, who, "billing.payment", &p.statement, &after, "")?;
            }
            Ok(Ok(ids))
        })?
    }
}

impl StoreReader {
    /// Issued statements (superseded ones too), for a period or all, oldest first.
    pub fn issued_statements(
        &self,
        period: Option<&str>,
        tenant: Option<&str>,
    ) -> Result<Vec<IssuedStatement>, StoreError> {
        let run = || -> rusqlite::Result<Vec<IssuedStatement>> {
            let mut stmt = self.conn().prepare_cached(
                "SELECT body, issued_at, superseded_by FROM statements
                 WHERE (?1 IS NULL OR period = ?1) AND (?2 IS NULL OR tenant = ?2) ORDER BY issued_at, number",
            )?;
            let rows = stmt.query_map(params![period, tenant], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (body, at, superseded_by) = row?;
                let statement: Statement = serde_json::from_str(&body).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        0,
                        rusqlite::types::Type::Text,
                        Box::new(e),
                    )
                })?;
                out.push(IssuedStatement {
                    statement,
                    issued_at: from_millis(at),
                    superseded_by,
                });
            }
            Ok(out)
        };
        run().map_err(|e| self.fail(e))
    }

    /// Payments against the given statements (all when None), oldest first.
    pub fn payments(&self, statement: Option<&str>) -> Result<Vec<Payment>, StoreError> {
        let run = || -> rusqlite::Result<Vec<Payment>> {
            let mut stmt = self.conn().prepare_cached(
                "SELECT id, statement, amount, paid_on, method, reference, recorded_by, recorded_at FROM payments
                 WHERE ?1 IS NULL OR statement = ?1 ORDER BY paid_on, id",
            )?;
            stmt.query_map(params![statement], |r| {
                Ok(Payment {
                    id: r.get(0)?,
                    statement: r.get(1)?,
                    amount: r.get::<_, String>(2)?.parse().unwrap_or_default(),
                    paid_on: r.get::<_, String>(3)?.parse().unwrap_or_default(),
                    method: r.get(4)?,
                    reference: r.get(5)?,
                    recorded_by: r.get(6)?,
                    recorded_at: from_millis(r.get(7)?),
                })
            })?
            .collect()
        };
        run().map_err(|e| self.fail(e))
    }

    /// Statement numbers flagged for re-issue.
    pub fn flagged_statements(&self) -> Result<Vec<String>, StoreError> {
        let mut out: Vec<String> = self
            .reissue_flags()?
            .into_iter()
            .map(|(s, _, _)| s)
            .collect();
        out.dedup();
        Ok(out)
    }
}
