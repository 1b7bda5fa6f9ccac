//! `jieneng bench dlt645`: poll-cycle time of many DL/T 645 lines against the bus-time bound.
//!
//! Simulated transparent gateways run in-process (`sim::line_server`), each with single-phase
//! DL/T 645-2007 meters answering after a fixed turnaround, with the wire time of every byte
//! at the line's baud rate (8E1). A cycle reads every meter once (its energy block and its
//! live identifiers), all lines in parallel, through the production scheduler policy and line
//! link. The bound is, per line, the sum of its exchanges' wire time and turnaround; the
//! slowest line sets it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::collect::dlt645::frame::{Address, DataId, read_request};
use crate::collect::modbus::poller::{Wire, devices_of, poll_cycle};
use crate::config::line_profile::{LineProfileLibrary, LineValue};
use crate::health::Health;
use crate::ingest::{Ingest, LiveState};
use crate::sim::line_server::{Dlt645Meter, LineMeters, LineOptions, line_meter, serve_line};
use crate::sim::meter::Medium;
use crate::sim::modbus_server::wire_time;
use crate::site::Site;
use crate::store::SqliteStore;
use crate::store::writer::spawn_writer;

const PROFILE: &str = "dlt645-2007-single-phase";

#[derive(clap::Args, Clone)]
pub struct Args {
    #[arg(long, default_value_t = 20)]
    pub gateways: usize,
    #[arg(long, default_value_t = 30)]
    pub meters: usize,
    /// Meter turnaround per request.
    #[arg(long, default_value_t = 20)]
    pub turnaround_ms: u64,
    /// The lines' speed (8E1).
    #[arg(long, default_value_t = 2400)]
    pub baud: u32,
    /// Timeout per request.
    #[arg(long, default_value_t = 1000)]
    pub timeout_ms: u64,
    /// Measured cycles per run (after one warm-up cycle).
    #[arg(long, default_value_t = 2)]
    pub cycles: usize,
}

struct Run {
    cycle_s: f64,
    bound_s: f64,
    /// Live meters with every value read, of all live meters.
    read: (usize, usize),
}

fn address(gateway: usize, meter: usize) -> String {
    format!("2023{gateway:04}{meter:04}")
}

fn dead(meter: usize, meters: usize, share: f64) -> bool {
    let per_line = (meters as f64 * share).round() as usize;
    // Spread over the line, not bunched at the end.
    per_line > 0 && meter.is_multiple_of(meters / per_line)
}

/// Bytes of a reply to a read of `id` carrying `data` value bytes: preamble, header, the
/// identifier, the values, checksum and end.
fn reply_len(data: usize) -> usize {
    4 + 10 + 4 + data + 2
}

async fn run(args: &Args, dead_share: f64, dir: &std::path::Path) -> anyhow::Result<Run> {
    let profile = LineProfileLibrary::builtin()
        .get(PROFILE)
        .ok_or_else(|| anyhow::anyhow!("no profile {PROFILE}"))?;
    let options = LineOptions {
        turnaround: Duration::from_millis(args.turnaround_ms),
        baud: Some(args.baud),
    };
    let cancel = CancellationToken::new();
    let mut config = String::from(
        "[site]\nname = \"bench\"\ndata_dir = \"data\"\n[[units]]\nid = \"o\"\nname = \"o\"\nkind = \"organisation\"\n",
    );
    for g in 0..args.gateways {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        config.push_str(&format!(
            "[[connections]]\nid = \"line{g}\"\nurl = \"rtu-tcp://127.0.0.1:{port}\"\nprotocol = \"dlt645\"\ntimeout_ms = {}\n",
            args.timeout_ms
        ));
        let mut meters = Vec::new();
        for m in 1..=args.meters {
            config.push_str(&format!(
                "[[meters]]\nid = \"l{g}-m{m}\"\nname = \"m\"\nunit = \"o\"\ncategory = \"01A00\"\nprofile = \"{PROFILE}\"\nconnection = \"line{g}\"\naddress = \"{}\"\n",
                address(g, m)
            ));
            meters.push(Dlt645Meter {
                address: address(g, m).parse().map_err(|e| anyhow::anyhow!("{e}"))?,
                profile: profile.clone(),
                meter: line_meter(Medium::Electricity1, (g * 1000 + m) as u64),
                dead: dead(m, args.meters, dead_share),
            });
        }
        tokio::spawn(serve_line(
            listener,
            LineMeters::Dlt645(meters),
            options,
            cancel.clone(),
        ));
    }
    std::fs::create_dir_all(dir)?;
    let path = dir.join("bench.toml");
    std::fs::write(&path, config)?;
    let site = Site::load(&path).map_err(|e| anyhow::anyhow!("{e}"))?;

    // One meter's exchanges per cycle: each value's request and reply on the wire, plus the
    // meter's turnaround.
    let any: Address = address(0, 1).parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let per_meter: Duration = profile
        .values
        .iter()
        .filter_map(|v| match v {
            LineValue::Dlt645 {
                id,
                quantities,
                format,
            } => Some((*id, format.bytes * quantities.len())),
            LineValue::Cjt188 { .. } => None,
        })
        .map(|(id, data): (DataId, usize)| {
            wire_time(read_request(&any, id).len(), args.baud)
                + options.turnaround
                + wire_time(reply_len(data), args.baud)
        })
        .sum();
    let live_meters = (1..=args.meters)
        .filter(|m| !dead(*m, args.meters, dead_share))
        .count();
    let bound = per_meter * live_meters as u32;

    std::fs::create_dir_all(dir.join("data"))?;
    let store = SqliteStore::open(&dir.join("data/bench.db"))?;
    let (tx, rx) = mpsc::channel(256);
    let health = Arc::new(Health::new());
    let writer = spawn_writer(store, rx, 7, health.clone())?;
    let live = Arc::new(LiveState::for_site(&site));
    let ingest = Ingest::new(&site, live.clone(), tx).with_health(health.clone());
    let mut tasks = Vec::new();
    for conn in site.connections.clone() {
        let mut devices = devices_of(&site, &conn);
        let (ingest, health, cycles) = (ingest.clone(), health.clone(), args.cycles);
        tasks.push(tokio::spawn(async move {
            let mut bus: Option<Wire> = None;
            // Warm-up: connect, and find the dead meters (they go into back-off).
            poll_cycle(&conn, &mut bus, &mut devices, &ingest, &health).await;
            let t = Instant::now();
            for _ in 0..cycles {
                poll_cycle(&conn, &mut bus, &mut devices, &ingest, &health).await;
            }
            let elapsed = t.elapsed();
            if let Some(b) = bus {
                b.close().await;
            }
            elapsed
        }));
    }
    let mut slowest = Duration::ZERO;
    for t in tasks {
        slowest = slowest.max(t.await?);
    }
    cancel.cancel();
    let all = profile
        .values
        .iter()
        .flat_map(LineValue::quantities)
        .count();
    let mut read = 0;
    for g in 0..args.gateways {
        for m in (1..=args.meters).filter(|m| !dead(*m, args.meters, dead_share)) {
            if live
                .get(&format!("l{g}-m{m}"))
                .is_some_and(|l| l.values.len() == all)
            {
                read += 1;
            }
        }
    }
    drop(ingest);
    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
    Ok(Run {
        cycle_s: slowest.as_secs_f64() / args.cycles as f64,
        bound_s: bound.as_secs_f64(),
        read: (read, args.gateways * live_meters),
    })
}

pub async fn bench_dlt645(args: Args) -> anyhow::Result<()> {
    let base = std::env::temp_dir().join(format!("jieneng-bench-dlt645-{}", std::process::id()));
    let alive = run(&args, 0.0, &base.join("alive")).await?;
    let dead = run(&args, 0.1, &base.join("dead")).await?;
    let _ = std::fs::remove_dir_all(&base);
    println!(
        "dlt645: {} lines × {} meters ({PROFILE}), {} baud 8E1, {} ms turnaround, {} cycles",
        args.gateways, args.meters, args.baud, args.turnaround_ms, args.cycles
    );
    for (what, r, target) in [
        ("all meters alive", &alive, 1.05),
        ("10% of meters dead", &dead, 1.10),
    ] {
        println!(
            "  {what}: cycle {:.2} s, bound {:.2} s for the live meters, ratio {:.3} (target ≤ {target}); live meters fully read {}/{}",
            r.cycle_s,
            r.bound_s,
            r.cycle_s / r.bound_s,
            r.read.0,
            r.read.1
        );
    }
    Ok(())
}
