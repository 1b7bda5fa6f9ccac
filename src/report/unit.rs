//! A unit's figures for its page: today's load against yesterday's, this month's days against
//! the quota, the last twelve months by use, standard coal year on year, and the last four
//! weeks by day and hour. Plain numbers (the page draws them); a function of ledger, site and
//! clock.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveDateTime, Timelike, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::energy::category::ELECTRICITY;
use crate::energy::ledger::{Ledger, Step};
use crate::site::Site;
use crate::store::StoreError;
use crate::time::{Month, local_midnight};

/// The electricity uses (分项) shown month by month.
pub const USES: [&str; 4] = ["01A00", "01B00", "01C00", "01D00"];

#[derive(Debug, Clone, PartialEq)]
pub struct UnitFigures {
    /// The local day the figures are for.
    pub day: NaiveDate,
    /// Electricity load (kW, from 15-minute kWh) today and yesterday, by local time.
    pub load_today: Vec<(NaiveDateTime, f64)>,
    pub load_yesterday: Vec<(NaiveDateTime, f64)>,
    /// Electricity (kWh) per local day this month.
    pub days: Vec<(NaiveDate, f64)>,
    /// The electricity quota's share per day, one per day in `days`, when a quota is set.
    pub daily_quota: Option<Vec<f64>>,
    /// The last twelve months (`yy-mm`), oldest first.
    pub months: Vec<String>,
    /// Electricity (kWh) per month of `months` by use (category code), the uses with any.
    pub by_use: Vec<(&'static str, Vec<f64>)>,
    /// Standard coal (kgce) per month, this calendar year and the one before.
    pub kgce_this_year: Vec<f64>,
    pub kgce_last_year: Vec<f64>,
    /// Electricity (kWh) by local day and hour over the last four weeks (NaN: no figure).
    pub hours: Vec<(NaiveDate, [f64; 24])>,
}

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(f64::NAN)
}

/// The figures of unit `unit` (with its sub-units) at `now`.
pub fn unit_figures(
    ledger: &Ledger,
    site: &Site,
    unit: &str,
    now: DateTime<Utc>,
) -> Result<UnitFigures, StoreError> {
    let tz = site.timezone;
    let day = now.with_timezone(&tz).date_naive();
    let midnight = |d: NaiveDate| local_midnight(d, tz).unwrap_or_default();
    // Load curve: kW from 15-minute kWh.
    let kw = |d: NaiveDate| -> Result<Vec<(NaiveDateTime, f64)>, StoreError> {
        let end = midnight(d + Duration::days(1)).min(now);
        Ok(ledger
            .unit(unit, ELECTRICITY, midnight(d), end, Step::Quarter)?
            .into_iter()
            .map(|r| {
                (
                    r.start.with_timezone(&tz).naive_local(),
                    f(r.consumption) * 4.0,
                )
            })
            .collect())
    };
    let load_today = kw(day)?;
    let load_yesterday = kw(day - Duration::days(1))?;
    // This month's days against the quota.
    let first = day.with_day(1).unwrap_or(day);
    let days: Vec<(NaiveDate, f64)> = ledger
        .unit(
            unit,
            ELECTRICITY,
            midnight(first),
            midnight(day + Duration::days(1)),
            Step::Day,
        )?
        .into_iter()
        .map(|r| (r.start.with_timezone(&tz).date_naive(), f(r.consumption)))
        .collect();
    let daily_quota = site
        .quotas
        .iter()
        .find(|x| x.unit == unit && x.category == ELECTRICITY)
        .map(|x| crate::rules::quota::quota_month(ledger, site, x, Month::of(day), now))
        .transpose()?
        .map(|m| vec![f(m.allocation) / f64::from(first.num_days_in_month()); days.len()]);
    // Use by category over the last twelve months.
    let start = first - Months::new(11);
    let mut months = Vec::new();
    let mut m = start;
    while m <= first {
        months.push(m.format("%y-%m").to_string());
        m = m + Months::new(1);
    }
    let mut by_use = Vec::new();
    for code in USES {
        let rows = ledger.unit(
            unit,
            code,
            midnight(start),
            midnight(first + Months::new(1)).min(now),
            Step::Month,
        )?;
        if rows.iter().all(|r| r.consumption.is_zero()) {
            continue;
        }
        let mut values: Vec<f64> = rows.iter().map(|r| f(r.consumption)).collect();
        values.resize(months.len(), f64::NAN);
        by_use.push((code, values));
    }
    // Year on year, standard coal.
    let year_rows = |y: i32| -> Result<Vec<f64>, StoreError> {
        let (Some(a), Some(b)) = (
            NaiveDate::from_ymd_opt(y, 1, 1),
            NaiveDate::from_ymd_opt(y + 1, 1, 1),
        ) else {
            return Ok(vec![]);
        };
        Ok(ledger
            .unit_kgce(unit, midnight(a), midnight(b).min(now), Step::Month)?
            .into_iter()
            .map(|r| f(r.consumption))
            .collect())
    };
    let kgce_this_year = year_rows(day.year())?;
    let kgce_last_year = year_rows(day.year() - 1)?;
    // Day × hour over the last four weeks.
    let from = day - Duration::days(27);
    let rows = ledger.unit(
        unit,
        ELECTRICITY,
        midnight(from),
        midnight(day + Duration::days(1)).min(now),
        Step::Hour,
    )?;
    let mut hours: Vec<(NaiveDate, [f64; 24])> = (0..28)
        .map(|k| (from + Duration::days(k), [f64::NAN; 24]))
        .collect();
    for r in rows {
        let local = r.start.with_timezone(&tz);
        let k = (local.date_naive() - from).num_days();
        if let Some((_, row)) = usize::try_from(k).ok().and_then(|k| hours.get_mut(k)) {
            row[local.hour() as usize] = f(r.consumption);
        }
    }
    Ok(UnitFigures {
        day,
        load_today,
        load_yesterday,
        days,
        daily_quota,
        months,
        by_use,
        kgce_this_year,
        kgce_last_year,
        hours,
    })
}
