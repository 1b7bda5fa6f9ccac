//! Online backup and restore of the embedded store.
//!
//! A backup is taken with SQLite's backup API while the service keeps writing: the copy is one
//! consistent snapshot (a read transaction held on the live database from the first page to
//! the last), which in WAL mode never blocks the writer — it only keeps the WAL from being
//! checkpointed past the snapshot until the copy is done. The pages are copied in steps into a
//! temporary file next to the destination, the copy is switched to a self-contained rollback
//! journal file, checked with `PRAGMA integrity_check`, synced, and only then renamed to the
//! destination: a destination that exists is always a complete, checked backup.
//!
//! A restore puts a checked backup in place of the database of a stopped service, keeping the
//! database it replaces beside it; the next start migrates an older backup up to date.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use thiserror::Error;

use super::lock::{LockError, lock_data_dir};
use super::schema::schema_version;
use super::sqlite::{SqliteStore, StoreError, database_path};

/// Pages copied per backup step (4 KiB pages: 16 MiB).
const PAGES_PER_STEP: i32 = 4096;

#[derive(Debug, Error)]
pub enum BackupError {
    #[error("no database at {0} (is data_dir right?)")]
    Missing(PathBuf),
    #[error("{0} already exists; use --force to replace it")]
    Exists(PathBuf),
    #[error("{0} is a directory; give the backup file's name")]
    IsDirectory(PathBuf),
    #[error("{0} is the live database itself; back up to another file")]
    SameFile(PathBuf),
    #[error("directory {0} does not exist")]
    NoDirectory(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path} fails the integrity check: {problems}")]
    Corrupt { path: PathBuf, problems: String },
    #[error("{0} is not a jieneng database (no schema version, no readings table)")]
    NotJieneng(PathBuf),
    #[error(
        "{path} was written by a newer jieneng (schema {found}, this build knows {known}); restore it with that version"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error(transparent)]
    Locked(#[from] LockError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a backup wrote.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub schema_version: i64,
    pub register_readings: u64,
    pub telemetry: u64,
    pub pages: i64,
    pub steps: u32,
    pub copy_seconds: f64,
    pub check_seconds: f64,
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    pub database: PathBuf,
    /// Where the database that was replaced now is (none when there was none).
    pub replaced: Option<PathBuf>,
    pub backup_schema_version: i64,
    pub schema_version: i64,
    pub register_readings: u64,
    pub telemetry: u64,
    /// Set when the restored file could not be given the data directory's owner.
    pub owner_warning: Option<String>,
}

fn sqlite_err(path: &Path) -> impl Fn(rusqlite::Error) -> BackupError + '_ {
    move |source| BackupError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Removes a temporary file (and its journal) unless disarmed.
struct TempFile(Option<PathBuf>);

impl TempFile {
    fn remove(path: &Path) {
        let _ = std::fs::remove_file(path);
        for suffix in ["-journal", "-wal", "-shm"] {
            let _ = std::fs::remove_file(with_suffix(path, suffix));
        }
    }
    fn keep(mut self) {
        self.0 = None;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            Self::remove(p);
        }
    }
}

/// `PRAGMA integrity_check` on `conn`: Ok when it answers a single `ok`.
fn integrity_check(conn: &Connection, path: &Path) -> Result<(), BackupError> {
    let mut stmt = conn
        .prepare("PRAGMA integrity_check(20)")
        .map_err(sqlite_err(path))?;
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .map_err(sqlite_err(path))?
        .collect::<Result<_, _>>()
        .map_err(sqlite_err(path))?;
    if rows.len() == 1 && rows[0] == "ok" {
        Ok(())
    } else {
        Err(BackupError::Corrupt {
            path: path.to_path_buf(),
            problems: rows.join("; "),
        })
    }
}

fn user_version(conn: &Connection, path: &Path) -> Result<i64, BackupError> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sqlite_err(path))
}

fn counts(conn: &Connection, path: &Path) -> Result<(u64, u64), BackupError> {
    let count = |table: &str| -> Result<u64, BackupError> {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n as u64)
        .map_err(sqlite_err(path))
    };
    Ok((count("register_readings")?, count("telemetry")?))
}

/// Makes `path`'s directory entry durable.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Copies the live database `db` to `out` while the service may keep writing to it.
pub fn backup(db: &Path, out: &Path, force: bool) -> Result<BackupReport, BackupError> {
    backup_in_steps(db, out, force, PAGES_PER_STEP)
}

/// `backup` with `pages_per_step` pages copied per step (the tests use small steps to show
/// that commits between steps neither restart nor tear the copy).
#[doc(hidden)]
pub fn backup_in_steps(
    db: &Path,
    out: &Path,
    force: bool,
    pages_per_step: i32,
) -> Result<BackupReport, BackupError> {
    if !db.is_file() {
        return Err(BackupError::Missing(db.to_path_buf()));
    }
    if out.is_dir() {
        return Err(BackupError::IsDirectory(out.to_path_buf()));
    }
    if out.exists() {
        if std::fs::canonicalize(out).ok() == std::fs::canonicalize(db).ok() {
            return Err(BackupError::SameFile(out.to_path_buf()));
        }
        if !force {
            return Err(BackupError::Exists(out.to_path_buf()));
        }
    }
    let dir = parent_of(out);
    if !dir.is_dir() {
        return Err(BackupError::NoDirectory(dir));
    }
    let name = out
        .file_name()
        .ok_or_else(|| BackupError::IsDirectory(out.to_path_buf()))?
        .to_string_lossy()
        .into_owned();
    let tmp_path = dir.join(format!(".{name}.partial-{}", std::process::id()));
    TempFile::remove(&tmp_path);
    let tmp = TempFile(Some(tmp_path.clone()));

    // The source: opened as is (no migration, no journal mode change), never created.
    let src = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite_err(db))?;
    src.busy_timeout(Duration::from_secs(10))
        .map_err(sqlite_err(db))?;
    let started = Instant::now();
    // One read transaction across every step: all pages come from the same snapshot, and
    // commits by the running service (other connections) do not restart the copy.
    src.execute_batch("BEGIN; SELECT count(*) FROM sqlite_schema;")
        .map_err(sqlite_err(db))?;
    let mut dst = Connection::open(&tmp_path).map_err(sqlite_err(&tmp_path))?;
    let (pages, steps) = {
        let backup =
            rusqlite::backup::Backup::new(&src, &mut dst).map_err(sqlite_err(&tmp_path))?;
        let mut steps = 0u32;
        loop {
            steps += 1;
            match backup
                .step(pages_per_step.max(1))
                .map_err(sqlite_err(&tmp_path))?
            {
                rusqlite::backup::StepResult::Done => break,
                rusqlite::backup::StepResult::More => {}
                // Busy or locked: wait a moment and go on.
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        (backup.progress().pagecount as i64, steps)
    };
    src.execute_batch("COMMIT").map_err(sqlite_err(db))?;
    drop(src);
    let copy_seconds = started.elapsed().as_secs_f64();

    // A self-contained file (the live database is WAL; a backup needs no -wal beside it).
    let checked = Instant::now();
    dst.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))
        .map_err(sqlite_err(&tmp_path))?;
    integrity_check(&dst, &tmp_path)?;
    let version = user_version(&dst, &tmp_path)?;
    let (register_readings, telemetry) = counts(&dst, &tmp_path)?;
    dst.close().map_err(|(_, e)| sqlite_err(&tmp_path)(e))?;
    let check_seconds = checked.elapsed().as_secs_f64();

    File::open(&tmp_path)
        .and_then(|f| f.sync_all())
        .map_err(io_err(&tmp_path))?;
    std::fs::rename(&tmp_path, out).map_err(io_err(out))?;
    tmp.keep();
    sync_dir(&dir);
    let bytes = std::fs::metadata(out).map_err(io_err(out))?.len();
    Ok(BackupReport {
        path: out.to_path_buf(),
        bytes,
        schema_version: version,
        register_readings,
        telemetry,
        pages,
        steps,
        copy_seconds,
        check_seconds,
    })
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Checks that `path` is a sound jieneng database this build can open; its schema version.
pub fn check_backup(path: &Path) -> Result<i64, BackupError> {
    if !path.is_file() {
        return Err(BackupError::Missing(path.to_path_buf()));
    }
    if with_suffix(path, "-wal").exists() {
        return Err(BackupError::Io {
            path: with_suffix(path, "-wal"),
            source: std::io::Error::other(
                "a WAL beside the backup: is it a live database? Take backups with `jieneng backup`",
            ),
        });
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(sqlite_err(path))?;
    integrity_check(&conn, path).map_err(|e| match e {
        // "file is not a database" and the like: not ours either way.
        BackupError::Sqlite { .. } => BackupError::NotJieneng(path.to_path_buf()),
        e => e,
    })?;
    let version = user_version(&conn, path)?;
    let has_readings: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_schema WHERE name = 'register_readings'",
            [],
            |r| r.get(0),
        )
        .map_err(sqlite_err(path))?;
    if version < 1 || !has_readings {
        return Err(BackupError::NotJieneng(path.to_path_buf()));
    }
    if version > schema_version() {
        return Err(BackupError::TooNew {
            path: path.to_path_buf(),
            found: version,
            known: schema_version(),
        });
    }
    Ok(version)
}

/// Puts the backup `from` in place of the database in `data_dir`. Refused while a service
/// holds the data directory; the database it replaces (with its WAL) is renamed
/// `jieneng.db.replaced-<UTC time>`, never deleted. The restored database is migrated to this
/// build's schema.
pub fn restore(data_dir: &Path, from: &Path) -> Result<RestoreReport, BackupError> {
    let backup_version = check_backup(from)?;
    if !data_dir.is_dir() {
        std::fs::create_dir_all(data_dir).map_err(io_err(data_dir))?;
    }
    let _lock = lock_data_dir(data_dir)?;
    let db = database_path(data_dir);
    if std::fs::canonicalize(from).ok() == std::fs::canonicalize(&db).ok() {
        return Err(BackupError::SameFile(from.to_path_buf()));
    }
    let tmp_path = data_dir.join(format!(".jieneng.db.restoring-{}", std::process::id()));
    TempFile::remove(&tmp_path);
    let tmp = TempFile(Some(tmp_path.clone()));
    std::fs::copy(from, &tmp_path).map_err(io_err(&tmp_path))?;
    File::open(&tmp_path)
        .and_then(|f| f.sync_all())
        .map_err(io_err(&tmp_path))?;

    let mut replaced = None;
    if db.exists() {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let aside = data_dir.join(format!("jieneng.db.replaced-{stamp}"));
        std::fs::rename(&db, &aside).map_err(io_err(&db))?;
        // The WAL and its index go with their database, under the same new name.
        for suffix in ["-wal", "-shm"] {
            let (a, b) = (with_suffix(&db, suffix), with_suffix(&aside, suffix));
            if a.exists() {
                std::fs::rename(&a, &b).map_err(io_err(&a))?;
            }
        }
        replaced = Some(aside);
    }
    // A WAL left beside the restored file would be replayed into it.
    for suffix in ["-wal", "-shm"] {
        let stale = with_suffix(&db, suffix);
        if stale.exists() {
            return Err(BackupError::Io {
                path: stale,
                source: std::io::Error::other("left over from the replaced database; move it away"),
            });
        }
    }
    std::fs::rename(&tmp_path, &db).map_err(io_err(&db))?;
    tmp.keep();
    sync_dir(data_dir);
    let owner_warning = give_owner(data_dir, &db);

    let store = SqliteStore::open(&db)?;
    let reader = store.reader()?;
    let (register_readings, telemetry) = reader.counts()?;
    let version = {
        let conn = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(sqlite_err(&db))?;
        user_version(&conn, &db)?
    };
    Ok(RestoreReport {
        database: db,
        replaced,
        backup_schema_version: backup_version,
        schema_version: version,
        register_readings,
        telemetry,
        owner_warning,
    })
}

/// Gives `file` the owner of `dir` (a restore run as root for a service running as `jieneng`);
/// a warning when that is needed and not possible.
#[cfg(unix)]
fn give_owner(dir: &Path, file: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let (d, f) = (std::fs::metadata(dir).ok()?, std::fs::metadata(file).ok()?);
    if (d.uid(), d.gid()) == (f.uid(), f.gid()) {
        return None;
    }
    std::os::unix::fs::chown(file, Some(d.uid()), Some(d.gid()))
        .err()
        .map(|e| {
            format!(
                "{} is not owned by the owner of {} ({e}); the service may not be able to write it",
                file.display(),
                dir.display()
            )
        })
}

#[cfg(not(unix))]
fn give_owner(_dir: &Path, _file: &Path) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantity::Quantity;
    use crate::reading::{Reading, ReadingQuality};
    use chrono::{TimeZone, Utc};
    use std::sync::Arc;

    fn store_with(dir: &Path, n: i64) -> SqliteStore {
        let store = SqliteStore::open(&database_path(dir)).unwrap();
        let readings: Vec<Reading> = (0..n)
            .map(|i| Reading {
                meter: Arc::from("m1"),
                quantity: Quantity::named("energy_import_kwh"),
                time: Utc.timestamp_opt(1_700_000_000 + i * 60, 0).unwrap(),
                value: i as f64,
                quality: ReadingQuality::Measured,
            })
            .collect();
        store.writer().unwrap().write_batch(&readings).unwrap();
        store
    }

    #[test]
    fn backup_refuses_what_it_should_and_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let db = database_path(dir.path());
        let missing = backup(&db, &dir.path().join("b.db"), false).unwrap_err();
        assert!(missing.to_string().contains("no database at"), "{missing}");
        store_with(dir.path(), 10);
        let out = dir.path().join("b.db");
        let r = backup(&db, &out, false).unwrap();
        assert_eq!(
            (r.register_readings, r.schema_version),
            (10, schema_version())
        );
        let again = backup(&db, &out, false).unwrap_err().to_string();
        assert!(
            again.contains("already exists; use --force") && again.contains("b.db"),
            "{again}"
        );
        backup(&db, &out, true).unwrap();
        let same = backup(&db, &db, true).unwrap_err().to_string();
        assert!(same.contains("live database itself"), "{same}");
        let nodir = backup(&db, &dir.path().join("no/such/b.db"), false).unwrap_err();
        assert!(nodir.to_string().contains("does not exist"), "{nodir}");
        assert!(matches!(
            backup(&db, dir.path(), false),
            Err(BackupError::IsDirectory(_))
        ));
        // No temporary files are left behind.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.contains("partial")), "{names:?}");
    }

    #[test]
    fn restore_refuses_garbage_newer_schemas_and_a_running_service() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.db");
        std::fs::write(&garbage, b"not a database at all, just text").unwrap();
        let e = restore(&dir.path().join("data"), &garbage).unwrap_err();
        assert!(matches!(e, BackupError::NotJieneng(_)), "{e}");

        let src = dir.path().join("src");
        store_with(&src, 3);
        let good = dir.path().join("good.db");
        backup(&database_path(&src), &good, false).unwrap();
        let newer = dir.path().join("newer.db");
        std::fs::copy(&good, &newer).unwrap();
        Connection::open(&newer)
            .unwrap()
            .pragma_update(None, "user_version", schema_version() + 1)
            .unwrap();
        let e = restore(&dir.path().join("data"), &newer).unwrap_err();
        assert!(e.to_string().contains("newer jieneng"), "{e}");

        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let held = lock_data_dir(&data).unwrap();
        let e = restore(&data, &good).unwrap_err();
        assert!(e.to_string().contains("in use by a running jieneng"), "{e}");
        drop(held);
        store_with(&data, 7);
        let r = restore(&data, &good).unwrap();
        assert_eq!(r.register_readings, 3);
        let aside = r.replaced.unwrap();
        assert_eq!(
            SqliteStore::open(&aside)
                .unwrap()
                .reader()
                .unwrap()
                .counts()
                .unwrap(),
            (7, 0)
        );
    }
}
