//! The ledger's query interface: consumption of a meter over local-time steps, computed from
//! the stored register readings by [`intervals`]. Reports, rules and bills read consumption
//! here and nowhere else.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Serialize;

use super::intervals::{Quality, RegisterFacts, RegisterReading, grid, intervals};
use crate::config::Site;
use crate::config::site::{Meter, MeterSource};
use crate::quantity::Quantity;
use crate::store::StoreError;
use crate::store::sqlite::StoreReader;

/// The grid consumption is reported on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Quarter,
    Hour,
    Day,
    Month,
}

impl Step {
    pub fn parse(s: &str) -> Result<Step, String> {
        match s {
            "15m" => Ok(Step::Quarter),
            "1h" => Ok(Step::Hour),
            "1d" => Ok(Step::Day),
            "1mo" => Ok(Step::Month),
            other => Err(format!("step `{other}`: use 15m, 1h, 1d or 1mo")),
        }
    }
}

/// Consumption over one step, after the multiplier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// In the register's unit (kWh, m³ ...), multiplier applied; a decimal string in JSON.
    pub consumption: Decimal,
    /// The worst quality of the 15-minute intervals inside the step.
    pub quality: Quality,
}

/// The register a meter's consumption is counted on.
pub fn register_quantity(meter: &Meter) -> Quantity {
    if let MeterSource::Manual { quantity } = meter.source {
        return quantity;
    }
    Quantity::named(
        match crate::energy::category::top_level(meter.category.code) {
            "02000" => "water_m3",
            "03000" => "gas_m3",
            "04000" | "05000" => "heat_gj",
            _ => "energy_import_kwh",
        },
    )
}

/// Boundaries of local days or months from `from` to `to` (both cut to the step in `tz`).
pub fn boundaries(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step: Step,
    tz: Tz,
) -> Vec<DateTime<Utc>> {
    match step {
        Step::Quarter => grid(from, to, Duration::minutes(15)),
        Step::Hour => grid(from, to, Duration::hours(1)),
        Step::Day | Step::Month => {
            let local_midnight = |d: NaiveDate| {
                tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
            };
            let mut day = from.with_timezone(&tz).date_naive();
            if step == Step::Month {
                day = day.with_day(1).unwrap_or(day);
            }
            let mut out = Vec::new();
            while let Some(t) = local_midnight(day) {
                if t > to {
                    break;
                }
                if t >= from {
                    out.push(t);
                }
                day = if step == Step::Day {
                    day + Duration::days(1)
                } else {
                    day + Months::new(1)
                };
            }
            out
        }
    }
}

/// Consumption of `meter` per `step` between `from` and `to` (local days and months).
pub fn consumption(
    reader: &StoreReader,
    site: &Site,
    meter: &Meter,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step: Step,
) -> Result<Vec<Row>, StoreError> {
    let quantity = register_quantity(meter);
    let steps = boundaries(from, to, step, site.timezone);
    let (Some(&first), Some(&last)) = (steps.first(), steps.last()) else {
        return Ok(vec![]);
    };
    // Readings around the range too, so its edges can be bridged.
    let margin = Duration::days(35);
    let stored = reader.readings(&meter.id, quantity, first - margin, last + margin)?;
    let readings: Vec<RegisterReading> = stored
        .iter()
        .filter_map(|r| {
            Some(RegisterReading {
                time: r.time,
                value: Decimal::from_f64_retain(r.value)?.round_dp(6),
                manual: r.quality == crate::reading::ReadingQuality::Manual,
            })
        })
        .collect();
    let (rollover, period) = match &meter.source {
        MeterSource::Modbus { profile, .. } => (
            profile
                .register(quantity)
                .and_then(|s| s.rollover)
                .and_then(Decimal::from_f64_retain),
            Duration::minutes(meter.energy_interval_min as i64),
        ),
        MeterSource::Mqtt { .. } => (None, Duration::minutes(meter.energy_interval_min as i64)),
        // Read monthly by hand: a month between readings is normal.
        MeterSource::Manual { .. } => (None, Duration::days(31)),
    };
    let facts = RegisterFacts {
        rollover,
        max_rate_per_hour: None,
        reading_period: period,
        max_gap: Duration::days(62),
    };
    // Computed on the 15-minute grid, then summed per step, so a gap inside a day shows.
    let quarters = grid(first, last, Duration::minutes(15));
    let events = reader.events(&meter.id, quantity)?;
    let (fine, _) = intervals(&readings, &events, &facts, &quarters);
    let mut rows = Vec::new();
    let mut k = 0;
    for w in steps.windows(2) {
        let (start, end) = (w[0], w[1]);
        let mut sum = Decimal::ZERO;
        let mut quality = Quality::Measured;
        while k < fine.len() && fine[k].end <= end {
            sum += fine[k].consumption;
            quality = quality.max(fine[k].quality);
            k += 1;
        }
        rows.push(Row {
            start,
            end,
            consumption: (sum * meter.multiplier).round_dp(4).normalize(),
            quality,
        });
    }
    Ok(rows)
}

/// A time given on the command line or in a query: RFC 3339, or a local date (YYYY-MM-DD) or
/// month (YYYY-MM) meaning its first midnight.
pub fn parse_time(s: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d"));
    date.ok()
        .and_then(|d| tz.from_local_datetime(&d.and_hms_opt(0, 0, 0)?).earliest())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("`{s}` is not a time: use RFC 3339 (2026-11-01T00:00:00+08:00), a date (2026-11-01) or a month (2026-11)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_months_are_cut_in_local_time() {
        let tz = chrono_tz::Asia::Shanghai;
        let from = parse_time("2026-10", tz).unwrap();
        assert_eq!(from, Utc.with_ymd_and_hms(2026, 9, 30, 16, 0, 0).unwrap());
        let to = parse_time("2026-12-01", tz).unwrap();
        let months = boundaries(from, to, Step::Month, tz);
        assert_eq!(months.len(), 3);
        assert_eq!(
            months[1],
            Utc.with_ymd_and_hms(2026, 10, 31, 16, 0, 0).unwrap()
        );
        // A zone with daylight saving: the October day of the change has 25 hours.
        let berlin = chrono_tz::Europe::Berlin;
        let days = boundaries(
            parse_time("2026-10-24", berlin).unwrap(),
            parse_time("2026-10-27", berlin).unwrap(),
            Step::Day,
            berlin,
        );
        let lengths: Vec<i64> = days.windows(2).map(|w| (w[1] - w[0]).num_hours()).collect();
        assert_eq!(lengths, vec![24, 25, 24]);
        assert!(
            parse_time("yesterday", tz)
                .unwrap_err()
                .contains("RFC 3339")
        );
    }
}
