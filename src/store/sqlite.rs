//! The embedded store: one SQLite file (WAL) under the data directory.
//!
//! - `register_readings`: cumulative register values (kWh, m³ ...), kept for good: the ledger
//!   derives consumption from them.
//! - `telemetry`: instantaneous values (kW, V, A ...), kept for the retention window.
//!
//! Series (meter, quantity) get small integer ids so the reading tables stay compact.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, params};
use thiserror::Error;

use crate::quantity::Quantity;
use crate::reading::{Reading, ReadingQuality};

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "database {path} was written by a newer jieneng (schema {found}, this build knows {known})"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
}

/// Schema migrations, applied in order; `PRAGMA user_version` records how many have run.
/// Append only: a released migration is never edited.
const MIGRATIONS: &[&str] = &[
    // 1: series, register readings, telemetry, metadata
    "CREATE TABLE series (
        id INTEGER PRIMARY KEY,
        meter TEXT NOT NULL,
        quantity TEXT NOT NULL,
        UNIQUE (meter, quantity)
     );
     CREATE TABLE register_readings (
        series INTEGER NOT NULL REFERENCES series(id),
        ts INTEGER NOT NULL,          -- milliseconds since 1970-01-01 UTC
        value REAL NOT NULL,
        quality INTEGER NOT NULL,     -- 0 measured, 1 manual, 2 estimated
        PRIMARY KEY (series, ts)
     ) WITHOUT ROWID;
     CREATE TABLE telemetry (
        series INTEGER NOT NULL REFERENCES series(id),
        ts INTEGER NOT NULL,
        value REAL NOT NULL,
        PRIMARY KEY (series, ts)
     ) WITHOUT ROWID;
     CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    // 2: notes on readings entered by hand (who read it, why, what the display showed)
    "CREATE TABLE reading_notes (
        series INTEGER NOT NULL REFERENCES series(id),
        ts INTEGER NOT NULL,
        note TEXT NOT NULL,
        PRIMARY KEY (series, ts)
     ) WITHOUT ROWID;",
    // 3: events that break a register's continuity, recorded by engineers
    "CREATE TABLE meter_events (
        id INTEGER PRIMARY KEY,
        meter TEXT NOT NULL,
        quantity TEXT NOT NULL,
        ts INTEGER NOT NULL,
        kind TEXT NOT NULL,           -- replacement | reset
        old_final TEXT,               -- decimals as text
        new_initial TEXT,
        new_value TEXT,
        note TEXT NOT NULL,
        recorded_by TEXT NOT NULL,
        recorded_at INTEGER NOT NULL
     );
     CREATE INDEX meter_events_by_meter ON meter_events (meter, quantity, ts);",
    // 4: corrections, the audit log, billed periods, the daily ledger (see store/ledger.rs)
    super::ledger::MIGRATION,
    // 5: alerts, committee points, ratings history (see store/rules.rs)
    super::rules::MIGRATION,
    // 6: issued statements and payments (see store/billing.rs)
    super::billing::MIGRATION,
    // 7: users, sessions, API tokens (see store/users.rs)
    super::users::MIGRATION,
];

/// The schema version this build writes: the number of migrations.
pub fn schema_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// The migrations, in order (migration `i` brings a database from version `i` to `i + 1`).
/// For the upgrade tests, which build databases as older versions left them.
#[doc(hidden)]
pub fn migrations() -> &'static [&'static str] {
    MIGRATIONS
}

/// The database file under a data directory.
pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join("jieneng.db")
}

#[derive(Debug, Clone)]
pub struct SqliteStore {
    path: Arc<PathBuf>,
}

pub(super) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(super) fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

impl SqliteStore {
    /// Opens (creating if needed) the database and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let store = SqliteStore {
            path: Arc::new(path.to_path_buf()),
        };
        let mut conn = store.connect()?;
        store.migrate(&mut conn)?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.to_path_buf(),
            source,
        }
    }

    fn connect(&self) -> Result<Connection, StoreError> {
        let conn = Connection::open(&*self.path).map_err(|e| self.err(e))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA busy_timeout = 5000;
             PRAGMA cache_size = -65536;
             PRAGMA temp_store = MEMORY;",
        )
        .map_err(|e| self.err(e))?;
        // Plans stay as prepared: otherwise SQLite re-prepares a cached statement every time a
        // new value is bound to a range or LIMIT parameter (most ledger queries), which cost
        // as much as running them. The plans here are primary-key and index lookups anyway.
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
            .map_err(|e| self.err(e))?;
        Ok(conn)
    }

    fn migrate(&self, conn: &mut Connection) -> Result<(), StoreError> {
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew {
                path: self.path.to_path_buf(),
                found: version,
                known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction().map_err(|e| self.err(e))?;
            tx.execute_batch(sql).map_err(|e| self.err(e))?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)
                .map_err(|e| self.err(e))?;
            tx.commit().map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    pub fn writer(&self) -> Result<StoreWriter, StoreError> {
        Ok(StoreWriter {
            conn: self.connect()?,
            store: self.clone(),
            series: HashMap::new(),
        })
    }

    pub fn reader(&self) -> Result<StoreReader, StoreError> {
        Ok(StoreReader {
            conn: self.connect()?,
            store: self.clone(),
        })
    }
}

/// The single writer. Owns a connection and a cache of series ids.
pub struct StoreWriter {
    conn: Connection,
    store: SqliteStore,
    series: HashMap<(Arc<str>, Quantity), i64>,
}

impl StoreWriter {
    fn series_id(
        tx: &rusqlite::Transaction<'_>,
        cache: &mut HashMap<(Arc<str>, Quantity), i64>,
        meter: &Arc<str>,
        quantity: Quantity,
    ) -> rusqlite::Result<i64> {
        if let Some(id) = cache.get(&(meter.clone(), quantity)) {
            return Ok(*id);
        }
        tx.execute(
            "INSERT OR IGNORE INTO series (meter, quantity) VALUES (?1, ?2)",
            params![&**meter, quantity.name()],
        )?;
        let id = tx.query_row(
            "SELECT id FROM series WHERE meter = ?1 AND quantity = ?2",
            params![&**meter, quantity.name()],
            |r| r.get(0),
        )?;
        cache.insert((meter.clone(), quantity), id);
        Ok(id)
    }

    /// Runs `f` in one IMMEDIATE transaction (the write lock is taken up front, so what `f`
    /// reads is what it writes over); rolled back on error.
    pub(super) fn in_transaction<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let result = (|| {
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })();
        result.map_err(|e| {
            self.series.clear();
            self.store.err(e)
        })
    }

    /// Writes readings entered by hand, with their notes, in one transaction: all or nothing.
    pub fn write_manual(
        &mut self,
        readings: &[(Reading, Option<String>)],
        who: &str,
    ) -> Result<(), StoreError> {
        let result = (|| -> rusqlite::Result<()> {
            let tx = self.conn.transaction()?;
            let mut earliest: HashMap<i64, DateTime<Utc>> = HashMap::new();
            for (r, note) in readings {
                let id = Self::series_id(&tx, &mut self.series, &r.meter, r.quantity)?;
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
                super::ledger::mark_late_readings(&tx, series, t)?;
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
            tx.commit()
        })();
        result.map_err(|e| {
            self.series.clear();
            self.store.err(e)
        })
    }

    pub fn write_batch(&mut self, readings: &[Reading]) -> Result<(), StoreError> {
        let result = (|| -> rusqlite::Result<()> {
            let tx = self.conn.transaction()?;
            let mut registers: Vec<(i64, i64, f64, i64)> = Vec::new();
            let mut telemetry: Vec<(i64, i64, f64, i64)> = Vec::new();
            let mut earliest: HashMap<i64, i64> = HashMap::new();
            for r in readings {
                let id = Self::series_id(&tx, &mut self.series, &r.meter, r.quantity)?;
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
                &tx,
                "INSERT OR IGNORE INTO register_readings (series, ts, value, quality) VALUES ",
                &registers,
                true,
            )?;
            insert_rows(
                &tx,
                "INSERT OR REPLACE INTO telemetry (series, ts, value) VALUES ",
                &telemetry,
                false,
            )?;
            // A reading older than what the daily ledger holds makes it recompute from there.
            for (series, ts) in earliest {
                super::ledger::mark_late_readings(&tx, series, from_millis(ts))?;
            }
            tx.commit()
        })();
        result.map_err(|e| {
            // The transaction rolled back; cached ids of series created in it are gone too.
            self.series.clear();
            self.store.err(e)
        })
    }

    /// Drops telemetry older than `before`; register readings are never dropped.
    pub fn prune_telemetry(&mut self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "DELETE FROM telemetry WHERE ts < ?1",
                params![millis(before)],
            )
            .map_err(|e| self.store.err(e))
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

/// A read-only view; each HTTP handler or report opens its own (WAL lets them run beside the writer).
pub struct StoreReader {
    conn: Connection,
    store: SqliteStore,
}

impl StoreReader {
    /// Another reader of the same store (its own connection), for work on another thread.
    pub fn another(&self) -> Result<StoreReader, StoreError> {
        self.store.reader()
    }
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
        self.conn
            .query_row(
                "SELECT id FROM series WHERE meter = ?1 AND quantity = ?2",
                params![meter, quantity.name()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.store.err(e))
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
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| self.store.err(e))?;
        let rows = stmt
            .query_map(params![series, millis(from), millis(to)], |r| {
                Ok(StoredReading {
                    time: from_millis(r.get(0)?),
                    value: r.get(1)?,
                    quality: ReadingQuality::from_code(r.get(2)?),
                })
            })
            .map_err(|e| self.store.err(e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| self.store.err(e))
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
        self.conn
            .query_row(sql, params![series, millis(before)], |r| {
                Ok(StoredReading {
                    time: from_millis(r.get(0)?),
                    value: r.get(1)?,
                    quality: ReadingQuality::from_code(r.get(2)?),
                })
            })
            .optional()
            .map_err(|e| self.store.err(e))
    }

    pub(super) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(super) fn fail(&self, source: rusqlite::Error) -> StoreError {
        self.store.err(source)
    }

    /// Number of stored register readings and telemetry rows.
    pub fn counts(&self) -> Result<(u64, u64), StoreError> {
        let count = |table: &str| -> Result<u64, StoreError> {
            self.conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
                    r.get::<_, i64>(0)
                })
                .map(|n| n as u64)
                .map_err(|e| self.store.err(e))
        };
        Ok((count("register_readings")?, count("telemetry")?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(meter: &str, q: &str, secs: i64, value: f64) -> Reading {
        Reading {
            meter: Arc::from(meter),
            quantity: Quantity::named(q),
            time: Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap(),
            value,
            quality: ReadingQuality::Measured,
        }
    }

    #[test]
    fn cached_range_queries_are_not_prepared_again_for_new_bounds() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("jieneng.db")).unwrap();
        let r = store.reader().unwrap();
        let sql = "SELECT ts FROM register_readings WHERE series = ?1 AND ts <= ?2 ORDER BY ts DESC LIMIT ?3";
        for i in 0..5 {
            r.conn()
                .prepare_cached(sql)
                .unwrap()
                .query_map(params![1, i * 900, i + 1], |row| row.get::<_, i64>(0))
                .unwrap()
                .for_each(drop);
        }
        let stmt = r.conn().prepare_cached(sql).unwrap();
        assert_eq!(
            stmt.get_status(rusqlite::StatementStatus::RePrepare),
            0,
            "each new bound re-prepared the statement"
        );
    }

    #[test]
    fn writes_and_reads_back_both_kinds() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("jieneng.db")).unwrap();
        let mut w = store.writer().unwrap();
        w.write_batch(&[
            reading("m1", "energy_import_kwh", 0, 100.5),
            reading("m1", "energy_import_kwh", 900, 101.25),
            reading("m1", "power_kw", 0, 3.0),
            reading("m2", "power_kw", 0, 4.0),
        ])
        .unwrap();
        // A re-delivered register reading does not replace the stored one.
        w.write_batch(&[reading("m1", "energy_import_kwh", 900, 999.0)])
            .unwrap();
        let r = store.reader().unwrap();
        let got = r
            .readings(
                "m1",
                Quantity::named("energy_import_kwh"),
                Utc.timestamp_opt(0, 0).unwrap(),
                Utc::now(),
            )
            .unwrap();
        assert_eq!(
            got.iter().map(|x| x.value).collect::<Vec<_>>(),
            vec![100.5, 101.25]
        );
        assert_eq!(
            r.latest("m2", Quantity::named("power_kw"))
                .unwrap()
                .unwrap()
                .value,
            4.0
        );
        assert_eq!(r.counts().unwrap(), (2, 2));
        assert_eq!(w.prune_telemetry(Utc::now()).unwrap(), 2);
    }

    #[test]
    fn reopening_keeps_data_and_refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jieneng.db");
        {
            let store = SqliteStore::open(&path).unwrap();
            store
                .writer()
                .unwrap()
                .write_batch(&[reading("m1", "water_m3", 0, 5.0)])
                .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.reader().unwrap().counts().unwrap(), (1, 0));
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        assert!(matches!(
            SqliteStore::open(&path),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }
}
