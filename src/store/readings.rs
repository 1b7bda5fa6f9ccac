//! Register readings and telemetry:
//!
//! - `register_readings`: cumulative register values (kWh, m³ ...), kept for good: the ledger
//!   derives consumption from them;
//! - `telemetry`: instantaneous values (kW, V, A ...), kept for the retention window;
//! - `reading_notes`: notes on readings entered by hand.
//!
//! A reading older than what the daily ledger holds marks its days dirty in the same
//! transaction (see `ledger.rs`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::StoreError;
use super::ledger::mark_late_readings;
use super::sqlite::{StoreReader, StoreWriter, from_millis, millis};
use crate::quantity::Quantity;
use crate::reading::{Reading, ReadingQuality};

impl StoreWriter {
    /// Writes readings entered by hand, with their notes, in one transaction: all or nothing.
    pub fn write_manual(
        &mut self,
        readings: &[(Reading, Option<String>)],
        who: &str,
    ) -> Result<(), StoreError> {
        self.with_series(|tx, ids| {
            let mut earliest: HashMap<i64, DateTime<Utc>> = HashMap::new();
            for (r, note) in readings {
                let id = ids.id(tx, &r.meter, r.quantity)?;
                let sql = if r.quantity.is_cumulative() {
                    "INSERT OR REPLACE INTO register_readings (series, ts, value, quality) VALUES (?1, ?2, ?3, ?4)"
                } else {
                    "INSERT OR REPLACE INTO telemetry (series, ts, value) VALUES (?1, ?2, ?3)"
                };
                if r.quantity.is_cumulative() {
                    tx.execute(sql, params![id, millis(r.time), r.value, r.quality.code()])?;
                } else {
                    tx.execute(sql, params![id, millis(r.time), r.value])?;
                }
                if let Some(note) = note.as_ref().filter(|n| !n.is_empty()) {
                    tx.execute("INSERT OR REPLACE INTO reading_notes (series, ts, note) VALUES (?1, ?2, ?3)", params![id, millis(r.time), note])?;
                }
                if r.quantity.is_cumulative() {
                    let e = earliest.entry(id).or_insert(r.time);
                    *e = (*e).min(r.time);
                }
            }
            for (series, t) in earliest {
                mark_late_readings(tx, series, t)?;
            }
            let meters: std::collections::BTreeSet<&str> =
                readings.iter().map(|(r, _)| &*r.meter).collect();
            tx.execute(
                "INSERT INTO audit_log (at, who, action, meter, quantity, target, before, after, note)
                 VALUES (?1, ?2, 'readings.enter', ?3, NULL, ?4, 'null', ?5, '')",
                params![
                    millis(Utc::now()),
                    who,
                    (meters.len() == 1).then(|| meters.iter().next().map(|m| m.to_string())).flatten(),
                    meters.iter().copied().collect::<Vec<_>>().join(","),
                    serde_json::json!({ "readings": readings.len() }).to_string()
                ],
            )?;
            Ok(())
        })
    }

    pub fn write_batch(&mut self, readings: &[Reading]) -> Result<(), StoreError> {
        self.with_series(|tx, ids| {
            let mut registers: Vec<(i64, i64, f64, i64)> = Vec::new();
            let mut telemetry: Vec<(i64, i64, f64, i64)> = Vec::new();
            let mut earliest: HashMap<i64, i64> = HashMap::new();
            for r in readings {
                let id = ids.id(tx, &r.meter, r.quantity)?;
                let row = (id, millis(r.time), r.value, r.quality.code());
                if r.quantity.is_cumulative() {
                    let e = earliest.entry(id).or_insert(row.1);
                    *e = (*e).min(row.1);
                    registers.push(row);
                } else {
                    telemetry.push(row);
                }
            }
            insert_rows(
                tx,
                "INSERT OR IGNORE INTO register_readings (series, ts, value, quality) VALUES ",
                &registers,
                true,
            )?;
            insert_rows(
                tx,
                "INSERT OR REPLACE INTO telemetry (series, ts, value) VALUES ",
                &telemetry,
                false,
            )?;
            // A reading older than what the daily ledger holds makes it recompute from there.
            for (series, ts) in earliest {
                mark_late_readings(tx, series, from_millis(ts))?;
            }
            Ok(())
        })
    }

    /// Drops telemetry older than `before`; register readings are never dropped.
    pub fn prune_telemetry(&mut self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        self.conn()
            .execute(
                "DELETE FROM telemetry WHERE ts < ?1",
                params![millis(before)],
            )
            .map_err(|e| self.fail(e))
    }
}

/// Rows per multi-row INSERT: fewer statement executions, same transaction.
const ROWS_PER_INSERT: usize = 100;

fn insert_rows(
    tx: &rusqlite::Transaction<'_>,
    head: &str,
    rows: &[(i64, i64, f64, i64)],
    with_quality: bool,
) -> rusqlite::Result<()> {
    let one = if with_quality { "(?,?,?,?)" } else { "(?,?,?)" };
    let sql = |n: usize| format!("{head}{}", vec![one; n].join(","));
    let full = sql(ROWS_PER_INSERT);
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let statement = if chunk.len() == ROWS_PER_INSERT {
            full.clone()
        } else {
            sql(chunk.len())
        };
        let mut stmt = tx.prepare_cached(&statement)?;
        let mut values: Vec<rusqlite::types::Value> = Vec::with_capacity(chunk.len() * 4);
        for (series, ts, value, quality) in chunk {
            values.push((*series).into());
            values.push((*ts).into());
            values.push((*value).into());
            if with_quality {
                values.push((*quality).into());
            }
        }
        stmt.execute(rusqlite::params_from_iter(values))?;
    }
    Ok(())
}

/// A stored reading, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReading {
    pub time: DateTime<Utc>,
    pub value: f64,
    pub quality: ReadingQuality,
}

impl StoreReader {
    fn series(&self, meter: &str, quantity: Quantity) -> Result<Option<i64>, StoreError> {
        self.conn()
            .query_row(
                "SELECT id FROM series WHERE meter = ?1 AND quantity = ?2",
                params![meter, quantity.name()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.fail(e))
    }

    /// Readings of one series in [from, to), oldest first.
    pub fn readings(
        &self,
        meter: &str,
        quantity: Quantity,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StoredReading>, StoreError> {
        let Some(series) = self.series(meter, quantity)? else {
            return Ok(vec![]);
        };
        let sql = if quantity.is_cumulative() {
            "SELECT ts, value, quality FROM register_readings WHERE series = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts"
        } else {
            "SELECT ts, value, 0 FROM telemetry WHERE series = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts"
        };
        let mut stmt = self.conn().prepare_cached(sql).map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map(params![series, millis(from), millis(to)], |r| {
                Ok(StoredReading {
                    time: from_millis(r.get(0)?),
                    value: r.get(1)?,
                    quality: ReadingQuality::from_code(r.get(2)?),
                })
            })
            .map_err(|e| self.fail(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.fail(e))
    }

    /// The newest reading of one series.
    pub fn latest(
        &self,
        meter: &str,
        quantity: Quantity,
    ) -> Result<Option<StoredReading>, StoreError> {
        self.latest_before(meter, quantity, DateTime::<Utc>::MAX_UTC)
    }

    /// The newest reading of one series taken before `before`.
    pub fn latest_before(
        &self,
        meter: &str,
        quantity: Quantity,
        before: DateTime<Utc>,
    ) -> Result<Option<StoredReading>, StoreError> {
        let Some(series) = self.series(meter, quantity)? else {
            return Ok(None);
        };
        let sql = if quantity.is_cumulative() {
            "SELECT ts, value, quality FROM register_readings WHERE series = ?1 AND ts < ?2 ORDER BY ts DESC LIMIT 1"
        } else {
            "SELECT ts, value, 0 FROM telemetry WHERE series = ?1 AND ts < ?2 ORDER BY ts DESC LIMIT 1"
        };
        self.conn()
            .query_row(sql, params![series, millis(before)], |r| {
                Ok(StoredReading {
                    time: from_millis(r.get(0)?),
                    value: r.get(1)?,
                    quality: ReadingQuality::from_code(r.get(2)?),
                })
            })
            .optional()
            .map_err(|e| self.fail(e))
    }

    /// Number of stored register readings and telemetry rows.
    pub fn counts(&self) -> Result<(u64, u64), StoreError> {
        let count = |table: &str| -> Result<u64, StoreError> {
            self.conn()
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
                    r.get::<_, i64>(0)
                })
                .map(|n| n as u64)
                .map_err(|e| self.fail(e))
        };
        Ok((count("register_readings")?, count("telemetry")?))
    }
}
