//! `jieneng bench ledger`: recomputing a month of 15-minute intervals for many meters, and a
//! year of daily consumption for one building from the stored days.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, TimeZone};

use crate::energy::category::ELECTRICITY;
use crate::energy::ledger::{Ledger, Step, facts, quarters, refresh_all, register_quantity};
use crate::quantity::Quantity;
use crate::reading::{Reading, ReadingQuality};
use crate::site::Site;
use crate::store::SqliteStore;
use crate::store::ledger::RegisterData;

#[derive(clap::Args)]
pub struct Args {
    /// Meters recomputed for one month (target: < 1 s for 2,000).
    #[arg(long, default_value_t = 2000)]
    pub meters: usize,
    /// Meters of the building whose year of daily consumption is read (target: < 50 ms).
    #[arg(long, default_value_t = 20)]
    pub building_meters: usize,
}

/// A site of `buildings` × `per_building` Modbus meters (never polled here).
pub(crate) fn site(dir: &Path, buildings: usize, per_building: usize) -> anyhow::Result<Site> {
    let mut s = String::from(
        "[site]\nname = \"bench\"\ntimezone = \"Asia/Shanghai\"\n\n[[units]]\nid = \"org\"\nname = \"org\"\nkind = \"organisation\"\n",
    );
    for b in 0..buildings {
        let _ = write!(
            s,
            "\n[[units]]\nid = \"b{b}\"\nname = \"b{b}\"\nkind = \"building\"\nparent = \"org\"\n\n[[connections]]\nid = \"gw{b}\"\nurl = \"tcp://127.0.0.1:1\"\n"
        );
        for m in 0..per_building {
            let _ = write!(
                s,
                "\n[[meters]]\nid = \"b{b}-m{m}\"\nname = \"m\"\nunit = \"b{b}\"\ncategory = \"01000\"\nprofile = \"eastron-sdm630\"\nconnection = \"gw{b}\"\nslave_id = {}\nmultiplier = 40\nmax_power = 400\n",
                m % 247 + 1
            );
        }
    }
    Site::from_str(&dir.join("bench.toml"), &s).map_err(|e| anyhow::anyhow!("{e}"))
}

/// Writes 15-minute register readings for every meter over `days` days from `start`.
pub(crate) fn write_history(
    store: &SqliteStore,
    site: &Site,
    start: chrono::DateTime<chrono::Utc>,
    days: i64,
) -> anyhow::Result<usize> {
    let mut w = store.writer()?;
    let q = Quantity::named("energy_import_kwh");
    let mut n = 0;
    for (i, meter) in site.meters.iter().enumerate() {
        let id: Arc<str> = Arc::from(meter.id.as_str());
        let mut value = 1000.0 + i as f64;
        let batch: Vec<Reading> = (0..=days * 96)
            .map(|k| {
                // A daily shape: more by day than by night, in 0.01 kWh steps.
                let hour = (k % 96) / 4;
                value += if (8..20).contains(&hour) { 0.37 } else { 0.09 };
                value = (value * 100.0).round() / 100.0;
                Reading {
                    meter: id.clone(),
                    quantity: q,
                    time: start + Duration::minutes(15 * k),
                    value,
                    quality: ReadingQuality::Measured,
                }
            })
            .collect();
        n += batch.len();
        w.write_batch(&batch)?;
    }
    Ok(n)
}

pub fn bench_ledger(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let tz = chrono_tz::Asia::Shanghai;
    let local = |y, m, d| {
        tz.with_ymd_and_hms(y, m, d, 0, 0, 0)
            .single()
            .map(|t| t.with_timezone(&chrono::Utc))
            .ok_or_else(|| anyhow::anyhow!("bad date"))
    };

    // 1. One month of 15-minute intervals for many meters.
    let per = 100.min(args.meters.max(1));
    let site_m = site(dir.path(), args.meters.div_ceil(per), per)?;
    let store = SqliteStore::open(&dir.path().join("month.db"))?;
    let (from, to) = (local(2026, 10, 1)?, local(2026, 11, 1)?);
    let t = Instant::now();
    let written = write_history(&store, &site_m, from, 31)?;
    println!(
        "ledger: {} meters, {written} readings of one month written in {:.2} s",
        site_m.meters.len(),
        t.elapsed().as_secs_f64()
    );
    // Load (each thread its own reader) and compute, meters split over the cores.
    let q = Quantity::named("energy_import_kwh");
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = site_m.meters.len().div_ceil(threads);
    let run = |compute_only: Option<&Vec<RegisterData>>| -> anyhow::Result<(f64, usize)> {
        let t = Instant::now();
        let results: Vec<anyhow::Result<usize>> = std::thread::scope(|scope| {
            let handles: Vec<_> = site_m
                .meters
                .chunks(chunk)
                .enumerate()
                .map(|(i, meters)| {
                    let (site, store) = (&site_m, &store);
                    scope.spawn(move || -> anyhow::Result<usize> {
                        let reader = store.reader()?;
                        let mut n = 0;
                        for (k, m) in meters.iter().enumerate() {
                            let loaded;
                            let d = match compute_only {
                                Some(all) => &all[i * chunk + k],
                                None => {
                                    loaded = reader.register_around(
                                        &m.id,
                                        q,
                                        from,
                                        to,
                                        Duration::days(1),
                                    )?;
                                    &loaded
                                }
                            };
                            let (fine, _) = quarters(m, &facts(site, m, q), d, from, to);
                            n += std::hint::black_box(fine).len();
                        }
                        Ok(n)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .map_err(|_| anyhow::anyhow!("a bench thread panicked"))?
                })
                .collect()
        });
        let mut n = 0;
        for r in results {
            n += r?;
        }
        Ok((t.elapsed().as_secs_f64(), n))
    };
    let reader = store.reader()?;
    let mut data = Vec::new();
    for m in &site_m.meters {
        data.push(reader.register_around(&m.id, q, from, to, Duration::days(1))?);
    }
    let (compute_s, intervals) = run(Some(&data))?;
    drop(data);
    let (end_to_end_s, _) = run(None)?;
    println!(
        "ledger_month_compute: {intervals} intervals of {} meters on {threads} threads",
        site_m.meters.len()
    );
    println!(
        "ledger_month_recompute_s={compute_s:.3} target=1.0 ratio={:.2} (readings in memory)",
        compute_s / 1.0
    );
    println!(
        "ledger_month_recompute_from_store_s={end_to_end_s:.3} (reading the month's {written} readings from SQLite and computing)"
    );
    let t = Instant::now();
    let stored = refresh_all(&mut store.writer()?, &site_m, to + Duration::days(1))?;
    let refresh_s = t.elapsed().as_secs_f64();
    println!(
        "ledger_month_refresh_from_store_s={refresh_s:.3} (load + compute + store days of {stored} registers)"
    );

    // 2. A year of daily consumption for one building, from the stored days.
    let site_b = site(dir.path(), 1, args.building_meters)?;
    let store_b = SqliteStore::open(&dir.path().join("year.db"))?;
    let (year_from, year_to) = (local(2025, 11, 1)?, local(2026, 11, 1)?);
    let days = (year_to - year_from).num_days();
    let written = write_history(&store_b, &site_b, year_from, days)?;
    let t = Instant::now();
    refresh_all(&mut store_b.writer()?, &site_b, year_to + Duration::days(1))?;
    println!(
        "ledger: building of {} meters, {written} readings of a year; days stored in {:.2} s",
        site_b.meters.len(),
        t.elapsed().as_secs_f64()
    );
    let reader_b = store_b.reader()?;
    let ledger_b = Ledger::new(&reader_b, &site_b);
    let mut best = f64::MAX;
    let mut rows = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        rows = ledger_b.unit("b0", ELECTRICITY, year_from, year_to, Step::Day)?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    let t = Instant::now();
    let mut computed = Vec::new();
    for m in &site_b.meters {
        computed.push(ledger_b.meter(m, register_quantity(m), year_from, year_to, Step::Hour)?);
    }
    let hourly_s = t.elapsed().as_secs_f64();
    let hourly_total: rust_decimal::Decimal =
        computed.iter().flatten().map(|r| r.consumption).sum();
    let daily_total: rust_decimal::Decimal = rows.iter().map(|r| r.consumption).sum();
    println!(
        "ledger_year_daily_building: {} days; daily total {daily_total} kWh, from hourly {hourly_total} kWh (computed from readings in {hourly_s:.2} s)",
        rows.len()
    );
    println!(
        "ledger_year_daily_ms={:.1} target=50 ratio={:.3}",
        best * 1000.0,
        best * 1000.0 / 50.0
    );
    Ok(())
}
