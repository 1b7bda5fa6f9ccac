//! The embedded store: one SQLite file (WAL) under the data directory. This file is the
//! store's ground floor: the error type, connections, and the writer and reader every area of
//! the store (`readings`, `ledger`, `rules`, `billing`, `users`) adds its queries to. It knows
//! none of the areas; `schema.rs`, above them, lists their migrations and opens the store.
//!
//! Series (meter, quantity) get small integer ids so the reading tables stay compact.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, params};
use thiserror::Error;

use crate::quantity::Quantity;

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
    /// A store at `path` whose schema is already up to date (see `schema.rs`, which opens
    /// stores).
    pub(super) fn at(path: &Path) -> SqliteStore {
        SqliteStore {
            path: Arc::new(path.to_path_buf()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.to_path_buf(),
            source,
        }
    }

    pub(super) fn connect(&self) -> Result<Connection, StoreError> {
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

    pub fn writer(&self) -> Result<StoreWriter, StoreError> {
        Ok(StoreWriter {
            conn: self.connect()?,
            store: self.clone(),
            series: SeriesIds::default(),
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
    series: SeriesIds,
}

/// The writer's cache of series ids.
#[derive(Default)]
pub(super) struct SeriesIds(HashMap<(Arc<str>, Quantity), i64>);

impl SeriesIds {
    /// The id of the series (`meter`, `quantity`), created when new.
    pub(super) fn id(
        &mut self,
        tx: &rusqlite::Transaction<'_>,
        meter: &Arc<str>,
        quantity: Quantity,
    ) -> rusqlite::Result<i64> {
        if let Some(id) = self.0.get(&(meter.clone(), quantity)) {
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
        self.0.insert((meter.clone(), quantity), id);
        Ok(id)
    }
}

impl StoreWriter {
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
            self.series.0.clear();
            self.store.err(e)
        })
    }

    /// Runs `f` in one (deferred) transaction with the cache of series ids; rolled back on
    /// error, and then the cache is cleared too (ids of series created in it are gone).
    pub(super) fn with_series<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>, &mut SeriesIds) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let result = (|| {
            let tx = self.conn.transaction()?;
            let out = f(&tx, &mut self.series)?;
            tx.commit()?;
            Ok(out)
        })();
        result.map_err(|e| {
            self.series.0.clear();
            self.store.err(e)
        })
    }

    pub(super) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(super) fn fail(&self, source: rusqlite::Error) -> StoreError {
        self.store.err(source)
    }
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

    pub(super) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(super) fn fail(&self, source: rusqlite::Error) -> StoreError {
        self.store.err(source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reading::{Reading, ReadingQuality};

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
