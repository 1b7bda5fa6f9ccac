//! Quotas (定额): a unit's allowance of a category (or of standard coal) for a year, allocated
//! to months; month-to-date use against the pro-rated allowance, and a projected month-end
//! from the recent daily pattern by day type (workday, weekend, holiday, vacation).
//!
//! Status: `red` when the month's allowance is already used up or the projection is more than
//! 10% over it; `yellow` when the projection is over it; `green` otherwise.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::calendar::{Calendar, DayType};
pub use super::quota_settings::{Allocation, Basis, Quota};
use crate::decimal::round_half_up;
use crate::energy::ledger::Ledger;
use crate::site::Site;
use crate::site::Unit;
use crate::store::StoreError;
use crate::time::{Month, local_midnight};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Green,
    Yellow,
    Red,
}

impl Status {
    pub fn label_zh(self) -> &'static str {
        match self {
            Status::Green => "正常",
            Status::Yellow => "预警",
            Status::Red => "超定额",
        }
    }
    pub fn label_en(self) -> &'static str {
        match self {
            Status::Green => "on track",
            Status::Yellow => "at risk",
            Status::Red => "over",
        }
    }
    /// The CSS class pages and reports colour it with.
    pub fn class(self) -> &'static str {
        match self {
            Status::Green => "green",
            Status::Yellow => "yellow",
            Status::Red => "red",
        }
    }
}

/// A quota's month as of `now`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthStatus {
    pub unit: String,
    pub category: String,
    pub month: String,
    /// The unit's allowance for the year (basis applied).
    pub annual: Decimal,
    /// This month's allowance.
    pub allocation: Decimal,
    /// Used from the month's start to now.
    pub used: Decimal,
    /// The allowance pro-rated to now.
    pub prorated: Decimal,
    /// Used so far plus the expected use of the days left.
    pub projected: Decimal,
    /// projected / allocation, in per cent.
    pub projected_percent: Option<Decimal>,
    pub status: Status,
    /// Expected use per day type, from the recent days (kWh, m³ or kgce per day).
    pub daily_by_type: Vec<(DayType, Decimal)>,
    /// Why the unit has no figure, when it has none (no occupants for a per-person quota ...).
    pub note: Option<String>,
}

/// The unit's allowance for the year: the annual figure times occupants or area.
pub fn annual_amount(quota: &Quota, unit: &Unit) -> Result<Decimal, String> {
    match quota.basis {
        Basis::Absolute => Ok(quota.annual),
        Basis::PerPerson => unit
            .occupants
            .filter(|n| *n > 0)
            .map(|n| quota.annual * Decimal::from(n))
            .ok_or_else(|| {
                format!(
                    "unit `{}` has no `occupants` for a per-person quota",
                    unit.id
                )
            }),
        Basis::PerM2 => unit
            .floor_area_m2
            .and_then(Decimal::from_f64_retain)
            .filter(|a| *a > Decimal::ZERO)
            .map(|a| quota.annual * a.round_dp(2))
            .ok_or_else(|| {
                format!(
                    "unit `{}` has no `floor_area_m2` for a per-m² quota",
                    unit.id
                )
            }),
    }
}

fn days_in_month(year: i32, month: u32) -> i64 {
    let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default();
    ((first + Months::new(1)) - first).num_days()
}

/// Month `month`'s share of the year (the twelve shares sum to 1). `last_year` holds last
/// year's consumption per month (index 0 = January) for `Allocation::LastYear`.
pub fn month_share(
    allocation: &Allocation,
    year: i32,
    month: u32,
    last_year: &[Decimal],
) -> Decimal {
    let i = (month as usize).saturating_sub(1).min(11);
    let by_days = || {
        let year_days: i64 = (1..=12).map(|m| days_in_month(year, m)).sum();
        Decimal::from(days_in_month(year, month)) / Decimal::from(year_days)
    };
    match allocation {
        Allocation::Equal => Decimal::ONE / Decimal::from(12),
        Allocation::Days => by_days(),
        Allocation::LastYear => {
            let total: Decimal = last_year.iter().copied().sum();
            // Only a whole recorded year gives a shape; a part-year would crowd the allowance
            // into the months it has.
            if last_year.len() == 12 && last_year.iter().all(|m| *m > Decimal::ZERO) {
                last_year[i] / total
            } else {
                by_days()
            }
        }
        Allocation::Explicit(shares) => {
            let total: Decimal = shares.iter().copied().sum();
            if total > Decimal::ZERO {
                shares.get(i).copied().unwrap_or_default() / total
            } else {
                Decimal::ZERO
            }
        }
    }
}

/// Expected use per day type: the mean of the recent complete days of that type; a type with
/// no recent day takes the mean of all recent days.
pub fn daily_by_type(
    recent: &[(NaiveDate, Decimal)],
    calendar: &Calendar,
) -> HashMap<DayType, Decimal> {
    let mut sums: HashMap<DayType, (Decimal, u32)> = HashMap::new();
    for (d, c) in recent {
        let e = sums.entry(calendar.day_type(*d)).or_default();
        e.0 += *c;
        e.1 += 1;
    }
    let all: Decimal = recent.iter().map(|(_, c)| *c).sum();
    let overall = if recent.is_empty() {
        Decimal::ZERO
    } else {
        all / Decimal::from(recent.len())
    };
    DayType::ALL
        .iter()
        .map(|t| {
            let mean = sums
                .get(t)
                .filter(|(_, n)| *n > 0)
                .map_or(overall, |(s, n)| *s / Decimal::from(*n));
            (*t, mean)
        })
        .collect()
}

/// The month-end projection: complete days so far, today (at least what it has used), and the
/// expected use of each day left by its type.
pub fn project(
    used_complete_days: Decimal,
    today: NaiveDate,
    today_so_far: Decimal,
    month_end: NaiveDate,
    expected: &HashMap<DayType, Decimal>,
    calendar: &Calendar,
) -> Decimal {
    let per = |d: NaiveDate| {
        expected
            .get(&calendar.day_type(d))
            .copied()
            .unwrap_or_default()
    };
    let mut total = used_complete_days + today_so_far.max(per(today));
    let mut d = today + Duration::days(1);
    while d < month_end {
        total += per(d);
        d += Duration::days(1);
    }
    total
}

pub fn status(allocation: Decimal, used: Decimal, projected: Decimal) -> Status {
    if used > allocation || projected > allocation * Decimal::new(11, 1) {
        Status::Red
    } else if projected > allocation {
        Status::Yellow
    } else {
        Status::Green
    }
}

fn round(d: Decimal) -> Decimal {
    round_half_up(d, 2).normalize()
}

/// A quota's `month` as of `now`: a past month is final, the current one projected (by the
/// site's calendar), a future one all allowance.
pub fn quota_month(
    ledger: &Ledger<'_>,
    site: &Site,
    quota: &Quota,
    month: Month,
    now: DateTime<Utc>,
) -> Result<MonthStatus, StoreError> {
    let tz = ledger.timezone();
    let calendar = &site.calendar;
    let (year, first, next) = (month.year(), month.first_day(), month.next().first_day());
    let mut out = MonthStatus {
        unit: quota.unit.clone(),
        category: quota.category.clone(),
        month: month.to_string(),
        annual: Decimal::ZERO,
        allocation: Decimal::ZERO,
        used: Decimal::ZERO,
        prorated: Decimal::ZERO,
        projected: Decimal::ZERO,
        projected_percent: None,
        status: Status::Green,
        daily_by_type: vec![],
        note: None,
    };
    let Some(unit) = site.unit(&quota.unit) else {
        out.note = Some(format!("no unit `{}`", quota.unit));
        return Ok(out);
    };
    let annual = match annual_amount(quota, unit) {
        Ok(a) => a,
        Err(e) => {
            out.note = Some(e);
            return Ok(out);
        }
    };
    let last_year = if quota.allocation == Allocation::LastYear {
        let from = NaiveDate::from_ymd_opt(year - 1, 1, 1).unwrap_or_default();
        let days = ledger.unit_days(&quota.unit, &quota.category, from, from + Months::new(12))?;
        let mut months = vec![Decimal::ZERO; 12];
        for (d, c) in days {
            months[d.month0() as usize] += c;
        }
        months
    } else {
        vec![]
    };
    let allocation = annual * month_share(&quota.allocation, year, month.month(), &last_year);
    let today = now.with_timezone(&tz).date_naive();
    let (Some(start), Some(end)) = (local_midnight(first, tz), local_midnight(next, tz)) else {
        return Ok(out);
    };
    let until = now.clamp(start, end);
    let used = ledger.unit_total(&quota.unit, &quota.category, start, until)?;
    let elapsed = Decimal::from((until - start).num_seconds())
        / Decimal::from((end - start).num_seconds().max(1));
    let projected = if now >= end || now < start {
        used.max(if now < start {
            allocation
        } else {
            Decimal::ZERO
        })
    } else {
        let recent = ledger.unit_days(
            &quota.unit,
            &quota.category,
            today - Duration::days(28),
            today,
        )?;
        let expected = daily_by_type(&recent, calendar);
        let complete: Decimal = recent
            .iter()
            .filter(|(d, _)| *d >= first)
            .map(|(_, c)| *c)
            .sum();
        let today_start = local_midnight(today, tz).unwrap_or(start);
        let today_so_far = ledger.unit_total(&quota.unit, &quota.category, today_start, now)?;
        let mut by_type: Vec<(DayType, Decimal)> =
            expected.iter().map(|(t, v)| (*t, round(*v))).collect();
        by_type.sort();
        out.daily_by_type = by_type;
        project(complete, today, today_so_far, next, &expected, calendar)
    };
    out.annual = round(annual);
    out.allocation = round(allocation);
    out.used = round(used);
    out.prorated = round(allocation * elapsed);
    out.projected = round(projected);
    out.projected_percent = (allocation > Decimal::ZERO)
        .then(|| round_half_up(projected * Decimal::ONE_HUNDRED / allocation, 1));
    out.status = status(allocation, used, projected);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn allocations_spread_the_year() {
        let days = month_share(&Allocation::Days, 2026, 2, &[]);
        assert_eq!(days, Decimal::from(28) / Decimal::from(365));
        let twelfths = month_share(&Allocation::Equal, 2026, 7, &[]) * Decimal::from(12);
        assert!((twelfths - Decimal::ONE).abs() < dec("1e-20"));
        let explicit = Allocation::Explicit(vec![Decimal::from(2); 12]);
        assert_eq!(
            month_share(&explicit, 2026, 1, &[]),
            Decimal::ONE / Decimal::from(12)
        );
        let mut last = vec![Decimal::from(50); 12];
        last[6] = Decimal::from(450); // July: 450 of the year's 1,000
        assert_eq!(
            month_share(&Allocation::LastYear, 2026, 7, &last),
            dec("0.45")
        );
        // Last year only partly recorded: by days, not in the shape of a part-year.
        last[0] = Decimal::ZERO;
        assert_eq!(month_share(&Allocation::LastYear, 2026, 2, &last), days);
        // No data last year: by days.
        assert_eq!(month_share(&Allocation::LastYear, 2026, 2, &[]), days);
    }

    /// November 2026, a campus: workdays 100 kWh, weekends 40, and a holiday on the 20th
    /// (a Friday) expected at the holiday mean of 30. Today is Wednesday the 18th, 60 used so
    /// far; 1,000 kWh used on the complete days 1st–17th.
    #[test]
    fn a_partial_month_with_a_holiday_is_projected_by_day_type() {
        let cal: Calendar = toml::from_str(
            r#"holidays = [{ from = "2026-11-20", to = "2026-11-20", name = "校庆" }, { from = "2026-10-01", to = "2026-10-01" }]"#,
        )
        .unwrap();
        let mut recent = Vec::new();
        let mut day = d("2026-10-21");
        while day < d("2026-11-18") {
            let c = match cal.day_type(day) {
                DayType::Workday => dec("100"),
                DayType::Weekend => dec("40"),
                _ => dec("30"),
            };
            recent.push((day, c));
            day += Duration::days(1);
        }
        let expected = daily_by_type(&recent, &cal);
        assert_eq!(expected[&DayType::Workday], dec("100"));
        assert_eq!(expected[&DayType::Weekend], dec("40"));
        // No holiday among the recent days: the overall mean (20 workdays, 8 weekend days).
        let overall = (dec("2000") + dec("320")) / Decimal::from(28);
        assert_eq!(expected[&DayType::Holiday], overall);
        let p = project(
            dec("1000"),
            d("2026-11-18"),
            dec("60"),
            d("2026-12-01"),
            &expected,
            &cal,
        );
        // Today at least a workday's 100; the 19th, 23rd–27th and 30th: 7 workdays; the 21st,
        // 22nd, 28th, 29th: 4 weekend days; the 20th: the holiday.
        let want = dec("1000") + dec("100") + dec("700") + dec("160") + overall;
        assert_eq!(p, want);
    }

    #[test]
    fn status_thresholds() {
        let a = dec("1000");
        assert_eq!(status(a, dec("500"), dec("1000")), Status::Green);
        assert_eq!(status(a, dec("500"), dec("1000.01")), Status::Yellow);
        assert_eq!(status(a, dec("500"), dec("1100")), Status::Yellow);
        assert_eq!(status(a, dec("500"), dec("1100.01")), Status::Red);
        assert_eq!(status(a, dec("1000.01"), dec("1000.01")), Status::Red);
    }
}
