//! The store's schema: every area's migrations in order, and opening a store, which brings
//! its schema up to date. Above the areas (`readings`, `ledger`, `rules`, `billing`, `users`),
//! whose tables it creates; nothing below imports it.

use std::path::Path;

use rusqlite::Connection;

use super::sqlite::{SqliteStore, StoreError};

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
    // 8: statements accepted after review, free-quota opening balances (see store/reviews.rs)
    super::reviews::MIGRATION,
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

impl SqliteStore {
    /// Opens (creating if needed) the database and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let store = SqliteStore::at(path);
        let mut conn = store.connect()?;
        migrate(&store, &mut conn)?;
        Ok(store)
    }
}

/// Brings the database on `conn` up to this build's schema, one transaction per migration.
fn migrate(store: &SqliteStore, conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| store.err(e))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::TooNew {
            path: store.path().to_path_buf(),
            found: version,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction().map_err(|e| store.err(e))?;
        tx.execute_batch(sql).map_err(|e| store.err(e))?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(|e| store.err(e))?;
        tx.commit().map_err(|e| store.err(e))?;
    }
    Ok(())
}
