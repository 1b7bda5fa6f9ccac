//! `jieneng bench`: figures for the performance targets, printed as numbers and ratios.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};

use crate::collect::modbus::decode::{decode, encode};
use crate::config::ProfileLibrary;
use crate::quantity::Quantity;
use crate::reading::{Reading, ReadingQuality};
use crate::store::SqliteStore;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(clap::Subcommand)]
pub enum What {
    /// Register decoding rate over every built-in profile (target ≥ 10 million values/s).
    Decode,
    /// Batched store writes (target ≥ 200,000 readings/s).
    Store {
        #[arg(long, default_value_t = 1_000_000)]
        readings: usize,
    },
    /// Modbus poll cycle of many RTU gateways against the bus-time bound (targets: ratio ≤ 1.05,
    /// dead_ratio ≤ 1.10).
    Modbus(super::bench_modbus::Args),
    /// DL/T 645 poll cycle of many RS-485 lines at 2400 baud against the bus-time bound
    /// (targets: ratio ≤ 1.05 all alive, ≤ 1.10 with 10% of meters dead).
    Dlt645(super::bench_dlt645::Args),
    /// MQTT messages per second into the store against the broker's ceiling (target ≥ 30,000
    /// and ≥ 0.8 of the ceiling); line-protocol encoding; spool write and replay.
    Mqtt(super::bench_mqtt::Args),
    /// Ledger: recompute a month of 15-minute intervals for 2,000 meters (target < 1 s) and
    /// read a year of daily consumption for a building (target < 50 ms).
    Ledger(super::bench_ledger::Args),
    /// Billing: a month's statements for 3,000 dormitory rooms with free quotas (target < 2 s),
    /// then as Excel and PDF.
    Billing(super::bench_billing::Args),
    /// The monthly report for 2,000 meters (target < 2 s) and the overview page's server time
    /// (target < 100 ms).
    Report(super::bench_report::Args),
    /// Charts: each kind rendered as SVG and as PNG (target < 50 ms a chart).
    Chart(super::bench_chart::Args),
    /// Demo start-up: time to answer /healthz (target < 5 s) and to have 13 months of history
    /// in place (target < 30 s).
    Demo,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.what {
        What::Decode => bench_decode(),
        What::Store { readings } => bench_store(readings),
        What::Demo => bench_demo().await?,
        What::Modbus(a) => super::bench_modbus::bench_modbus(a).await?,
        What::Dlt645(a) => super::bench_dlt645::bench_dlt645(a).await?,
        What::Mqtt(a) => super::bench_mqtt::bench_mqtt(a).await?,
        What::Ledger(a) => super::bench_ledger::bench_ledger(a)?,
        What::Billing(a) => super::bench_billing::bench_billing(a)?,
        What::Report(a) => super::bench_report::bench_report(a).await?,
        What::Chart(a) => super::bench_chart::bench_chart(a)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn bench_decode() {
    let lib = ProfileLibrary::builtin();
    let mut cases = Vec::new();
    for name in lib.names() {
        let p = lib.get(name).expect("listed");
        for spec in &p.registers {
            cases.push((encode(1234.5, spec), spec.clone()));
        }
    }
    let rounds = 200_000;
    let t = Instant::now();
    let mut sum = 0.0;
    for _ in 0..rounds {
        for (words, spec) in &cases {
            sum += decode(std::hint::black_box(words), spec).unwrap_or(0.0);
        }
    }
    let n = rounds * cases.len();
    let rate = n as f64 / t.elapsed().as_secs_f64();
    std::hint::black_box(sum);
    println!(
        "decode: {n} values over {} register specs in {:.2} s",
        cases.len(),
        t.elapsed().as_secs_f64()
    );
    println!(
        "decode_values_per_s={rate:.0} target=10000000 ratio={:.2}",
        rate / 10_000_000.0
    );
}

fn bench_store(n: usize) {
    let dir = tempfile_dir();
    let store = SqliteStore::open(&dir.join("bench.db")).expect("open store");
    let mut writer = store.writer().expect("writer");
    let meters: Vec<Arc<str>> = (0..2000).map(|i| Arc::from(format!("m{i}"))).collect();
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let readings: Vec<Reading> = (0..n)
        .map(|i| Reading {
            meter: meters[i % meters.len()].clone(),
            quantity: if i % 2 == 0 {
                Quantity::named("energy_import_kwh")
            } else {
                Quantity::named("power_kw")
            },
            time: t0 + Duration::seconds((i / meters.len()) as i64 * 15),
            value: i as f64 * 0.01,
            quality: ReadingQuality::Measured,
        })
        .collect();
    let t = Instant::now();
    for batch in readings.chunks(20_000) {
        writer.write_batch(batch).expect("write");
    }
    let secs = t.elapsed().as_secs_f64();
    let rate = n as f64 / secs;
    println!("store: {n} readings (2,000 meters, half registers, half telemetry) in {secs:.2} s");
    println!(
        "store_readings_per_s={rate:.0} target=200000 ratio={:.2}",
        rate / 200_000.0
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("jieneng-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

async fn bench_demo() -> anyhow::Result<()> {
    use std::sync::atomic::Ordering;
    let dir = tempfile_dir();
    let t = Instant::now();
    let args = crate::cli::demo::Args::new("127.0.0.1:0", dir.join("demo"));
    let demo = crate::cli::demo::start(&args).await?;
    let health_url = format!("http://{}/healthz", demo.http_addr);
    // The first answer to /healthz, over a real socket.
    loop {
        if healthz_answers(demo.http_addr).await {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let healthz_s = t.elapsed().as_secs_f64();
    while !demo.runtime.history_ready.load(Ordering::Relaxed) {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let history_s = t.elapsed().as_secs_f64();
    let store = demo.runtime.store.clone();
    demo.runtime.shutdown().await;
    let (registers, telemetry) = store.reader()?.counts()?;
    println!(
        "demo: {health_url} listening after {healthz_s:.2} s; history in place after {history_s:.2} s ({registers} register readings, {telemetry} telemetry rows)"
    );
    println!(
        "demo_healthz_s={healthz_s:.2} target=5 ratio={:.2} demo_history_s={history_s:.2} target=30 ratio={:.2}",
        healthz_s / 5.0,
        history_s / 30.0
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn healthz_answers(addr: std::net::SocketAddr) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return false;
    };
    if stream
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: bench\r\n\r\n")
        .await
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer).await;
    answer.starts_with("HTTP/1.0 200") && answer.contains("\"status\":\"ok\"")
}
