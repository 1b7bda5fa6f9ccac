//! `jieneng bench report`: the committee's monthly report for 2,000 meters (target < 2 s, from
//! stored days: contents, HTML, PDF, Excel) and the overview page's server time for the same
//! site (target < 100 ms).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use chrono::{Duration, TimeZone};

use super::bench_ledger::{site, write_history};
use crate::energy::ledger::{Ledger, refresh_all};
use crate::store::SqliteStore;
use crate::time::Month;

#[derive(clap::Args)]
pub struct Args {
    /// Meters of the site (100 per building).
    #[arg(long, default_value_t = 2000)]
    pub meters: usize,
}

pub async fn bench_report(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let tz = chrono_tz::Asia::Shanghai;
    let per = 100.min(args.meters.max(1));
    let site = site(dir.path(), args.meters.div_ceil(per), per)?;
    let store = SqliteStore::open(&dir.path().join("report.db"))?;
    let from = tz
        .with_ymd_and_hms(2026, 10, 1, 0, 0, 0)
        .single()
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok_or_else(|| anyhow::anyhow!("bad date"))?;
    let t = Instant::now();
    let written = write_history(&store, &site, from, 31)?;
    let stored = refresh_all(&mut store.writer()?, &site, from + Duration::days(32))?;
    println!(
        "report: {} meters, {written} readings of October written and {stored} registers' days stored in {:.1} s",
        site.meters.len(),
        t.elapsed().as_secs_f64()
    );
    let reader = store.reader()?;
    let ledger = Ledger::new(&reader, &site);
    let month = Month::new(2026, 10).ok_or_else(|| anyhow::anyhow!("bad month"))?;
    let now = from + Duration::days(35);
    let t = Instant::now();
    let ratings = crate::rules::month_ratings(&ledger, &reader, &site, month, now)?;
    let ratings_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let root = site
        .units
        .first()
        .ok_or_else(|| anyhow::anyhow!("no unit"))?;
    let _ = ledger.indicators(root, from, from + Duration::days(31))?;
    let indicators_s = t.elapsed().as_secs_f64();
    println!(
        "report_parts: ratings_s={ratings_s:.3} ({} units) root_indicators_s={indicators_s:.3}",
        ratings.len()
    );
    let t = Instant::now();
    let report = crate::report::monthly::monthly_report(&ledger, &reader, &site, month, now)?;
    let contents_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let html = crate::report::html::render(
        &report,
        &crate::report::figures(&report),
        crate::report::html::Lang::Zh,
    )
    .into_string();
    let html_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let pngs = crate::report::png_figures(&report);
    let pdf = crate::report::pdf::document(&report, pngs).map_err(anyhow::Error::msg)?;
    let pdf_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let xlsx = crate::report::xlsx::workbook(&report, &crate::report::png_figures(&report))?;
    let xlsx_s = t.elapsed().as_secs_f64();
    let total = contents_s + pdf_s;
    println!(
        "report_contents_s={contents_s:.3} html_s={html_s:.3} ({} KB) pdf_s={pdf_s:.3} ({} KB) xlsx_s={xlsx_s:.3} ({} KB)",
        html.len() / 1024,
        pdf.len() / 1024,
        xlsx.len() / 1024
    );
    println!(
        "report_monthly_pdf_s={total:.3} target=2.0 ratio={:.2} (contents + charts + PDF, {} units)",
        total / 2.0,
        report.units.len()
    );

    // The overview page's handler (rendering included).
    let mut site = site;
    site.http_public_overview = true;
    let site = Arc::new(site);
    let state = crate::http::AppState::new(
        site.clone(),
        Arc::new(crate::ingest::LiveState::for_site(&site)),
        store.clone(),
        Arc::new(AtomicBool::new(true)),
        Arc::new(crate::health::Health::new()),
    );
    // The first request computes the day's and month's figures (kept for a minute); the
    // others reuse them, as every request within that minute does.
    let render = || async {
        let t = Instant::now();
        let page = crate::http::pages::overview::page(crate::http::pages::layout::Page {
            state: state.clone(),
            who: None,
            lang: crate::http::pages::layout::Lang::Zh,
        })
        .await
        .into_string();
        (t.elapsed().as_secs_f64() * 1000.0, page.len())
    };
    let (cold, size) = render().await;
    let mut times = Vec::new();
    for _ in 0..21 {
        times.push(render().await.0);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "overview_page_ms={median:.1} target=100 ratio={:.2} ({} KB, {} meters, median of 21; \
         first request, computing today's and the month's figures: {cold:.0} ms)",
        median / 100.0,
        size / 1024,
        args.meters
    );
    Ok(())
}
