//! The energy-saving committee's monthly report (节能月报): what the institution used, against
//! its quotas and last year, unit by unit and category by category, how each unit was rated
//! and why, and the month's alerts. Assembled from the ledger and the rules' records; the
//! renderers (HTML, Excel, PDF) only lay it out.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::decimal::round_half_up;
use crate::energy::aggregate::CategoryTotal;
use crate::energy::ledger::{Ledger, Step};
use crate::rules::alert::Alert;
use crate::rules::quota::{MonthStatus, quota_month};
use crate::rules::rating::UnitRating;
use crate::site::Site;
use crate::site::Unit;
use crate::store::StoreError;
use crate::store::sqlite::StoreReader;
use crate::time::{Month, local_midnight};

/// One unit's month.
#[derive(Debug, Clone, Serialize)]
pub struct UnitMonth {
    pub unit: String,
    pub name: String,
    /// 0 for the organisation, 1 for its buildings ...
    pub level: usize,
    pub occupants: Option<u32>,
    pub floor_area_m2: Option<f64>,
    pub categories: Vec<CategoryTotal>,
    /// 综合能耗 this month and the same month last year (kgce).
    pub kgce: Decimal,
    pub last_year_kgce: Decimal,
    /// Change against the same month last year, in per cent (None without last year).
    pub change_percent: Option<Decimal>,
    pub kgce_per_person: Option<Decimal>,
    pub kgce_per_m2: Option<Decimal>,
    pub water_m3_per_person: Option<Decimal>,
    pub co2_kg: Decimal,
}

#[derive(Debug, Clone, Serialize)]
pub struct MonthlyReport {
    pub site: String,
    /// `2026-10`
    pub month: String,
    pub generated_at: DateTime<Utc>,
    /// The same in the site's time zone, as printed: `2026-11-01 09:30 (UTC+08:00)`.
    pub generated_local: String,
    /// The whole institution first, then every unit below it, depth first.
    pub units: Vec<UnitMonth>,
    /// Electricity by sub-metering category (照明插座, 空调, 动力, 特殊) over the institution.
    pub electricity_by_use: Vec<(String, String, Decimal)>,
    pub quotas: Vec<MonthStatus>,
    pub ratings: Vec<UnitRating>,
    /// Alerts live at any time during the month, newest first.
    pub alerts: Vec<Alert>,
    /// The institution's kgce per day of the month.
    pub daily_kgce: Vec<(NaiveDate, Decimal)>,
    /// The institution's kgce per month, January to December, this year and last year.
    pub monthly_kgce: Vec<Decimal>,
    pub last_year_monthly_kgce: Vec<Decimal>,
}

/// A quota's category as people read it: 电, 水 ... or 综合能耗 for standard coal.
pub fn category_label(code: &str) -> (&'static str, &'static str) {
    if code == "kgce" {
        return ("综合能耗 (kgce)", "all energy (kgce)");
    }
    crate::energy::category::category(code).map_or(("", ""), |c| (c.name_zh, c.name_en))
}

/// `(x - base) / base` in per cent, two places.
pub fn change_percent(x: Decimal, base: Decimal) -> Option<Decimal> {
    (!base.is_zero())
        .then(|| round_half_up((x - base) / base * Decimal::ONE_HUNDRED, 2).normalize())
}

/// Units in display order: each root, then its children depth first, with their depth.
fn ordered(units: &[Unit]) -> Vec<(&Unit, usize)> {
    fn walk<'a>(
        units: &'a [Unit],
        parent: Option<&str>,
        level: usize,
        out: &mut Vec<(&'a Unit, usize)>,
    ) {
        for u in units.iter().filter(|u| u.parent.as_deref() == parent) {
            out.push((u, level));
            walk(units, Some(&u.id), level + 1, out);
        }
    }
    let mut out = Vec::new();
    walk(units, None, 0, &mut out);
    out
}

/// Why a monthly report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The month (or the same month a year earlier) has no local midnight to start from.
    #[error("month {0} has no local midnight")]
    NoLocalMidnight(Month),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The report for `month`, as of `now` (a month not yet over is marked so by the quotas'
/// projections). Consumption from `ledger`; the alerts, committee points and
/// ratings' records through `reader`.
pub fn monthly_report(
    ledger: &Ledger<'_>,
    reader: &StoreReader,
    site: &Site,
    month: Month,
    now: DateTime<Utc>,
) -> Result<MonthlyReport, ReportError> {
    let tz = ledger.timezone();
    let first = month.first_day();
    let next = month.next().first_day();
    let year_ago = first - Months::new(12);
    let (Some(a), Some(b), Some(la), Some(lb)) = (
        local_midnight(first, tz),
        local_midnight(next, tz),
        local_midnight(year_ago, tz),
        local_midnight(year_ago + Months::new(1), tz),
    ) else {
        return Err(ReportError::NoLocalMidnight(month));
    };

    // The ratings (the larger half of the work) on a second thread with its own reader.
    let other = reader.another()?;
    let ratings_job = move || {
        let ledger = Ledger::new(&other, site);
        crate::rules::month_ratings(&ledger, &other, site, month, now)
    };
    std::thread::scope(|scope| {
        let ratings = scope.spawn(ratings_job);
        let rest = report_without_ratings(
            &ledger.snapshot(),
            reader,
            site,
            month,
            now,
            (a, b),
            (la, lb),
        );
        let ratings = ratings
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))?;
        let mut report = rest?;
        report.ratings = ratings;
        Ok(report)
    })
}

/// Everything in the report but the ratings.
fn report_without_ratings(
    ledger: &Ledger<'_>,
    reader: &StoreReader,
    site: &Site,
    month: Month,
    now: DateTime<Utc>,
    (a, b): (DateTime<Utc>, DateTime<Utc>),
    (la, lb): (DateTime<Utc>, DateTime<Utc>),
) -> Result<MonthlyReport, StoreError> {
    let tz = ledger.timezone();
    let mut units = Vec::new();
    for (u, level) in ordered(&site.units) {
        let ind = ledger.indicators(u, a, b)?;
        let last = ledger.indicators(u, la, lb)?;
        units.push(UnitMonth {
            unit: u.id.clone(),
            name: u.name.clone(),
            level,
            occupants: u.occupants,
            floor_area_m2: u.floor_area_m2,
            change_percent: change_percent(ind.total_kgce, last.total_kgce),
            last_year_kgce: last.total_kgce,
            kgce: ind.total_kgce,
            kgce_per_person: ind.kgce_per_person,
            kgce_per_m2: ind.kgce_per_m2,
            water_m3_per_person: ind.water_m3_per_person,
            co2_kg: ind.total_co2_kg,
            categories: ind.categories,
        });
    }

    let root = site.units.iter().find(|u| u.parent.is_none());
    let mut electricity_by_use = Vec::new();
    let mut daily_kgce = Vec::new();
    let mut monthly_kgce = Vec::new();
    let mut last_year_monthly_kgce = Vec::new();
    if let Some(root) = root {
        for code in ["01A00", "01B00", "01C00", "01D00"] {
            let rows = ledger.unit(&root.id, code, a, b, Step::Day)?;
            let total: Decimal = rows.iter().map(|r| r.consumption).sum();
            if let Some(c) = crate::energy::category::category(code) {
                electricity_by_use.push((code.to_string(), c.name_zh.to_string(), total));
            }
        }
        for r in ledger.unit_kgce(&root.id, a, b, Step::Day)? {
            daily_kgce.push((r.start.with_timezone(&tz).date_naive(), r.consumption));
        }
        for (year, out) in [
            (month.year(), &mut monthly_kgce),
            (month.year() - 1, &mut last_year_monthly_kgce),
        ] {
            let (Some(jan), Some(dec_end)) = (
                NaiveDate::from_ymd_opt(year, 1, 1).and_then(|d| local_midnight(d, tz)),
                NaiveDate::from_ymd_opt(year + 1, 1, 1).and_then(|d| local_midnight(d, tz)),
            ) else {
                continue;
            };
            // Months after this one are not in the report (this year) — left at zero.
            let end = if year == month.year() {
                b.min(dec_end)
            } else {
                dec_end
            };
            let mut months = vec![Decimal::ZERO; 12];
            for r in ledger.unit_kgce(&root.id, jan, end, Step::Month)? {
                let m = r.start.with_timezone(&tz).month0() as usize;
                if r.end <= end {
                    months[m] = r.consumption;
                }
            }
            *out = months;
        }
    }

    let quotas = site
        .quotas
        .iter()
        .filter(|q| q.year.is_none_or(|y| y == month.year()))
        .map(|q| quota_month(ledger, site, q, month, now))
        .collect::<Result<Vec<_>, _>>()?;

    let alerts = reader
        .alerts(Some(a))?
        .into_iter()
        .filter(|al| al.first_seen < b)
        .collect();
    Ok(MonthlyReport {
        site: site.name.clone(),
        month: month.to_string(),
        generated_at: now,
        generated_local: now
            .with_timezone(&tz)
            .format("%Y-%m-%d %H:%M (UTC%:z)")
            .to_string(),
        units,
        electricity_by_use,
        quotas,
        ratings: Vec::new(),
        alerts,
        daily_kgce,
        monthly_kgce,
        last_year_monthly_kgce,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_is_against_last_year() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(
            change_percent(d("90"), d("100")).map(|c| c.to_string()),
            Some("-10".into())
        );
        assert_eq!(change_percent(d("1"), d("3")), Some(d("-66.67")));
        assert_eq!(change_percent(d("5"), d("0")), None);
    }
}
