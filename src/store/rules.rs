//! Records of the rules: alerts (kept as JSON with their key columns), committee points per
//! unit and month, and the history of monthly ratings.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use rust_decimal::Decimal;

use super::StoreError;
use super::sqlite::{StoreReader, StoreWriter, from_millis, millis};
use crate::rules::alert::{Alert, Status};
use crate::rules::rating::UnitRating;

pub(super) const MIGRATION: &str = "
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        status TEXT NOT NULL,         -- open | acknowledged | resolved
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        data TEXT NOT NULL            -- the alert as JSON
    );
    CREATE INDEX alerts_by_status ON alerts (status, kind, subject);
    CREATE INDEX alerts_by_time ON alerts (first_seen);
    CREATE TABLE committee_points (
        unit TEXT NOT NULL,
        month TEXT NOT NULL,          -- YYYY-MM
        points TEXT NOT NULL,         -- decimal, 0-100
        note TEXT NOT NULL,
        entered_by TEXT NOT NULL,
        entered_at INTEGER NOT NULL,
        PRIMARY KEY (unit, month)
    );
    CREATE TABLE ratings (
        month TEXT NOT NULL,
        unit TEXT NOT NULL,
        score TEXT NOT NULL,
        grade TEXT NOT NULL,
        rank INTEGER NOT NULL,
        rating TEXT NOT NULL,         -- the whole rating as JSON, items and all
        computed_at INTEGER NOT NULL,
        PRIMARY KEY (month, unit)
    );";

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Open => "open",
        Status::Acknowledged => "acknowledged",
        Status::Resolved => "resolved",
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> rusqlite::Result<String> {
    serde_json::to_string(v).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

impl StoreWriter {
    /// Stores alerts as they are now (new ones get their id from the store when `id` is 0).
    /// Returns the alerts with their ids.
    pub fn save_alerts(&mut self, alerts: &[Alert]) -> Result<Vec<Alert>, StoreError> {
        self.in_transaction(|tx| {
            let mut out = Vec::with_capacity(alerts.len());
            for a in alerts {
                let mut a = a.clone();
                if a.id == 0 {
                    tx.execute(
                        "INSERT INTO alerts (kind, subject, status, first_seen, last_seen, data) VALUES (?1, ?2, ?3, ?4, ?5, '{}')",
                        params![to_json(&a.kind)?.trim_matches('"'), a.subject, status_name(a.status), millis(a.first_seen), millis(a.last_seen)],
                    )?;
                    a.id = tx.last_insert_rowid();
                }
                tx.execute(
                    "UPDATE alerts SET status = ?2, last_seen = ?3, data = ?4 WHERE id = ?1",
                    params![a.id, status_name(a.status), millis(a.last_seen), to_json(&a)?],
                )?;
                out.push(a);
            }
            Ok(out)
        })
    }

    /// Records the committee's points for a unit's month (replacing earlier ones), audited.
    pub fn set_committee_points(
        &mut self,
        unit: &str,
        month: &str,
        points: Decimal,
        note: &str,
        who: &str,
    ) -> Result<(), StoreError> {
        self.in_transaction(|tx| {
            let before: Option<String> = tx
                .query_row(
                    "SELECT points FROM committee_points WHERE unit = ?1 AND month = ?2",
                    params![unit, month],
                    |r| r.get(0),
                )
                .optional()?;
            tx.execute(
                "INSERT OR REPLACE INTO committee_points (unit, month, points, note, entered_by, entered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![unit, month, points.to_string(), note, who, millis(Utc::now())],
            )?;
            tx.execute(
                "INSERT INTO audit_log (at, who, action, meter, quantity, target, before, after, note)
                 VALUES (?1, ?2, 'rating.committee_points', NULL, NULL, ?3, ?4, ?5, ?6)",
                params![
                    millis(Utc::now()),
                    who,
                    format!("{unit}/{month}"),
                    serde_json::json!({ "points": before }).to_string(),
                    serde_json::json!({ "points": points.to_string() }).to_string(),
                    note
                ],
            )?;
            Ok(())
        })
    }

    /// Audits a section of the site config (`quotas`, `tariffs`, `tenants`, `meters`) when it
    /// differs from the one last recorded: edits made in the file, while running or stopped,
    /// appear in the audit log with before and after. True when a change was recorded.
    pub fn record_config_section(
        &mut self,
        section: &str,
        value: &serde_json::Value,
        source: &str,
    ) -> Result<bool, StoreError> {
        let action = format!("config.{section}");
        self.in_transaction(|tx| {
            let last: Option<String> = tx
                .query_row(
                    "SELECT after FROM audit_log WHERE action = ?1 ORDER BY id DESC LIMIT 1",
                    params![action],
                    |r| r.get(0),
                )
                .optional()?;
            let before = last
                .as_deref()
                .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
                .unwrap_or(serde_json::Value::Null);
            if &before == value {
                return Ok(false);
            }
            let note = if before.is_null() {
                "first recorded"
            } else {
                "changed in the config file"
            };
            tx.execute(
                "INSERT INTO audit_log (at, who, action, meter, quantity, target, before, after, note)
                 VALUES (?1, 'config', ?2, NULL, NULL, ?3, ?4, ?5, ?6)",
                params![
                    millis(Utc::now()),
                    action,
                    source,
                    before.to_string(),
                    value.to_string(),
                    note
                ],
            )?;
            Ok(true)
        })
    }

    /// Keeps a month's ratings as computed (the latest computation replaces earlier ones).
    pub fn save_ratings(&mut self, ratings: &[UnitRating]) -> Result<(), StoreError> {
        self.in_transaction(|tx| {
            for r in ratings {
                tx.execute(
                    "INSERT OR REPLACE INTO ratings (month, unit, score, grade, rank, rating, computed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![r.month, r.unit, r.score.to_string(), r.grade, r.rank as i64, to_json(r)?, millis(Utc::now())],
                )?;
            }
            Ok(())
        })
    }
}

impl StoreReader {
    /// Alerts, newest first: those not resolved, or all seen since `since`.
    pub fn alerts(&self, since: Option<DateTime<Utc>>) -> Result<Vec<Alert>, StoreError> {
        let run = || -> rusqlite::Result<Vec<Alert>> {
            let mut stmt = self.conn().prepare_cached(
                "SELECT data FROM alerts WHERE (?1 IS NULL AND status != 'resolved') OR (?1 IS NOT NULL AND last_seen >= ?1) ORDER BY id DESC",
            )?;
            let rows = stmt.query_map(params![since.map(millis)], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for data in rows {
                if let Ok(a) = serde_json::from_str::<Alert>(&data?) {
                    out.push(a);
                }
            }
            Ok(out)
        };
        run().map_err(|e| self.fail(e))
    }

    pub fn alert(&self, id: i64) -> Result<Option<Alert>, StoreError> {
        let data: Option<String> = self
            .conn()
            .query_row("SELECT data FROM alerts WHERE id = ?1", params![id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.fail(e))?;
        Ok(data.and_then(|d| serde_json::from_str(&d).ok()))
    }

    /// Alerts first seen in [from, to): (subject, status).
    pub fn alerts_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(String, Status)>, StoreError> {
        let run = || -> rusqlite::Result<Vec<(String, Status)>> {
            let mut stmt = self.conn().prepare_cached(
                "SELECT subject, status FROM alerts WHERE first_seen >= ?1 AND first_seen < ?2",
            )?;
            stmt.query_map(params![millis(from), millis(to)], |r| {
                let status: String = r.get(1)?;
                Ok((
                    r.get(0)?,
                    match status.as_str() {
                        "acknowledged" => Status::Acknowledged,
                        "resolved" => Status::Resolved,
                        _ => Status::Open,
                    },
                ))
            })?
            .collect()
        };
        run().map_err(|e| self.fail(e))
    }

    /// The committee's points for a unit's month, with the note and who entered them.
    pub fn committee_points(
        &self,
        unit: &str,
        month: &str,
    ) -> Result<Option<(Decimal, String, String)>, StoreError> {
        self.conn()
            .query_row(
                "SELECT points, note, entered_by FROM committee_points WHERE unit = ?1 AND month = ?2",
                params![unit, month],
                |r| {
                    let points: String = r.get(0)?;
                    Ok((points.parse().unwrap_or_default(), r.get(1)?, r.get(2)?))
                },
            )
            .optional()
            .map_err(|e| self.fail(e))
    }

    /// Ratings kept for a month, by rank.
    pub fn saved_ratings(
        &self,
        month: &str,
    ) -> Result<Vec<(UnitRatingJson, DateTime<Utc>)>, StoreError> {
        let run = || -> rusqlite::Result<Vec<(UnitRatingJson, DateTime<Utc>)>> {
            let mut stmt = self.conn().prepare_cached(
                "SELECT rating, computed_at FROM ratings WHERE month = ?1 ORDER BY rank",
            )?;
            stmt.query_map(params![month], |r| {
                let text: String = r.get(0)?;
                Ok((
                    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
                    from_millis(r.get(1)?),
                ))
            })?
            .collect()
        };
        run().map_err(|e| self.fail(e))
    }
}

/// A kept rating, as it was serialized.
pub type UnitRatingJson = serde_json::Value;
