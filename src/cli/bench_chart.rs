//! `jieneng bench chart`: rendering each chart kind as SVG and as PNG (target: < 50 ms a chart).

use std::path::PathBuf;
use std::time::Instant;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};

use crate::chart::{Chart, ChartError, Format, Series, Stack};

#[derive(clap::Args)]
pub struct Args {
    /// Renderings of each chart and format; the median is reported.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    /// Also write each chart as chart_<kind>.svg and .png into this folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

const TARGET_MS: f64 = 50.0;

type Render = Box<dyn Fn(&Chart) -> Result<Vec<u8>, ChartError>>;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// An office building's day in kW every 15 minutes: a night base, a morning ramp, a lunch dip.
fn office_day(day: NaiveDate, level: f64) -> Vec<(NaiveDateTime, f64)> {
    (0..96)
        .map(|i| {
            let h = f64::from(i) / 4.0;
            let work = if (7.5..18.5).contains(&h) {
                let lunch = if (11.75..13.5).contains(&h) { 0.6 } else { 1.0 };
                let ramp = ((h - 7.5) / 1.5).min(1.0) * ((18.5 - h) / 1.0).min(1.0);
                150.0 * ramp * lunch
            } else {
                0.0
            };
            let jitter = (f64::from(i) * 1.7).sin() * 6.0;
            let t =
                day.and_hms_opt(0, 0, 0).unwrap_or_default() + Duration::minutes(15 * i64::from(i));
            (t, (42.0 + work + jitter) * level)
        })
        .collect()
}

fn weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The six chart kinds with the data sizes of the monthly report.
fn charts() -> Vec<(&'static str, Chart, Render)> {
    let today = Series::new("今日", office_day(date(2026, 11, 3), 1.0));
    let yesterday = Series::new("昨日", office_day(date(2026, 11, 2), 0.93));

    let october: Vec<NaiveDate> = (1..=31).map(|d| date(2026, 10, d)).collect();
    let days: Vec<(NaiveDate, f64)> = october
        .iter()
        .map(|&d| {
            let base = if weekend(d) { 1_650.0 } else { 4_050.0 };
            (d, base + 380.0 * (f64::from(d.day()) * 0.9).sin())
        })
        .collect();
    let quota: Vec<f64> = october
        .iter()
        .map(|&d| if weekend(d) { 1_900.0 } else { 4_400.0 })
        .collect();

    let season = |m: usize| {
        [
            1.25, 1.2, 0.95, 0.85, 0.9, 1.15, 1.35, 1.4, 1.05, 0.9, 1.0, 1.2,
        ][m]
    };
    let this: Vec<f64> = (0..12)
        .map(|m| 41_000.0 * season(m) + 900.0 * (m % 3) as f64)
        .collect();
    let last: Vec<f64> = (0..12).map(|m| 43_500.0 * season(m)).collect();
    let month_quota: Vec<f64> = (0..12).map(|m| 45_000.0 * season(m)).collect();

    let periods: Vec<String> = (1..=12).map(|m| format!("{m}月")).collect();
    let share = |k: f64, s: f64| {
        (0..12)
            .map(|m| 96_000.0 * k * (1.0 + s * (season(m) - 1.0) * 3.0))
            .collect()
    };
    let stacks = vec![
        Stack::new("照明插座", share(0.30, 0.1)),
        Stack::new("空调", share(0.42, 1.0)),
        Stack::new("动力", share(0.18, 0.0)),
        Stack::new("特殊", share(0.10, 0.0)),
    ];

    let heat: Vec<(NaiveDate, [f64; 24])> = october
        .iter()
        .map(|&d| {
            let pts = office_day(d, if weekend(d) { 0.45 } else { 1.0 });
            let mut h = [0.0; 24];
            for (i, v) in h.iter_mut().enumerate() {
                *v = pts[4 * i..4 * i + 4].iter().map(|p| p.1 / 4.0).sum();
            }
            (d, h)
        })
        .collect();

    let names = [
        "行政楼",
        "图书馆",
        "第一教学楼",
        "第二教学楼",
        "第三教学楼",
        "实验楼",
        "体育馆",
        "学生食堂",
        "教工食堂",
        "学生宿舍一号楼",
        "学生宿舍二号楼",
        "学生宿舍三号楼",
        "研究生公寓",
        "医务室",
        "国际交流中心",
        "档案馆",
        "后勤服务楼",
        "游泳馆",
        "艺术楼",
        "信息中心(机房)",
    ];
    let ranking: Vec<(String, f64)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            (
                n.to_string(),
                6.0 + ((i * 37 % 20) as f64) * 1.35 + i as f64 * 0.07,
            )
        })
        .collect();

    vec![
        (
            "load_curve",
            Chart::new("行政楼 负荷曲线 2026-11-03", "kW"),
            Box::new(move |c: &Chart| c.load_curve(&today, Some(&yesterday))) as Render,
        ),
        (
            "daily_bars",
            Chart::new("2026年10月 逐日用电量", "kWh"),
            Box::new(move |c: &Chart| c.daily_bars(&days, Some(&quota))),
        ),
        (
            "monthly_bars",
            Chart::new("综合能耗 逐月同比", "kgce"),
            Box::new(move |c: &Chart| c.monthly_bars(2026, &this, &last, Some(&month_quota))),
        ),
        (
            "stacked_bars",
            Chart::new("分项用电构成", "kWh"),
            Box::new(move |c: &Chart| c.stacked_bars(&periods, &stacks)),
        ),
        (
            "heatmap",
            Chart::new("10月 逐时用电热力图", "kWh"),
            Box::new(move |c: &Chart| c.heatmap(&heat)),
        ),
        (
            "ranking",
            Chart::new("单位建筑面积能耗排名", "kgce/m²").size(800, 90 + 22 * 20),
            Box::new(move |c: &Chart| c.ranking(&ranking)),
        ),
    ]
}

pub fn bench_chart(args: Args) -> anyhow::Result<()> {
    let runs = args.runs.max(1);
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)?;
    }
    println!("chart: 6 kinds as SVG and PNG (2× pixels), median of {runs} renderings each");
    for (kind, chart, render) in charts() {
        for (format, ext) in [(Format::Svg, "svg"), (Format::Png, "png")] {
            let chart = chart.clone().format(format);
            // The first rendering also registers the font; it is not timed.
            let bytes = render(&chart)?;
            if let Some(dir) = &args.out {
                std::fs::write(dir.join(format!("chart_{kind}.{ext}")), &bytes)?;
            }
            let mut ms: Vec<f64> = (0..runs)
                .map(|_| {
                    let t = Instant::now();
                    let out = render(&chart);
                    let elapsed = t.elapsed().as_secs_f64() * 1e3;
                    std::hint::black_box(out).map(|_| elapsed)
                })
                .collect::<Result<_, _>>()?;
            ms.sort_by(f64::total_cmp);
            let median = ms[ms.len() / 2];
            println!(
                "chart_{kind}_{ext}_ms={median:.2} target={TARGET_MS:.0} ratio={:.2} bytes={}",
                median / TARGET_MS,
                bytes.len()
            );
        }
    }
    Ok(())
}
