//! Graceful shutdown flushes every buffer: readings accepted just before `Runtime::shutdown`
//! (still queued for the store writer and the InfluxDB sink) are all in the store and in the
//! InfluxDB spool afterwards, and an open live-events page does not hold the shutdown up.

mod common;

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use jieneng::quantity::Quantity;
use jieneng::reading::{Reading, ReadingQuality};
use jieneng::runtime::Runtime;
use jieneng::site::Site;
use jieneng::store::SqliteStore;
use jieneng::store::influx::spool::Spool;
use jieneng::store::sqlite::database_path;

const BATCHES: i64 = 300;
const PER_BATCH: i64 = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_writes_everything_accepted_to_the_store_and_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let spool_dir = dir.path().join("spool");
    let nobody = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!(
        "[site]\nname = \"t\"\ndata_dir = \"{}\"\n\
         [influx]\nurl = \"http://127.0.0.1:{nobody}\"\norg = \"o\"\nbucket = \"b\"\nspool_dir = \"{}\"\n\
         [[units]]\nid = \"o\"\nname = \"o\"\nkind = \"organisation\"\n\
         [[meters]]\nid = \"m1\"\nname = \"m1\"\nunit = \"o\"\ncategory = \"01000\"\nread_by_hand = \"energy_import_kwh\"\n",
        data.display(),
        spool_dir.display()
    );
    let path = dir.path().join("jieneng.toml");
    std::fs::write(&path, config).unwrap();
    let mut rt = Runtime::start(Site::load(&path).unwrap()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    rt.serve_http(listener);
    let token = common::token_for(&rt.app_state(), jieneng::auth::Role::Engineer);
    // A live page stays open through the shutdown.
    let live = reqwest::Client::new()
        .get(format!("{base}/api/v1/live"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);

    // The writer falls behind (another transaction holds the database), as on a slow disk.
    let blocker = rusqlite::Connection::open(database_path(&data)).unwrap();
    blocker.busy_timeout(Duration::from_secs(10)).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let t0 = DateTime::from_timestamp(Utc::now().timestamp() - 20 * 86_400, 0).unwrap();
    for b in 0..BATCHES {
        let batch = (0..PER_BATCH)
            .map(|i| Reading {
                meter: Arc::from("m1"),
                quantity: Quantity::named("energy_import_kwh"),
                time: t0 + chrono::Duration::seconds(b * PER_BATCH + i),
                value: (b * PER_BATCH + i) as f64,
                quality: ReadingQuality::Measured,
            })
            .collect();
        rt.ingest.accept_all(batch).await.unwrap();
    }
    // Accepted, not yet written: the shutdown has to do it.
    let queued = rt.health.store_queue();
    assert!(queued >= (BATCHES - 1) * PER_BATCH, "{queued} queued");
    blocker.execute_batch("ROLLBACK").unwrap();
    drop(blocker);
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(60), rt.shutdown())
        .await
        .expect("shutdown hangs");
    let took = started.elapsed();
    eprintln!("shutdown drained {queued} queued readings in {took:?}");
    drop(live);

    let total = (BATCHES * PER_BATCH) as usize;
    let stored = SqliteStore::open(&database_path(&data))
        .unwrap()
        .reader()
        .unwrap()
        .readings("m1", Quantity::named("energy_import_kwh"), t0, Utc::now())
        .unwrap()
        .len();
    assert_eq!(stored, total);

    // Every line is in the spool, waiting for the server.
    let mut spool = Spool::open(&spool_dir, u64::MAX).unwrap();
    let mut lines = 0;
    while let Some(record) = spool.peek().unwrap() {
        let mut text = String::new();
        flate2::read::GzDecoder::new(&record.payload[..])
            .read_to_string(&mut text)
            .unwrap();
        lines += text.lines().filter(|l| l.contains("meter=m1")).count();
        spool.commit(&record).unwrap();
    }
    assert_eq!(lines, total);
}
