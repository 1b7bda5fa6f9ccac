//! `jieneng bench modbus`: poll-cycle time of many RTU gateways against the bus-time bound.
//!
//! Simulated RTU-over-TCP gateways run in-process, each with its devices answering after a
//! fixed turnaround (plus serial wire time with `--baud`). A cycle reads every device once
//! (its energy and live blocks), all buses in parallel, through the same scheduler policy and
//! transport as production. The bound is, per bus, the sum of its requests' exchange times;
//! the slowest bus sets it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::collect::modbus::poller::{PollKind, Wire, devices_of, poll_cycle};
use crate::collect::modbus::transport::Bus;
use crate::health::Health;
use crate::ingest::{Ingest, LiveState};
use crate::sim::modbus_server::{
    Fault, ServerOptions, SimUnit, exchange_time, serve_measured, serve_with,
};
use crate::site::Site;
use crate::store::SqliteStore;
use crate::store::writer::spawn_writer;

#[derive(clap::Args, Clone)]
pub struct Args {
    #[arg(long, default_value_t = 20)]
    pub gateways: usize,
    #[arg(long, default_value_t = 30)]
    pub devices: usize,
    /// Device turnaround per request.
    #[arg(long, default_value_t = 20)]
    pub turnaround_ms: u64,
    /// Emulate serial wire time at this speed (8E1); none by default.
    #[arg(long)]
    pub baud: Option<u32>,
    /// Timeout per request.
    #[arg(long, default_value_t = 200)]
    pub timeout_ms: u64,
    /// Measured cycles per run (after one warm-up cycle).
    #[arg(long, default_value_t = 10)]
    pub cycles: usize,
}

/// A meter with 2 energy registers (u32) and 10 live registers (u16), contiguous.
const BENCH_PROFILE: &str = r#"
model = "Bench meter"
manufacturer = "jieneng"
manual = "synthetic register map for the poll-cycle benchmark"
[modbus]
function = 3
timeout_ms = 200
[[registers]]
quantity = "energy_import_kwh"
address = 0
type = "u32"
scale = 0.01
[[registers]]
quantity = "energy_export_kwh"
address = 2
type = "u32"
scale = 0.01
[[registers]]
quantity = "voltage_l1_v"
address = 100
type = "u16"
scale = 0.1
[[registers]]
quantity = "voltage_l2_v"
address = 101
type = "u16"
scale = 0.1
[[registers]]
quantity = "voltage_l3_v"
address = 102
type = "u16"
scale = 0.1
[[registers]]
quantity = "current_l1_a"
address = 103
type = "u16"
scale = 0.01
[[registers]]
quantity = "current_l2_a"
address = 104
type = "u16"
scale = 0.01
[[registers]]
quantity = "current_l3_a"
address = 105
type = "u16"
scale = 0.01
[[registers]]
quantity = "power_kw"
address = 106
type = "i16"
scale = 0.01
[[registers]]
quantity = "reactive_power_kvar"
address = 107
type = "i16"
scale = 0.01
[[registers]]
quantity = "power_factor"
address = 108
type = "i16"
scale = 0.001
[[registers]]
quantity = "frequency_hz"
address = 109
type = "u16"
scale = 0.01
"#;

struct Run {
    cycle_ms: f64,
    /// Σ of the device time actually spent per cycle on the slowest bus.
    bound_ms: f64,
    /// The same from the nominal turnaround and wire time.
    nominal_ms: f64,
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Writes a site with `gateways` × `devices` meters on the given ports, and loads it.
fn bench_site(
    dir: &std::path::Path,
    ports: &[u16],
    devices: usize,
    timeout_ms: u64,
) -> anyhow::Result<Site> {
    std::fs::create_dir_all(dir.join("profiles"))?;
    std::fs::write(dir.join("profiles/bench-meter.toml"), BENCH_PROFILE)?;
    let mut c = String::from(
        "[site]\nname = \"bench\"\ndata_dir = \"data\"\nprofile_dirs = [\"profiles\"]\n[[units]]\nid = \"o\"\nname = \"o\"\nkind = \"organisation\"\n",
    );
    for (g, port) in ports.iter().enumerate() {
        c.push_str(&format!("[[connections]]\nid = \"gw{g}\"\nurl = \"rtu-tcp://127.0.0.1:{port}\"\ntimeout_ms = {timeout_ms}\n"));
        for d in 1..=devices {
            c.push_str(&format!(
                "[[meters]]\nid = \"gw{g}-m{d}\"\nname = \"m\"\nunit = \"o\"\ncategory = \"01000\"\nprofile = \"bench-meter\"\nconnection = \"gw{g}\"\nslave_id = {d}\n"
            ));
        }
    }
    let path = dir.join("bench.toml");
    std::fs::write(&path, c)?;
    Site::load(&path).map_err(|e| anyhow::anyhow!("{e}"))
}

async fn run(args: &Args, dead_share: f64, dir: &std::path::Path) -> anyhow::Result<Run> {
    let options = ServerOptions {
        rtu_over_tcp: true,
        turnaround: Duration::from_millis(args.turnaround_ms),
        baud: args.baud,
    };
    let cancel = CancellationToken::new();
    let mut listeners = Vec::new();
    for _ in 0..args.gateways {
        listeners.push(TcpListener::bind("127.0.0.1:0").await?);
    }
    let ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()?;
    let site = bench_site(dir, &ports, args.devices, args.timeout_ms)?;
    let profile = site.profiles.get("bench-meter").expect("written above");
    let dead_per_bus = (args.devices as f64 * dead_share).round() as usize;
    let mut busy = Vec::new();
    for listener in listeners {
        let units: HashMap<u8, SimUnit> = (1..=args.devices as u8)
            .map(|u| {
                let mut unit = super::simulate::sim_unit(&profile, u);
                // Dead devices spread over the bus, not bunched at the end.
                if dead_per_bus > 0 && (u as usize).is_multiple_of(args.devices / dead_per_bus) {
                    unit.fault = Some(Fault::Silent);
                }
                (u, unit)
            })
            .collect();
        let busy_ns = Arc::new(AtomicU64::new(0));
        busy.push(busy_ns.clone());
        tokio::spawn(serve_measured(
            listener,
            units,
            options,
            busy_ns,
            cancel.clone(),
        ));
    }

    let store = SqliteStore::open(&dir.join("data/bench.db"))?;
    let (tx, rx) = mpsc::channel(256);
    let health = Arc::new(Health::new());
    let writer = spawn_writer(store, rx, 7, health.clone())?;
    let ingest =
        Ingest::new(&site, Arc::new(LiveState::for_site(&site)), tx).with_health(health.clone());

    // Nominal bound: per bus, the exchange time of every request of its live devices.
    let mut nominal = Duration::ZERO;
    let mut tasks = Vec::new();
    for (conn, busy_ns) in site.connections.clone().into_iter().zip(busy) {
        let mut devices = devices_of(&site, &conn);
        let per_bus: Duration = devices
            .iter()
            .filter(|d| {
                dead_per_bus == 0
                    || !(d.slave().unwrap_or(0) as usize)
                        .is_multiple_of(args.devices / dead_per_bus)
            })
            .flat_map(|d| {
                [PollKind::Energy, PollKind::Live]
                    .into_iter()
                    .flat_map(move |k| d.modbus_plan(k).iter().map(|b| b.count))
                    .collect::<Vec<_>>()
            })
            .map(|count| exchange_time(count, &options))
            .sum();
        nominal = nominal.max(per_bus);
        let (ingest, health, cycles) = (ingest.clone(), health.clone(), args.cycles);
        tasks.push(tokio::spawn(async move {
            let mut bus: Option<Wire> = None;
            // Warm-up: connect, and find the dead devices (they go into back-off).
            poll_cycle(&conn, &mut bus, &mut devices, &ingest, &health).await;
            let busy_before = busy_ns.load(Ordering::Relaxed);
            let t = Instant::now();
            for _ in 0..cycles {
                poll_cycle(&conn, &mut bus, &mut devices, &ingest, &health).await;
            }
            let elapsed = t.elapsed();
            let device_time = Duration::from_nanos(busy_ns.load(Ordering::Relaxed) - busy_before);
            if let Some(b) = bus {
                b.close().await;
            }
            (elapsed, device_time)
        }));
    }
    // The bound: the slowest bus's device time, as the simulated devices actually took it
    // (timer granularity makes a 20 ms turnaround take a little longer than 20 ms).
    let mut slowest = Duration::ZERO;
    let mut bound = Duration::ZERO;
    for t in tasks {
        let (elapsed, device_time) = t.await?;
        slowest = slowest.max(elapsed);
        bound = bound.max(device_time);
    }
    let bound = bound / args.cycles as u32;
    cancel.cancel();
    drop(ingest);
    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    Ok(Run {
        cycle_ms: slowest.as_secs_f64() * 1000.0 / args.cycles as f64,
        bound_ms: bound.as_secs_f64() * 1000.0,
        nominal_ms: nominal.as_secs_f64() * 1000.0,
    })
}

/// Reads per second from one device at zero latency over loopback.
async fn loopback_throughput(dir: &std::path::Path) -> anyhow::Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let site = bench_site(dir, &[port], 1, 1000)?;
    let profile = site.profiles.get("bench-meter").expect("written above");
    let cancel = CancellationToken::new();
    let units = HashMap::from([(1u8, super::simulate::sim_unit(&profile, 1))]);
    tokio::spawn(serve_with(
        listener,
        units,
        ServerOptions {
            rtu_over_tcp: true,
            ..Default::default()
        },
        cancel.clone(),
    ));
    let conn = &site.connections[0];
    let devices = devices_of(&site, conn);
    let block = devices[0].modbus_plan(PollKind::Live)[0].clone();
    let mut bus = Bus::open(&conn.url, Duration::from_secs(3), Duration::ZERO)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let t = Instant::now();
    let mut reads = 0u64;
    while t.elapsed() < Duration::from_secs(2) {
        bus.read(1, &block, Duration::from_secs(1)).await?;
        reads += 1;
    }
    bus.close().await;
    cancel.cancel();
    Ok(reads as f64 / t.elapsed().as_secs_f64())
}

pub async fn bench_modbus(args: Args) -> anyhow::Result<()> {
    let base = std::env::temp_dir().join(format!("jieneng-bench-modbus-{}", std::process::id()));
    let rss_before = rss_kib();
    let alive = run(&args, 0.0, &base.join("alive")).await?;
    let rss_after = rss_kib();
    let dead = run(&args, 0.1, &base.join("dead")).await?;
    let throughput = loopback_throughput(&base.join("loopback")).await?;
    let _ = std::fs::remove_dir_all(&base);
    let devices = args.gateways * args.devices;
    println!(
        "modbus: {} RTU-over-TCP gateways × {} devices, {} ms turnaround{}, 2 requests per device per cycle, {} cycles",
        args.gateways,
        args.devices,
        args.turnaround_ms,
        args.baud
            .map(|b| format!(", {b} baud wire time"))
            .unwrap_or_default(),
        args.cycles
    );
    println!(
        "  all devices alive: cycle {:.1} ms, bound {:.1} ms (nominal {:.1} ms)",
        alive.cycle_ms, alive.bound_ms, alive.nominal_ms
    );
    println!(
        "  10% of devices dead: cycle {:.1} ms, bound for the live ones {:.1} ms (nominal {:.1} ms)",
        dead.cycle_ms, dead.bound_ms, dead.nominal_ms
    );
    println!("  loopback, zero latency: {throughput:.0} reads/s on one bus");
    println!(
        "  memory: {:.1} MiB RSS growth for {devices} devices with their buses, store and ingest ({:.1} MiB per 1,000 devices)",
        rss_after.saturating_sub(rss_before) as f64 / 1024.0,
        rss_after.saturating_sub(rss_before) as f64 / 1024.0 / devices as f64 * 1000.0
    );
    println!(
        "bound_ms={:.1} cycle_ms={:.1} ratio={:.3} dead_ratio={:.3}",
        alive.bound_ms,
        alive.cycle_ms,
        alive.cycle_ms / alive.bound_ms,
        dead.cycle_ms / alive.cycle_ms
    );
    Ok(())
}
