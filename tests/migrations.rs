//! Upgrades: a database made by the first schema (as the first release created it), and one at
//! every later version, opens with the current build, runs every migration, ends with exactly
//! the schema of a new database, and keeps its data readable and writable. A database from a
//! newer build is refused, untouched, with an error naming it.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use jieneng::auth::Role;
use jieneng::quantity::Quantity;
use jieneng::reading::{Reading, ReadingQuality};
use jieneng::store::schema::{migrations, schema_version};
use jieneng::store::{SqliteStore, StoreError};
use rusqlite::Connection;

/// The schema of the first release (commit dfb6f21, "Site config, device profiles, Modbus TCP
/// collector, embedded store ..."), as it created databases: user_version 1, WAL.
const FIRST_SCHEMA: &str = "CREATE TABLE series (
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
     CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);";

const T0: i64 = 1_760_000_000_000; // 2025-10-09, milliseconds

fn schema_of(path: &Path) -> Vec<(String, String, Option<String>)> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY type, name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn user_version(path: &Path) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

/// The schema a new database gets from this build.
fn fresh_schema(dir: &Path) -> Vec<(String, String, Option<String>)> {
    let path = dir.join("fresh.db");
    SqliteStore::open(&path).unwrap();
    schema_of(&path)
}

/// A database as a build with only the first `version` migrations left it, with readings in
/// the first schema's shape: a register (kWh, one reading entered by hand) and a live quantity.
fn old_database(path: &Path, version: usize) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
    if version == 1 {
        conn.execute_batch(FIRST_SCHEMA).unwrap();
    } else {
        for sql in &migrations()[..version] {
            conn.execute_batch(sql).unwrap();
        }
    }
    conn.pragma_update(None, "user_version", version as i64)
        .unwrap();
    conn.execute_batch(&format!(
        "INSERT INTO series (id, meter, quantity) VALUES (1, 'm1', 'energy_import_kwh'), (2, 'm1', 'power_kw');
         INSERT INTO register_readings (series, ts, value, quality) VALUES
            (1, {T0}, 1000.5, 0), (1, {}, 1001.25, 0), (1, {}, 1002.0, 1);
         INSERT INTO telemetry (series, ts, value) VALUES (2, {T0}, 3.5), (2, {}, 4.0);
         INSERT INTO meta (key, value) VALUES ('created_by', 'jieneng 0.1.0');",
        T0 + 900_000,
        T0 + 1_800_000,
        T0 + 900_000
    ))
    .unwrap();
}

fn at(ms: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).unwrap()
}

/// The old readings read back through the current API, then new ones written through it.
fn check_data_and_write(store: &SqliteStore) {
    let reader = store.reader().unwrap();
    let registers = reader
        .readings(
            "m1",
            Quantity::named("energy_import_kwh"),
            at(0),
            Utc::now(),
        )
        .unwrap();
    assert_eq!(
        registers.iter().map(|r| r.value).collect::<Vec<_>>(),
        vec![1000.5, 1001.25, 1002.0]
    );
    assert_eq!(registers[0].time, at(T0));
    assert_eq!(registers[2].quality, ReadingQuality::Manual);
    let live = reader
        .latest("m1", Quantity::named("power_kw"))
        .unwrap()
        .unwrap();
    assert_eq!((live.time, live.value), (at(T0 + 900_000), 4.0));

    // Writes through every later migration's tables.
    let mut w = store.writer().unwrap();
    let next = |ms: i64, value: f64| Reading {
        meter: Arc::from("m1"),
        quantity: Quantity::named("energy_import_kwh"),
        time: at(ms),
        value,
        quality: ReadingQuality::Measured,
    };
    w.write_batch(&[next(T0 + 2_700_000, 1003.0)]).unwrap();
    // Entered by hand with a note (reading notes, audit log, ledger marks).
    w.write_manual(
        &[(next(T0 + 3_600_000, 1004.0), Some("read on site".into()))],
        "test",
    )
    .unwrap();
    w.create_user(
        "admin",
        "Admin",
        Role::Admin,
        Some("a long password"),
        "test",
    )
    .unwrap();
    w.create_token("admin", "test", "test").unwrap();
    assert_eq!(store.reader().unwrap().counts().unwrap(), (5, 2));
}

#[test]
fn the_first_migration_is_the_first_release_schema() {
    // Released migrations are never edited: databases in the field were made by them.
    let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(norm(migrations()[0]), norm(FIRST_SCHEMA));
}

#[test]
fn a_database_of_the_first_schema_is_migrated_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jieneng.db");
    old_database(&path, 1);
    assert_eq!(user_version(&path), 1);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), schema_version());
    assert_eq!(schema_of(&path), fresh_schema(dir.path()));
    check_data_and_write(&store);
    let conn = Connection::open(&path).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let meta: String = conn
        .query_row("SELECT value FROM meta WHERE key = 'created_by'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(meta, "jieneng 0.1.0");
    // Opening again runs nothing more.
    SqliteStore::open(&path).unwrap();
    assert_eq!(user_version(&path), schema_version());
}

#[test]
fn a_database_at_every_version_is_migrated_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = fresh_schema(dir.path());
    for version in 1..=schema_version() as usize {
        let path = dir.path().join(format!("v{version}.db"));
        old_database(&path, version);
        let store = SqliteStore::open(&path).unwrap_or_else(|e| panic!("version {version}: {e}"));
        assert_eq!(user_version(&path), schema_version(), "version {version}");
        assert_eq!(schema_of(&path), fresh, "version {version}");
        check_data_and_write(&store);
    }
}

#[test]
fn a_database_of_a_newer_build_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let path = data.join("jieneng.db");
    SqliteStore::open(&path).unwrap();
    let newer = schema_version() + 1;
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", newer)
        .unwrap();
    let before = schema_of(&path);

    let e = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(e, StoreError::TooNew { found, known, .. } if found == newer && known == schema_version())
    );
    let message = e.to_string();
    assert!(
        message.contains(&path.display().to_string())
            && message.contains("newer jieneng")
            && message.contains(&format!("schema {newer}")),
        "{message}"
    );
    assert_eq!(user_version(&path), newer);
    assert_eq!(schema_of(&path), before);

    // The service refuses to start on it, saying why.
    let config = dir.path().join("jieneng.toml");
    std::fs::write(
        &config,
        format!(
            "[site]\nname = \"t\"\ndata_dir = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\n\
             [[units]]\nid = \"o\"\nname = \"o\"\nkind = \"organisation\"\n",
            data.display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_jieneng"))
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("newer jieneng") && stderr.contains("jieneng.db"),
        "{stderr}"
    );
    assert_eq!(user_version(&path), newer);
}
