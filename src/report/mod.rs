//! Reports for the energy-saving committee: the monthly report's contents (`monthly`) and its
//! renderings.

pub mod html;
pub mod monthly;
pub mod overview;
pub mod pdf;
pub mod unit;
pub mod xlsx;

pub use monthly::MonthlyReport;

use rust_decimal::prelude::ToPrimitive;

use crate::chart::{Chart, Format};

fn f(d: rust_decimal::Decimal) -> f64 {
    d.to_f64().unwrap_or(f64::NAN)
}

/// The report's charts in `format`: (caption, bytes, height / width).
fn charts(r: &MonthlyReport, format: Format) -> Vec<(String, Vec<u8>, f32)> {
    let mut out = Vec::new();
    let mut add =
        |caption: String, chart: &Chart, bytes: Result<Vec<u8>, crate::chart::ChartError>| {
            match bytes {
                Ok(b) => out.push((
                    caption,
                    b,
                    chart.size.height as f32 / chart.size.width as f32,
                )),
                Err(e) => tracing::warn!(chart = %caption, error = %e, "report chart not drawn"),
            }
        };
    // Daily standard coal, with the institution's kgce quota spread over the days.
    let days: Vec<(chrono::NaiveDate, f64)> =
        r.daily_kgce.iter().map(|(d, v)| (*d, f(*v))).collect();
    let root = r.units.first().map(|u| u.unit.as_str());
    let quota = r
        .quotas
        .iter()
        .find(|q| Some(q.unit.as_str()) == root && q.category == "kgce")
        .map(|q| vec![f(q.allocation) / days.len().max(1) as f64; days.len()]);
    let title = format!("{} 逐日综合能耗", r.month);
    let c = Chart::new(&title, "kgce").format(format);
    add(title, &c, c.daily_bars(&days, quota.as_deref()));
    // This year against last year, by month.
    let year: i32 = r.month.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0);
    let this: Vec<f64> = r.monthly_kgce.iter().map(|v| f(*v)).collect();
    let last: Vec<f64> = r.last_year_monthly_kgce.iter().map(|v| f(*v)).collect();
    let title = format!("{year} 年逐月综合能耗同比");
    let c = Chart::new(&title, "kgce").format(format);
    add(title, &c, c.monthly_bars(year, &this, &last, None));
    // Units ranked by energy per m², and by rating score.
    let per_m2: Vec<(String, f64)> = r
        .units
        .iter()
        .filter(|u| u.level == 1)
        .map(|u| (u.name.clone(), u.kgce_per_m2.map_or(f64::NAN, f)))
        .collect();
    if !per_m2.is_empty() {
        let title = format!("{} 各单位单位面积能耗排名", r.month);
        let c = Chart::new(&title, "kgce/m²")
            .size(800, (per_m2.len() as u32 * 22 + 90).clamp(200, 2400))
            .format(format);
        add(title, &c, c.ranking(&per_m2));
    }
    let scores: Vec<(String, f64)> = r
        .ratings
        .iter()
        .map(|u| (u.unit_name.clone(), f(u.score)))
        .collect();
    if !scores.is_empty() {
        let title = format!("{} 考核得分排名", r.month);
        let c = Chart::new(&title, "分")
            .size(800, (scores.len() as u32 * 22 + 90).clamp(200, 2400))
            .format(format);
        add(title, &c, c.ranking(&scores));
    }
    out
}

/// The report's charts as SVG, for the HTML page.
pub fn figures(r: &MonthlyReport) -> Vec<html::Figure> {
    charts(r, Format::Svg)
        .into_iter()
        .map(|(title, svg, _)| html::Figure {
            title,
            svg: String::from_utf8_lossy(&svg).into_owned(),
        })
        .collect()
}

/// The report's charts as PNG, for the PDF and the workbook.
pub fn png_figures(r: &MonthlyReport) -> Vec<pdf::PngFigure> {
    charts(r, Format::Png)
        .into_iter()
        .map(|(caption, png, aspect)| pdf::PngFigure {
            caption,
            png,
            aspect,
        })
        .collect()
}
