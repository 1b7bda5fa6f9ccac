//! Online backup while readings keep arriving, and restore into a fresh data directory:
//! the copy passes SQLite's integrity check, holds every reading committed before the backup
//! started, and opens through the normal store path after `jieneng restore`.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use jieneng::quantity::Quantity;
use jieneng::reading::{Reading, ReadingQuality};
use jieneng::runtime::Runtime;
use jieneng::site::Site;
use jieneng::store::SqliteStore;
use jieneng::store::schema::schema_version;
use jieneng::store::sqlite::database_path;

fn write_config(dir: &Path, data: &Path) -> std::path::PathBuf {
    let path = dir.join("jieneng.toml");
    std::fs::write(
        &path,
        format!(
            "[site]\nname = \"t\"\ndata_dir = \"{}\"\n\
             [[units]]\nid = \"o\"\nname = \"o\"\nkind = \"organisation\"\n\
             [[meters]]\nid = \"m1\"\nname = \"m1\"\nunit = \"o\"\ncategory = \"01000\"\nread_by_hand = \"energy_import_kwh\"\n",
            data.display()
        ),
    )
    .unwrap();
    path
}

/// Sixty days ago, in whole seconds (the store keeps milliseconds).
fn base() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp() - 60 * 86_400, 0).unwrap()
}

/// Reading number `k` of meter m1: one a second from `base`, values growing.
fn reading(base: DateTime<Utc>, k: u64) -> Reading {
    Reading {
        meter: Arc::from("m1"),
        quantity: Quantity::named("energy_import_kwh"),
        time: base + chrono::Duration::seconds(k as i64),
        value: k as f64 * 0.01,
        quality: ReadingQuality::Measured,
    }
}

fn integrity(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

fn readings_in(store: &SqliteStore, base: DateTime<Utc>, below: u64) -> usize {
    store
        .reader()
        .unwrap()
        .readings(
            "m1",
            Quantity::named("energy_import_kwh"),
            base,
            base + chrono::Duration::seconds(below as i64),
        )
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_restores_with_every_committed_reading() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = write_config(dir.path(), &data);
    let rt = Runtime::start(Site::load(&config).unwrap()).unwrap();
    let base = base();

    // History first, so the copy takes a while, then a writer that keeps going.
    const BATCH: u64 = 1000;
    let history = 300_000;
    for start in (0..history).step_by(BATCH as usize) {
        let batch = (start..start + BATCH).map(|k| reading(base, k)).collect();
        rt.ingest.accept_all(batch).await.unwrap();
    }
    rt.ingest.flush().await.unwrap();
    let committed = Arc::new(AtomicU64::new(history));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (ingest, committed, stop) = (rt.ingest.clone(), committed.clone(), stop.clone());
        tokio::spawn(async move {
            let mut next = history;
            while !stop.load(Ordering::Relaxed) {
                let batch = (next..next + BATCH).map(|k| reading(base, k)).collect();
                ingest.accept_all(batch).await.unwrap();
                ingest.flush().await.unwrap();
                next += BATCH;
                committed.store(next, Ordering::SeqCst);
            }
            next
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;

    let out = dir.path().join("backup.db");
    let before = committed.load(Ordering::SeqCst);
    let started = Instant::now();
    let report = {
        let (db, out) = (database_path(&data), out.clone());
        // Small steps, so the service commits between them many times.
        tokio::task::spawn_blocking(move || {
            jieneng::store::backup::backup_in_steps(&db, &out, false, 64)
        })
        .await
        .unwrap()
        .unwrap()
    };
    let took = started.elapsed();
    let during = committed.load(Ordering::SeqCst) - before;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let sent = writer.await.unwrap();
    eprintln!(
        "backup of {} readings: {} bytes in {took:?} ({} pages, {} steps); {during} readings committed meanwhile",
        report.register_readings, report.bytes, report.pages, report.steps
    );

    // No restart: commits between steps did not send the copy back to its first page.
    assert!(
        report.steps as i64 <= report.pages / 64 + 2,
        "{} steps for {} pages",
        report.steps,
        report.pages
    );
    // The copy: sound, current schema, every reading committed before it started.
    assert_eq!(integrity(&out), "ok");
    assert_eq!(report.schema_version, schema_version());
    assert!(
        report.register_readings >= before,
        "{} < {before}",
        report.register_readings
    );
    assert!(report.register_readings <= sent);
    assert!(!Path::new(&format!("{}-wal", out.display())).exists());
    // Collection went on: everything sent is in the live store.
    assert_eq!(readings_in(&rt.store, base, sent) as u64, sent);

    // Restore is refused while the service holds the data directory.
    let exe = env!("CARGO_BIN_EXE_jieneng");
    let refused = Command::new(exe)
        .args(["restore", "--config"])
        .arg(&config)
        .arg("--from")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("in use by a running jieneng"), "{stderr}");
    rt.shutdown().await;

    // Restore into a fresh data directory, then start the service on it.
    let other = dir.path().join("restored");
    std::fs::create_dir_all(&other).unwrap();
    let restored_data = other.join("data");
    let restored_config = write_config(&other, &restored_data);
    let done = Command::new(exe)
        .args(["restore", "--config"])
        .arg(&restored_config)
        .arg("--from")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(stdout.contains("there was no database before"), "{stdout}");
    assert!(
        stdout.contains(&format!("{} register readings", report.register_readings)),
        "{stdout}"
    );
    let rt = Runtime::start(Site::load(&restored_config).unwrap()).unwrap();
    assert_eq!(
        readings_in(&rt.store, base, sent) as u64,
        report.register_readings
    );
    // A contiguous prefix: reading k is there for every k below the count.
    assert_eq!(
        readings_in(&rt.store, base, report.register_readings) as u64,
        report.register_readings
    );
    let latest = rt
        .store
        .reader()
        .unwrap()
        .latest("m1", Quantity::named("energy_import_kwh"))
        .unwrap()
        .unwrap();
    assert_eq!(
        latest.time,
        reading(base, report.register_readings - 1).time
    );
    rt.shutdown().await;
}

#[test]
fn the_backup_command_reports_what_it_wrote_and_keeps_existing_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = write_config(dir.path(), &data);
    let store = SqliteStore::open(&database_path(&data)).unwrap();
    let base = base();
    store
        .writer()
        .unwrap()
        .write_batch(&(0..5000).map(|k| reading(base, k)).collect::<Vec<_>>())
        .unwrap();
    let exe = env!("CARGO_BIN_EXE_jieneng");
    let out = dir.path().join("b.db");
    let run = |force: bool| {
        let mut c = Command::new(exe);
        c.args(["backup", "--config"])
            .arg(&config)
            .arg("--out")
            .arg(&out);
        if force {
            c.arg("--force");
        }
        c.output().unwrap()
    };
    let first = run(false);
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(first.status.success(), "{stdout}");
    assert!(stdout.contains("backup written:"), "{stdout}");
    assert!(stdout.contains("5000 register readings"), "{stdout}");
    assert!(
        stdout.contains(&format!("schema    version {}", schema_version())),
        "{stdout}"
    );
    assert!(stdout.contains("integrity_check: ok"), "{stdout}");

    let again = run(false);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("already exists; use --force") && stderr.contains("b.db"),
        "{stderr}"
    );
    assert!(run(true).status.success());

    // Restoring over an existing database keeps that one aside.
    store
        .writer()
        .unwrap()
        .write_batch(&(5000..6000).map(|k| reading(base, k)).collect::<Vec<_>>())
        .unwrap();
    drop(store);
    let restore = Command::new(exe)
        .args(["restore", "--config"])
        .arg(&config)
        .arg("--from")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&restore.stdout);
    assert!(restore.status.success(), "{stdout}");
    assert!(stdout.contains("is kept as"), "{stdout}");
    let store = SqliteStore::open(&database_path(&data)).unwrap();
    assert_eq!(readings_in(&store, base, 10_000), 5000);
    let aside: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("jieneng.db.replaced-")
                && !name.ends_with("-wal")
                && !name.ends_with("-shm")
        })
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(
        readings_in(&SqliteStore::open(&aside[0]).unwrap(), base, 10_000),
        6000
    );
}
