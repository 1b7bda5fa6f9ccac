//! The ledger's tables beside the raw readings:
//! - `reading_corrections`: an engineer's corrected value for a stored reading, or its strike-out;
//!   the raw reading stays as it was read;
//! - `interval_corrections`: consumption set or estimated by an engineer for a stretch of time;
//! - `audit_log`: every change, with who, why, before and after;
//! - `billed_periods` and `reissue_flags`: a change that touches a billed period flags the
//!   statement for re-issue instead of silently changing what was billed;
//! - `ledger_days` and `ledger_state`: consumption per local day, materialized so months and
//!   years read fast; a change marks the series dirty from where it takes effect.
//!
//! Every change runs in one transaction with its audit entry, dirty mark and re-issue flags.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Value, json};

use super::StoreError;
use super::sqlite::{StoreReader, StoreWriter, from_millis, millis};
use crate::energy::intervals::{Event, Quality, RegisterReading};
use crate::quantity::Quantity;
use crate::reading::ReadingQuality;

pub(super) const MIGRATION: &str = "
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        who TEXT NOT NULL,
        action TEXT NOT NULL,
        meter TEXT,
        quantity TEXT,
        target TEXT NOT NULL,
        before TEXT,                  -- JSON
        after TEXT,                   -- JSON
        note TEXT NOT NULL
    );
    CREATE INDEX audit_log_by_meter ON audit_log (meter, at);
    CREATE TABLE reading_corrections (
        series INTEGER NOT NULL REFERENCES series(id),
        ts INTEGER NOT NULL,
        value TEXT,                   -- decimal; NULL strikes the reading out
        audit INTEGER NOT NULL REFERENCES audit_log(id),
        PRIMARY KEY (series, ts)
    ) WITHOUT ROWID;
    CREATE TABLE interval_corrections (
        id INTEGER PRIMARY KEY,
        series INTEGER NOT NULL REFERENCES series(id),
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        consumption TEXT NOT NULL,    -- decimal, multiplier applied
        quality INTEGER NOT NULL,     -- corrected or estimated
        audit INTEGER NOT NULL REFERENCES audit_log(id)
    );
    CREATE INDEX interval_corrections_by_series ON interval_corrections (series, start);
    CREATE TABLE billed_periods (
        statement TEXT NOT NULL,
        meter TEXT NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        consumption TEXT NOT NULL,
        issued_at INTEGER NOT NULL,
        PRIMARY KEY (statement, meter)
    );
    CREATE TABLE reissue_flags (
        statement TEXT NOT NULL,
        meter TEXT NOT NULL,
        audit INTEGER NOT NULL REFERENCES audit_log(id),
        flagged_at INTEGER NOT NULL,
        PRIMARY KEY (statement, meter, audit)
    );
    CREATE TABLE ledger_days (
        series INTEGER NOT NULL REFERENCES series(id),
        day INTEGER NOT NULL,         -- local date, days since 1970-01-01
        consumption TEXT NOT NULL,    -- decimal, multiplier applied
        quality INTEGER NOT NULL,
        PRIMARY KEY (series, day)
    ) WITHOUT ROWID;
    CREATE TABLE ledger_state (
        series INTEGER PRIMARY KEY REFERENCES series(id),
        fingerprint TEXT NOT NULL,    -- the meter facts the days were computed with
        through INTEGER NOT NULL,     -- local days before this one are stored
        last_reading INTEGER NOT NULL,
        dirty_from INTEGER            -- a change at or after this instant is not in the days yet
    );";

/// Who changes what, and why.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub meter: &'a str,
    pub quantity: Quantity,
    pub who: &'a str,
    pub note: &'a str,
}

/// What a change did beside itself: its audit entry and the statements flagged for re-issue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeOutcome {
    pub audit_id: i64,
    pub reissue: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub who: String,
    pub action: String,
    pub meter: Option<String>,
    pub quantity: Option<String>,
    pub target: String,
    pub before: Value,
    pub after: Value,
    pub note: String,
}

/// Consumption an engineer set (corrected) or estimated for [start, end), multiplier applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalCorrection {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub consumption: Decimal,
    pub quality: Quality,
}

/// One stored local day.
#[derive(Debug, Clone, PartialEq)]
pub struct DayRow {
    pub day: NaiveDate,
    pub consumption: Decimal,
    pub quality: Quality,
}

/// How far a series' days are stored, and what they were computed with.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerState {
    pub fingerprint: String,
    /// Days before this local date are stored.
    pub through: NaiveDate,
    pub last_reading: DateTime<Utc>,
    pub dirty_from: Option<DateTime<Utc>>,
}

/// What the ledger computes a register's consumption from.
#[derive(Debug, Clone, Default)]
pub struct RegisterData {
    /// Readings with engineers' corrections applied (struck-out readings left out).
    pub readings: Vec<RegisterReading>,
    pub events: Vec<Event>,
    /// Oldest first; a later correction wins where two overlap.
    pub corrections: Vec<IntervalCorrection>,
}

pub(crate) fn quality_code(q: Quality) -> i64 {
    q as i64
}

pub(crate) fn quality_from_code(code: i64) -> Quality {
    usize::try_from(code)
        .ok()
        .and_then(|i| Quality::ALL.get(i).copied())
        .unwrap_or(Quality::Missing)
}

fn day_number(d: NaiveDate) -> i64 {
    (d - NaiveDate::default()).num_days()
}

fn from_day_number(n: i64) -> NaiveDate {
    NaiveDate::default() + chrono::Duration::days(n)
}

fn series_of(conn: &Connection, meter: &str, quantity: Quantity) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM series WHERE meter = ?1 AND quantity = ?2")?
        .query_row(params![meter, quantity.name()], |r| r.get(0))
        .optional()
}

fn dec(text: Option<String>) -> Option<Decimal> {
    text.and_then(|t| t.parse().ok())
}

/// A stored register value as a decimal, to 6 places (registers hold at most 3 or 4; the
/// stored f64 of 12345.67 is not exactly 12345.67, its 6-place rounding is).
fn register_decimal(v: f64) -> Option<Decimal> {
    if v.is_finite() && v.abs() < 9.0e12 {
        Some(Decimal::new((v * 1e6).round() as i64, 6))
    } else {
        Decimal::from_f64_retain(v).map(|d| d.round_dp(6))
    }
}

/// The window of readings to load so [a, b] can be computed as from all readings: back past
/// a few readings a day before `a` and on past a few a day after `b` (so a garbage value at an
/// edge is judged as it is with all readings), at most `margin` either side (gaps longer than
/// that are not bridged anyway).
fn window(
    conn: &Connection,
    series: i64,
    a: DateTime<Utc>,
    b: DateTime<Utc>,
    margin: chrono::Duration,
) -> rusqlite::Result<(DateTime<Utc>, DateTime<Utc>)> {
    let day = chrono::Duration::days(1);
    let from = reading_at_or_before(conn, series, a - day, SKIPPABLE)?
        .unwrap_or(a - day)
        .max(a - margin);
    if b >= DateTime::<Utc>::MAX_UTC - margin {
        return Ok((from, DateTime::<Utc>::MAX_UTC));
    }
    let to = reading_at_or_after(conn, series, b + day, SKIPPABLE)?
        .unwrap_or(b + day)
        .min(b + margin);
    Ok((from, to + chrono::Duration::milliseconds(1)))
}

/// Everything needed to compute [a, b] of one register, loaded through [`window`].
pub(super) fn load_around(
    conn: &Connection,
    meter: &str,
    quantity: Quantity,
    a: DateTime<Utc>,
    b: DateTime<Utc>,
    margin: chrono::Duration,
) -> rusqlite::Result<RegisterData> {
    let Some(series) = series_of(conn, meter, quantity)? else {
        return Ok(RegisterData::default());
    };
    let (from, to) = window(conn, series, a, b, margin)?;
    load_register(conn, meter, quantity, from, to)
}

/// Readings, events and corrections of one register with readings in [from, to).
pub(super) fn load_register(
    conn: &Connection,
    meter: &str,
    quantity: Quantity,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> rusqlite::Result<RegisterData> {
    let Some(series) = series_of(conn, meter, quantity)? else {
        return Ok(RegisterData::default());
    };
    // Engineers' corrections of readings in the range (rare: most series have none).
    let mut stmt = conn.prepare_cached(
        "SELECT ts, value FROM reading_corrections WHERE series = ?1 AND ts >= ?2 AND ts < ?3",
    )?;
    let corrected: std::collections::HashMap<i64, Option<String>> = stmt
        .query_map(params![series, millis(from), millis(to)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare_cached(
        "SELECT ts, value, quality FROM register_readings
         WHERE series = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts",
    )?;
    let mut rows = stmt.query(params![series, millis(from), millis(to)])?;
    let mut readings = Vec::new();
    while let Some(row) = rows.next()? {
        let ts: i64 = row.get(0)?;
        let time = from_millis(ts);
        if let Some(correction) = corrected.get(&ts) {
            // None: struck out by an engineer.
            if let Some(value) = dec(correction.clone()) {
                readings.push(RegisterReading {
                    time,
                    value,
                    quality: Quality::Corrected,
                });
            }
            continue;
        }
        let Some(value) = register_decimal(row.get(1)?) else {
            continue;
        };
        let quality = match ReadingQuality::from_code(row.get(2)?) {
            ReadingQuality::Manual => Quality::Manual,
            ReadingQuality::Estimated => Quality::Estimated,
            ReadingQuality::Measured => Quality::Measured,
        };
        readings.push(RegisterReading {
            time,
            value,
            quality,
        });
    }
    let mut stmt = conn.prepare_cached(
        "SELECT start, end, consumption, quality FROM interval_corrections
         WHERE series = ?1 AND end > ?2 AND start < ?3 ORDER BY id",
    )?;
    let corrections = stmt
        .query_map(params![series, millis(from), millis(to)], |r| {
            Ok(IntervalCorrection {
                start: from_millis(r.get(0)?),
                end: from_millis(r.get(1)?),
                consumption: dec(r.get(2)?).unwrap_or_default(),
                quality: quality_from_code(r.get(3)?),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(RegisterData {
        readings,
        events: load_events(conn, meter, quantity)?,
        corrections,
    })
}

fn load_events(conn: &Connection, meter: &str, quantity: Quantity) -> rusqlite::Result<Vec<Event>> {
    let mut stmt = conn.prepare_cached(
        "SELECT ts, kind, old_final, new_initial, new_value FROM meter_events
         WHERE meter = ?1 AND quantity = ?2 ORDER BY ts",
    )?;
    stmt.query_map(params![meter, quantity.name()], |r| {
        let time = from_millis(r.get(0)?);
        let kind: String = r.get(1)?;
        Ok(if kind == "replacement" {
            Event::Replacement {
                time,
                old_final: dec(r.get(2)?).unwrap_or_default(),
                new_initial: dec(r.get(3)?).unwrap_or_default(),
            }
        } else {
            Event::Reset {
                time,
                new_value: dec(r.get(4)?).unwrap_or_default(),
            }
        })
    })?
    .collect()
}

fn load_state(conn: &Connection, series: i64) -> rusqlite::Result<Option<LedgerState>> {
    conn.query_row(
        "SELECT fingerprint, through, last_reading, dirty_from FROM ledger_state WHERE series = ?1",
        params![series],
        |r| {
            Ok(LedgerState {
                fingerprint: r.get(0)?,
                through: from_day_number(r.get(1)?),
                last_reading: from_millis(r.get(2)?),
                dirty_from: r.get::<_, Option<i64>>(3)?.map(from_millis),
            })
        },
    )
    .optional()
}

/// The earliest of the `skip` + 1 stored readings nearest at or before `t` (fewer when there
/// are fewer; `skip` = 0: the nearest one).
fn reading_at_or_before(
    conn: &Connection,
    series: i64,
    t: DateTime<Utc>,
    skip: i64,
) -> rusqlite::Result<Option<DateTime<Utc>>> {
    nearest(
        conn,
        "SELECT min(ts) FROM (SELECT ts FROM register_readings WHERE series = ?1 AND ts <= ?2 ORDER BY ts DESC LIMIT ?3)",
        series,
        t,
        skip,
    )
}

/// The latest of the `skip` + 1 stored readings nearest at or after `t`.
fn reading_at_or_after(
    conn: &Connection,
    series: i64,
    t: DateTime<Utc>,
    skip: i64,
) -> rusqlite::Result<Option<DateTime<Utc>>> {
    nearest(
        conn,
        "SELECT max(ts) FROM (SELECT ts FROM register_readings WHERE series = ?1 AND ts >= ?2 ORDER BY ts LIMIT ?3)",
        series,
        t,
        skip,
    )
}

fn nearest(
    conn: &Connection,
    sql: &str,
    series: i64,
    t: DateTime<Utc>,
    skip: i64,
) -> rusqlite::Result<Option<DateTime<Utc>>> {
    conn.prepare_cached(sql)?
        .query_row(params![series, millis(t), skip + 1], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .map(|ts| ts.map(from_millis))
}

/// Readings the ledger may have skipped as garbage, looked past when finding where a change
/// takes effect and what to load around a range.
const SKIPPABLE: i64 = 2;

/// Where a change at `t` starts to affect stored days: from a few readings before it (the
/// ones just before may be garbage the computation skipped).
fn dirty_from(
    tx: &Transaction<'_>,
    series: i64,
    t: DateTime<Utc>,
) -> rusqlite::Result<DateTime<Utc>> {
    let ms = chrono::Duration::milliseconds(1);
    Ok(reading_at_or_before(tx, series, t - ms, SKIPPABLE)?.map_or(t, |b| b.min(t)))
}

/// The span a billed period must overlap to be touched by a change at [from, to]: from the
/// reading before to the reading after.
fn affected_span(
    tx: &Transaction<'_>,
    series: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> rusqlite::Result<(DateTime<Utc>, DateTime<Utc>)> {
    let ms = chrono::Duration::milliseconds(1);
    Ok((
        reading_at_or_before(tx, series, from - ms, 0)?.unwrap_or(from),
        reading_at_or_after(tx, series, to + ms, 0)?.unwrap_or(to),
    ))
}

/// Marks the series' stored days dirty from `from` on, when they reach that far.
pub(super) fn mark_dirty(
    tx: &Transaction<'_>,
    series: i64,
    from: DateTime<Utc>,
) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE ledger_state SET dirty_from = min(coalesce(dirty_from, ?2), ?2) WHERE series = ?1",
        params![series, millis(from)],
    )?;
    Ok(())
}

/// Marks dirty a series that received readings no later than its last materialized one.
pub(super) fn mark_late_readings(
    tx: &Transaction<'_>,
    series: i64,
    earliest: DateTime<Utc>,
) -> rusqlite::Result<()> {
    let last: Option<i64> = tx
        .query_row(
            "SELECT last_reading FROM ledger_state WHERE series = ?1",
            params![series],
            |r| r.get(0),
        )
        .optional()?;
    if last.is_some_and(|l| millis(earliest) <= l) {
        let from = dirty_from(tx, series, earliest)?;
        mark_dirty(tx, series, from)?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn record_change(
    tx: &Transaction<'_>,
    series: i64,
    change: &Change<'_>,
    action: &str,
    target: &str,
    before: &Value,
    after: &Value,
    span: (DateTime<Utc>, DateTime<Utc>),
    dirty: DateTime<Utc>,
) -> rusqlite::Result<ChangeOutcome> {
    tx.execute(
        "INSERT INTO audit_log (at, who, action, meter, quantity, target, before, after, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            millis(Utc::now()),
            change.who,
            action,
            change.meter,
            change.quantity.name(),
            target,
            before.to_string(),
            after.to_string(),
            change.note
        ],
    )?;
    let audit_id = tx.last_insert_rowid();
    mark_dirty(tx, series, dirty)?;
    let mut stmt = tx.prepare_cached(
        "SELECT statement FROM billed_periods WHERE meter = ?1 AND start <= ?3 AND end >= ?2 ORDER BY statement",
    )?;
    let reissue: Vec<String> = stmt
        .query_map(params![change.meter, millis(span.0), millis(span.1)], |r| {
            r.get(0)
        })?
        .collect::<rusqlite::Result<_>>()?;
    for statement in &reissue {
        tx.execute(
            "INSERT OR IGNORE INTO reissue_flags (statement, meter, audit, flagged_at) VALUES (?1, ?2, ?3, ?4)",
            params![statement, change.meter, audit_id, millis(Utc::now())],
        )?;
    }
    Ok(ChangeOutcome { audit_id, reissue })
}

fn ensure_series(tx: &Transaction<'_>, meter: &str, quantity: Quantity) -> rusqlite::Result<i64> {
    tx.execute(
        "INSERT OR IGNORE INTO series (meter, quantity) VALUES (?1, ?2)",
        params![meter, quantity.name()],
    )?;
    tx.query_row(
        "SELECT id FROM series WHERE meter = ?1 AND quantity = ?2",
        params![meter, quantity.name()],
        |r| r.get(0),
    )
}

impl StoreWriter {
    /// Corrects a stored reading (`Some(value)`) or strikes it out (`None`). The raw reading is
    /// kept; `Ok(None)` when there is no reading at that instant.
    pub fn correct_reading(
        &mut self,
        change: &Change<'_>,
        time: DateTime<Utc>,
        value: Option<Decimal>,
    ) -> Result<Option<ChangeOutcome>, StoreError> {
        self.in_transaction(|tx| {
            let Some(series) = series_of(tx, change.meter, change.quantity)? else {
                return Ok(None);
            };
            let raw: Option<f64> = tx
                .query_row(
                    "SELECT value FROM register_readings WHERE series = ?1 AND ts = ?2",
                    params![series, millis(time)],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(raw) = raw else { return Ok(None) };
            let earlier: Option<Option<String>> = tx
                .query_row(
                    "SELECT value FROM reading_corrections WHERE series = ?1 AND ts = ?2",
                    params![series, millis(time)],
                    |r| r.get(0),
                )
                .optional()?;
            let before = match earlier {
                None => json!({"value": raw, "status": "as_read"}),
                Some(None) => json!({"value": raw, "status": "struck_out"}),
                Some(Some(v)) => json!({"value": v, "status": "corrected", "as_read": raw}),
            };
            let after = match value {
                Some(v) => json!({"value": v.to_string(), "status": "corrected", "as_read": raw}),
                None => json!({"value": raw, "status": "struck_out"}),
            };
            let span = affected_span(tx, series, time, time)?;
            let dirty = dirty_from(tx, series, time)?;
            let action = if value.is_some() {
                "reading.correct"
            } else {
                "reading.strike_out"
            };
            let outcome = record_change(
                tx,
                series,
                change,
                action,
                &time.to_rfc3339(),
                &before,
                &after,
                span,
                dirty,
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO reading_corrections (series, ts, value, audit) VALUES (?1, ?2, ?3, ?4)",
                params![series, millis(time), value.map(|v| v.to_string()), outcome.audit_id],
            )?;
            Ok(Some(outcome))
        })
    }

    /// Sets (corrected) or estimates the consumption of [start, end), multiplier applied.
    pub fn correct_interval(
        &mut self,
        change: &Change<'_>,
        correction: &IntervalCorrection,
    ) -> Result<ChangeOutcome, StoreError> {
        self.in_transaction(|tx| {
            let series = ensure_series(tx, change.meter, change.quantity)?;
            let earlier = load_register(
                tx,
                change.meter,
                change.quantity,
                correction.start,
                correction.end,
            )?
            .corrections;
            let before = json!({ "corrections": earlier });
            let after = json!(correction);
            let action = if correction.quality == Quality::Estimated {
                "interval.estimate"
            } else {
                "interval.correct"
            };
            let target = format!(
                "{}/{}",
                correction.start.to_rfc3339(),
                correction.end.to_rfc3339()
            );
            let outcome = record_change(
                tx,
                series,
                change,
                action,
                &target,
                &before,
                &after,
                (correction.start, correction.end),
                correction.start,
            )?;
            tx.execute(
                "INSERT INTO interval_corrections (series, start, end, consumption, quality, audit)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    series,
                    millis(correction.start),
                    millis(correction.end),
                    correction.consumption.to_string(),
                    quality_code(correction.quality),
                    outcome.audit_id
                ],
            )?;
            Ok(outcome)
        })
    }

    /// A note on a reading or a stretch of time; it changes no figure.
    pub fn annotate(
        &mut self,
        change: &Change<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<ChangeOutcome, StoreError> {
        self.in_transaction(|tx| {
            tx.execute(
                "INSERT INTO audit_log (at, who, action, meter, quantity, target, before, after, note)
                 VALUES (?1, ?2, 'annotate', ?3, ?4, ?5, 'null', 'null', ?6)",
                params![
                    millis(Utc::now()),
                    change.who,
                    change.meter,
                    change.quantity.name(),
                    if from == to { from.to_rfc3339() } else { format!("{}/{}", from.to_rfc3339(), to.to_rfc3339()) },
                    change.note
                ],
            )?;
            Ok(ChangeOutcome {
                audit_id: tx.last_insert_rowid(),
                reissue: vec![],
            })
        })
    }

    /// Records an event on a meter's register (replacement, reset), audited.
    pub fn add_event(
        &mut self,
        change: &Change<'_>,
        event: &Event,
    ) -> Result<ChangeOutcome, StoreError> {
        let (kind, old_final, new_initial, new_value) = match event {
            Event::Replacement {
                old_final,
                new_initial,
                ..
            } => (
                "replacement",
                Some(old_final.to_string()),
                Some(new_initial.to_string()),
                None,
            ),
            Event::Reset { new_value, .. } => ("reset", None, None, Some(new_value.to_string())),
        };
        self.in_transaction(|tx| {
            let series = ensure_series(tx, change.meter, change.quantity)?;
            tx.execute(
                "INSERT INTO meter_events (meter, quantity, ts, kind, old_final, new_initial, new_value, note, recorded_by, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![change.meter, change.quantity.name(), millis(event.time()), kind, old_final, new_initial, new_value, change.note, change.who, millis(Utc::now())],
            )?;
            let after = json!({"kind": kind, "old_final": old_final, "new_initial": new_initial, "new_value": new_value});
            let span = affected_span(tx, series, event.time(), event.time())?;
            let dirty = dirty_from(tx, series, event.time())?;
            record_change(
                tx,
                series,
                change,
                &format!("event.{kind}"),
                &event.time().to_rfc3339(),
                &Value::Null,
                &after,
                span,
                dirty,
            )
        })
    }

    /// Records that `statement` billed `meter` for [start, end): later changes there flag it.
    pub fn record_billed(
        &mut self,
        statement: &str,
        meter: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        consumption: Decimal,
    ) -> Result<(), StoreError> {
        self.in_transaction(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO billed_periods (statement, meter, start, end, consumption, issued_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![statement, meter, millis(start), millis(end), consumption.to_string(), millis(Utc::now())],
            )?;
            Ok(())
        })
    }

    /// Recomputes and stores a register's days, atomically with respect to other writers:
    /// `compute` gets the stored state and the data, and returns the days from some date on
    /// plus the new state, or None when nothing needs doing.
    pub fn refresh_days(
        &mut self,
        meter: &str,
        quantity: Quantity,
        margin: chrono::Duration,
        compute: impl FnOnce(
            Option<&LedgerState>,
            &dyn Fn(DateTime<Utc>) -> rusqlite::Result<RegisterData>,
        ) -> rusqlite::Result<Option<(NaiveDate, Vec<DayRow>, LedgerState)>>,
    ) -> Result<bool, StoreError> {
        self.in_transaction(|tx| {
            let Some(series) = series_of(tx, meter, quantity)? else {
                return Ok(false);
            };
            let state = load_state(tx, series)?;
            let load = |from: DateTime<Utc>| {
                load_around(tx, meter, quantity, from, DateTime::<Utc>::MAX_UTC, margin)
            };
            let Some((from_day, days, new_state)) = compute(state.as_ref(), &load)? else {
                return Ok(false);
            };
            tx.execute(
                "DELETE FROM ledger_days WHERE series = ?1 AND day >= ?2",
                params![series, day_number(from_day)],
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO ledger_days (series, day, consumption, quality) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for d in &days {
                insert.execute(params![
                    series,
                    day_number(d.day),
                    d.consumption.to_string(),
                    quality_code(d.quality)
                ])?;
            }
            tx.execute(
                "INSERT OR REPLACE INTO ledger_state (series, fingerprint, through, last_reading, dirty_from)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    series,
                    new_state.fingerprint,
                    day_number(new_state.through),
                    millis(new_state.last_reading),
                    new_state.dirty_from.map(millis)
                ],
            )?;
            Ok(true)
        })
    }
}

impl StoreReader {
    /// Everything the ledger needs to compute [a, b] of one register (see [`window`]).
    pub fn register_around(
        &self,
        meter: &str,
        quantity: Quantity,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
        margin: chrono::Duration,
    ) -> Result<RegisterData, StoreError> {
        load_around(self.conn(), meter, quantity, a, b, margin).map_err(|e| self.fail(e))
    }

    /// Everything the ledger needs for one register with readings in [from, to).
    pub fn register_data(
        &self,
        meter: &str,
        quantity: Quantity,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<RegisterData, StoreError> {
        load_register(self.conn(), meter, quantity, from, to).map_err(|e| self.fail(e))
    }

    /// Stored days of a register in [from, to) and the state they were stored with.
    pub fn days(
        &self,
        meter: &str,
        quantity: Quantity,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<(Option<LedgerState>, Vec<DayRow>), StoreError> {
        let run = || -> rusqlite::Result<(Option<LedgerState>, Vec<DayRow>)> {
            let Some(series) = series_of(self.conn(), meter, quantity)? else {
                return Ok((None, vec![]));
            };
            let state = load_state(self.conn(), series)?;
            let mut stmt = self.conn().prepare_cached(
                "SELECT day, consumption, quality FROM ledger_days WHERE series = ?1 AND day >= ?2 AND day < ?3 ORDER BY day",
            )?;
            let rows = stmt
                .query_map(params![series, day_number(from), day_number(to)], |r| {
                    Ok(DayRow {
                        day: from_day_number(r.get(0)?),
                        consumption: dec(r.get(1)?).unwrap_or_default(),
                        quality: quality_from_code(r.get(2)?),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok((state, rows))
        };
        // One snapshot, so the state matches the days.
        let transaction = |sql: &str| self.conn().prepare_cached(sql)?.execute([]);
        transaction("BEGIN").map_err(|e| self.fail(e))?;
        let out = run();
        let _ = transaction("COMMIT");
        out.map_err(|e| self.fail(e))
    }

    /// The audit log, newest first; of one meter when given.
    pub fn audit(&self, meter: Option<&str>, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let run = || -> rusqlite::Result<Vec<AuditEntry>> {
            let mut stmt = self.conn().prepare_cached(
                "SELECT id, at, who, action, meter, quantity, target, before, after, note FROM audit_log
                 WHERE ?1 IS NULL OR meter = ?1 ORDER BY id DESC LIMIT ?2",
            )?;
            stmt.query_map(params![meter, limit as i64], |r| {
                let json = |s: Option<String>| {
                    s.and_then(|s| serde_json::from_str(&s).ok())
                        .unwrap_or(Value::Null)
                };
                Ok(AuditEntry {
                    id: r.get(0)?,
                    at: from_millis(r.get(1)?),
                    who: r.get(2)?,
                    action: r.get(3)?,
                    meter: r.get(4)?,
                    quantity: r.get(5)?,
                    target: r.get(6)?,
                    before: json(r.get(7)?),
                    after: json(r.get(8)?),
                    note: r.get(9)?,
                })
            })?
            .collect()
        };
        run().map_err(|e| self.fail(e))
    }

    /// Statements flagged for re-issue: (statement, meter, audit entry that caused it).
    pub fn reissue_flags(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        let run = || -> rusqlite::Result<Vec<(String, String, i64)>> {
            let mut stmt = self.conn().prepare_cached(
                "SELECT statement, meter, audit FROM reissue_flags ORDER BY statement, meter, audit",
            )?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        };
        run().map_err(|e| self.fail(e))
    }
}
