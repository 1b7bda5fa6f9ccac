//! `jieneng bench billing`: a month's statements for many dormitory rooms, each with a free
//! quota carried over from earlier months (target: 3,000 rooms in < 2 s), and the same
//! statements as Excel and PDF.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, NaiveDate, TimeZone};

use crate::billing::book::month_statements;
use crate::energy::ledger::{Ledger, refresh_all};
use crate::quantity::Quantity;
use crate::reading::{Reading, ReadingQuality};
use crate::site::Site;
use crate::store::SqliteStore;
use crate::time::Month;

#[derive(clap::Args)]
pub struct Args {
    /// Dormitory rooms billed (target: < 2 s for 3,000).
    #[arg(long, default_value_t = 3000)]
    pub rooms: usize,
}

fn site(dir: &std::path::Path, rooms: usize) -> anyhow::Result<Site> {
    let mut s = String::from(
        "[site]\nname = \"bench\"\ntimezone = \"Asia/Shanghai\"\n\n[[units]]\nid = \"org\"\nname = \"宿舍区\"\nkind = \"organisation\"\n\n\
         [[connections]]\nid = \"gw\"\nurl = \"tcp://127.0.0.1:1\"\n\n\
         [[tariffs]]\nid = \"res\"\nname = \"居民电价\"\n[[tariffs.versions]]\nfrom = 2026-01-01\nprice = \"0.588\"\n[[tariffs.versions]]\nfrom = 2026-10-16\nprice = \"0.600\"\n",
    );
    for r in 0..rooms {
        let _ = write!(
            s,
            "\n[[meters]]\nid = \"r{r}\"\nname = \"{r}室\"\nunit = \"org\"\ncategory = \"01A00\"\nprofile = \"chint-ddsu666\"\nconnection = \"gw\"\nslave_id = {}\n# Read hourly.\nenergy_interval_min = 60\n\n\
             [[tenants]]\nid = \"r{r}\"\nname = \"{r}室\"\nkind = \"dormitory_room\"\noccupants = 4\nmeters = [{{ meter = \"r{r}\", tariff = \"res\" }}]\n\
             free_quota = {{ per_person = \"8\", months = [1, 2, 3, 4, 5, 6, 9, 10, 11, 12], carry_over = true, reset_months = [2, 9] }}\n",
            r % 247 + 1
        );
    }
    Site::from_str(&dir.join("bench.toml"), &s).map_err(|e| anyhow::anyhow!("{e}"))
}

pub fn bench_billing(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let tz = chrono_tz::Asia::Shanghai;
    let site = site(dir.path(), args.rooms)?;
    let store = SqliteStore::open(&dir.path().join("billing.db"))?;
    let from = tz
        .with_ymd_and_hms(2026, 9, 1, 0, 0, 0)
        .single()
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok_or_else(|| anyhow::anyhow!("bad date"))?;
    let hours = 61 * 24 + 2;
    let t = Instant::now();
    let q = Quantity::named("energy_import_kwh");
    let mut w = store.writer()?;
    let mut written = 0;
    for (i, m) in site.meters.iter().enumerate() {
        let id: Arc<str> = Arc::from(m.id.as_str());
        let mut value = 100.0 + i as f64;
        let batch: Vec<Reading> = (0..=hours)
            .map(|h| {
                let hour = h % 24;
                value += if (18..24).contains(&hour) { 0.6 } else { 0.05 }
                    * (1.0 + (i % 7) as f64 * 0.1);
                value = (value * 100.0).round() / 100.0;
                Reading {
                    meter: id.clone(),
                    quantity: q,
                    time: from + Duration::hours(h),
                    value,
                    quality: ReadingQuality::Measured,
                }
            })
            .collect();
        written += batch.len();
        w.write_batch(&batch)?;
    }
    let stored = refresh_all(&mut w, &site, from + Duration::days(62))?;
    println!(
        "billing: {} rooms, {written} hourly readings of September and October written and {stored} registers' days stored in {:.1} s",
        site.meters.len(),
        t.elapsed().as_secs_f64()
    );
    let reader = store.reader()?;
    let ledger = Ledger::new(&reader, &site);
    let october = Month::new(2026, 10).ok_or_else(|| anyhow::anyhow!("bad month"))?;
    let today = NaiveDate::from_ymd_opt(2026, 11, 3).ok_or_else(|| anyhow::anyhow!("bad date"))?;
    let t = Instant::now();
    let statements = month_statements(&ledger, &reader, &site, october, None, today)?;
    let secs = t.elapsed().as_secs_f64();
    let total: rust_decimal::Decimal = statements.iter().map(|s| s.total).sum();
    let lines: usize = statements.iter().map(|s| s.lines.len()).sum();
    let held = statements.iter().filter(|s| !s.holds.is_empty()).count();
    println!(
        "billing_statements_s={secs:.3} target=2.0 ratio={:.2} ({} statements, {lines} lines, {total} yuan, {held} held for review; free quota over 13 months, a price change on 16 October)",
        secs / 2.0,
        statements.len()
    );
    let t = Instant::now();
    let xlsx = crate::billing::xlsx::workbook(&statements, &site.billing)?;
    println!(
        "billing_xlsx_s={:.3} ({} KB, a sheet per room and a summary)",
        t.elapsed().as_secs_f64(),
        xlsx.len() / 1024
    );
    let t = Instant::now();
    let pdf =
        crate::billing::pdf::document(&statements, &site.billing).map_err(anyhow::Error::msg)?;
    println!(
        "billing_pdf_s={:.3} ({} KB, {} statements with the CJK font subset)",
        t.elapsed().as_secs_f64(),
        pdf.len() / 1024,
        statements.len()
    );
    Ok(())
}
