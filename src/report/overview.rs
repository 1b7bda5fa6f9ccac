//! The campus overview's figures: electricity today against yesterday at the same time of day,
//! the month so far against the quotas, and the units that use the most this month.

use chrono::{DateTime, Datelike, Duration, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::energy::aggregate::counted_meters;
use crate::energy::category::ELECTRICITY;
use crate::energy::ledger::{Ledger, round};
use crate::report::monthly::change_percent;
use crate::rules::quota::{MonthStatus, quota_month};
use crate::site::Site;
use crate::store::StoreError;
use crate::time::{Month, local_midnight};

/// How many units the ranking shows.
pub const TOP_UNITS: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub as_of: DateTime<Utc>,
    /// Electricity (kWh) of the top-level units since local midnight.
    pub today_kwh: Decimal,
    /// Yesterday from midnight to this time of day: what today is compared with.
    pub yesterday_same_time_kwh: Decimal,
    pub yesterday_kwh: Decimal,
    /// Today against yesterday at the same time, per cent; none when yesterday used nothing.
    pub change_percent: Option<Decimal>,
    /// Electricity since the first of the month.
    pub month_kwh: Decimal,
    /// This month's quotas, the most at risk (highest projection) first.
    pub quotas: Vec<MonthStatus>,
    /// Units without sub-units, by electricity this month, most first.
    pub top_units: Vec<UnitUse>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnitUse {
    pub unit: String,
    pub name: String,
    pub kwh: Decimal,
    /// Share of the month's electricity, per cent.
    pub share_percent: Option<Decimal>,
}

/// The overview's figures as of `now`.
pub fn overview(
    ledger: &Ledger<'_>,
    site: &Site,
    now: DateTime<Utc>,
) -> Result<Overview, StoreError> {
    let ledger = &ledger.snapshot();
    let tz = ledger.timezone();
    let today = now.with_timezone(&tz).date_naive();
    let midnight = local_midnight(today, tz).unwrap_or(now);
    let yesterday = local_midnight(today - Duration::days(1), tz).unwrap_or(midnight);
    let first = local_midnight(today.with_day(1).unwrap_or(today), tz).unwrap_or(midnight);
    let electricity = |unit: &str, from, to| ledger.unit_total(unit, ELECTRICITY, from, to);

    let (mut today_kwh, mut same_time, mut yesterday_kwh, mut month_kwh) =
        (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for root in site.units.iter().filter(|u| u.parent.is_none()) {
        today_kwh += electricity(&root.id, midnight, now)?;
        same_time += electricity(&root.id, yesterday, now - Duration::days(1))?;
        yesterday_kwh += electricity(&root.id, yesterday, midnight)?;
        month_kwh += electricity(&root.id, first, now)?;
    }

    let mut quotas = site
        .quotas
        .iter()
        .filter(|q| q.year.is_none_or(|y| y == today.year()))
        .map(|q| quota_month(ledger, site, q, Month::of(today), now))
        .collect::<Result<Vec<_>, _>>()?;
    quotas.sort_by_key(|q| std::cmp::Reverse(q.projected_percent));

    let mut top_units = Vec::new();
    for unit in &site.units {
        let has_children = site
            .units
            .iter()
            .any(|u| u.parent.as_deref() == Some(&unit.id));
        if has_children
            || counted_meters(&site.meters, &site.units, &unit.id, ELECTRICITY).is_empty()
        {
            continue;
        }
        let kwh = round(electricity(&unit.id, first, now)?);
        top_units.push(UnitUse {
            unit: unit.id.clone(),
            name: unit.name.clone(),
            kwh,
            share_percent: (!month_kwh.is_zero())
                .then(|| (kwh / month_kwh * Decimal::ONE_HUNDRED).round_dp(1)),
        });
    }
    top_units.sort_by(|a, b| b.kwh.cmp(&a.kwh).then_with(|| a.unit.cmp(&b.unit)));
    top_units.truncate(TOP_UNITS);

    Ok(Overview {
        as_of: now,
        change_percent: change_percent(today_kwh, same_time),
        today_kwh: round(today_kwh),
        yesterday_same_time_kwh: round(same_time),
        yesterday_kwh: round(yesterday_kwh),
        month_kwh: round(month_kwh),
        quotas,
        top_units,
    })
}
