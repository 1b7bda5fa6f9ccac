//! Draft statements from the ledger: per tenant meter, the consumption per tariff version and
//! TOU period (from the meter's TOU registers when it has them, otherwise from 15-minute
//! intervals), the free quota, and the boundary readings that make each figure traceable.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Timelike, Utc};
use rust_decimal::Decimal;

use super::review::{DataQuality, Drop, Hold, meter_holds, not_over};
use super::statement::{
    BoundaryReading, FreeQuotaUse, Line, MeterBlock, RawReading, Segment, Statement, Status,
    at_places, cents, charge_name, interpolated_places, price_meter, reading_places, split_shares,
    total,
};
use super::tariff::{Kind, Tariff, TierPeriod, TouPeriod};
use super::tenant::{Cycle, FreeQuota, ShareRemainder, Tenant};
use crate::energy::intervals::{
    Anomaly, Event, Quality, RegisterFacts, RegisterReading, register_at,
};
use crate::energy::ledger::{Ledger, Step, facts, register_quantity, registers};
use crate::quantity::{Quantity, TOU_REGISTERS};
use crate::rules::calendar::DayType;
use crate::site::Meter;
use crate::site::Site;
use crate::store::StoreError;
use crate::time::{Month, local_midnight};

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Config(String),
}

/// The days a statement covers: a month, or the quarter ending with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingPeriod {
    /// `2026-10` or `2026-Q4`.
    pub label: String,
    pub start: NaiveDate,
    /// First day not included.
    pub end: NaiveDate,
}

impl BillingPeriod {
    /// The period of `cycle` that ends with `month` (its first day); None for a quarterly
    /// tenant in a month that does not end a quarter.
    pub fn ending_with(month: NaiveDate, cycle: Cycle) -> Option<BillingPeriod> {
        let end = month + Months::new(1);
        match cycle {
            Cycle::Monthly => Some(BillingPeriod {
                label: month.format("%Y-%m").to_string(),
                start: month,
                end,
            }),
            Cycle::Quarterly if month.month().is_multiple_of(3) => Some(BillingPeriod {
                label: format!("{}-Q{}", month.year(), month.month() / 3),
                start: month - Months::new(2),
                end,
            }),
            Cycle::Quarterly => None,
        }
    }

    fn months(&self) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let mut m = self.start;
        while m < self.end {
            out.push(m);
            m = m + Months::new(1);
        }
        out
    }
}

/// Free quota per month, from each month's metered use (pure): what was granted, carried
/// in, used and carried out. `months` start at the first month to consider (carry starts at 0);
/// a month without data (`None`: the meter read nothing in it) earns nothing, since missing
/// is not the same as unused, and is counted in `months_without_data`.
///
/// `opening` (index into `months`, quota) is an opening balance carried in from the system
/// used before: what was carried into that month, in place of jieneng's own figure.
pub fn free_quota_run(
    q: &FreeQuota,
    occupants: u32,
    months: &[(u32, Option<Decimal>)],
    opening: Option<(usize, Decimal)>,
) -> Vec<FreeQuotaUse> {
    let mut carried = Decimal::ZERO;
    let mut out = Vec::new();
    for (k, (month, metered)) in months.iter().enumerate() {
        if q.reset_months.contains(month) {
            carried = Decimal::ZERO;
        }
        if let Some((_, balance)) = opening.filter(|(at, _)| *at == k) {
            carried = balance;
        }
        let granted = if q.applies_in(*month) && metered.is_some() {
            q.per_person * Decimal::from(occupants)
        } else {
            Decimal::ZERO
        };
        let available = granted + carried;
        let used = available.min(metered.unwrap_or_default().max(Decimal::ZERO));
        let carried_out = if q.carry_over {
            available - used
        } else {
            Decimal::ZERO
        };
        out.push(FreeQuotaUse {
            occupants,
            per_person: q.per_person,
            granted,
            carried_in: carried,
            used,
            carried_out,
            months_without_data: u32::from(metered.is_none()),
        });
        carried = carried_out;
    }
    out
}

/// Exact consumption of a register over local days [from, to), and the worst quality.
fn days_total(
    ledger: &Ledger<'_>,
    meter: &Meter,
    quantity: Quantity,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(Decimal, Quality), StoreError> {
    let tz = ledger.timezone();
    let (Some(a), Some(b)) = (local_midnight(from, tz), local_midnight(to, tz)) else {
        return Ok((Decimal::ZERO, Quality::Missing));
    };
    let rows = ledger.meter_exact(meter, quantity, a, b, Step::Day)?;
    let mut sum = Decimal::ZERO;
    let mut quality = Quality::Measured;
    for r in rows.iter().filter(|r| r.end <= b) {
        sum += r.consumption;
        quality = quality.max(r.quality);
    }
    if rows.is_empty() {
        quality = Quality::Missing;
    }
    Ok((sum, quality))
}

/// Where a meter's quantity over [a, b) comes from, and the register drops nobody explained
/// in it. Stretches from `today` on have not happened yet and are not counted missing. Days
/// read throughout are taken whole; any other day is looked at per 15 minutes.
fn data_quality(
    ledger: &Ledger<'_>,
    site: &Site,
    meter: &Meter,
    quantity: Quantity,
    a: DateTime<Utc>,
    b: DateTime<Utc>,
    today: DateTime<Utc>,
) -> Result<DataQuality, StoreError> {
    let mut q = DataQuality::default();
    let hours = |from: DateTime<Utc>, to: DateTime<Utc>| {
        Decimal::from((to - from).num_minutes()) / Decimal::from(60)
    };
    let days = ledger.meter_exact(meter, quantity, a, b, Step::Day)?;
    // A day read, read by hand or corrected throughout is taken whole; a day with anything
    // bridged, estimated, excluded or missing is looked at per 15 minutes.
    let mut doubtful: Vec<Span> = Vec::new();
    for d in days.iter().filter(|d| d.end <= b && d.start < today) {
        match d.quality {
            Quality::Measured | Quality::Manual | Quality::Corrected => {
                q.add(d.consumption, d.quality, hours(d.start, d.end))
            }
            _ => doubtful.push((d.start, d.end)),
        }
    }
    if let (Some(first), Some(last)) = (doubtful.first(), doubtful.last()) {
        let quarters = ledger.meter_exact(meter, quantity, first.0, last.1, Step::Quarter)?;
        let mut k = 0;
        for r in quarters.iter().filter(|r| r.start < today) {
            while k < doubtful.len() && doubtful[k].1 <= r.start {
                k += 1;
            }
            if doubtful
                .get(k)
                .is_some_and(|(s, e)| *s <= r.start && r.end <= *e)
            {
                q.add(r.consumption, r.quality, hours(r.start, r.end));
            }
        }
    }
    // A meter read by hand: a boundary bridged across a missed reading splits the use
    // between periods by a straight line, which the ledger counts as manual.
    if matches!(meter.source, crate::site::MeterSource::Manual { .. }) {
        let period = facts(site, meter, quantity).reading_period;
        for (t, inside) in [(a, true), (b, false)] {
            let Some((from, to)) = bridged(ledger, meter, quantity, t, period)? else {
                continue;
            };
            // The stretch of this period the bridge covers.
            let (from, to) = if inside {
                (a, to.min(b))
            } else {
                (from.max(a), b)
            };
            let part: Decimal = days
                .iter()
                .filter(|d| d.start >= from && d.end <= to && d.start < today)
                .map(|d| d.consumption)
                .sum::<Decimal>()
                .min(q.manual + q.measured);
            let from_manual = part.min(q.manual);
            q.manual -= from_manual;
            q.measured -= part - from_manual;
            q.interpolated += part;
        }
    }
    if q.invalid_hours > Decimal::ZERO {
        let tz = ledger.timezone();
        q.drops = ledger
            .anomalies(meter, quantity, a, b)?
            .into_iter()
            .filter_map(|x| match x {
                Anomaly::UnexplainedDrop { time, from, to } => Some(Drop {
                    time,
                    local_time: local_text(time, tz),
                    from: from.normalize(),
                    to: to.normalize(),
                }),
                _ => None,
            })
            .collect();
    }
    Ok(q)
}

/// From one instant to another.
type Span = (DateTime<Utc>, DateTime<Utc>);

/// The readings either side of `t` when `t` lies more than 1.5 reading periods inside a gap
/// (no reading within 15 minutes of it): the stretch its value is bridged across.
fn bridged(
    ledger: &Ledger<'_>,
    meter: &Meter,
    quantity: Quantity,
    t: DateTime<Utc>,
    reading_period: Duration,
) -> Result<Option<Span>, StoreError> {
    let data = ledger.register_near(meter, quantity, t)?;
    if data
        .readings
        .iter()
        .any(|r| (r.time - t).abs() <= Duration::minutes(15))
    {
        return Ok(None);
    }
    let before = data.readings.iter().rev().find(|r| r.time < t);
    let after = data.readings.iter().find(|r| r.time > t);
    Ok(match (before, after) {
        (Some(x), Some(y)) if (y.time - x.time) * 2 > reading_period * 3 => Some((x.time, y.time)),
        _ => None,
    })
}

/// The register at a statement's boundary `t`, as the ledger's consumption takes it, with the
/// stored readings either side.
pub fn boundary_reading(
    ledger: &Ledger<'_>,
    meter: &Meter,
    quantity: Quantity,
    facts: &RegisterFacts,
    t: DateTime<Utc>,
) -> Result<Option<BoundaryReading>, StoreError> {
    let data = ledger.register_near(meter, quantity, t)?;
    Ok(boundary_at(
        &data.readings,
        &data.events,
        facts,
        t,
        ledger.timezone(),
    ))
}

/// The boundary reading at `t` from a register's readings and events (pure): the value
/// [`register_at`] gives (the reading on the boundary, or interpolated between the readings
/// either side as the ledger does), rounded to the register's resolution, and the nearest
/// reading before `t` and the nearest at or after it. None without a reading either side.
pub fn boundary_at(
    readings: &[RegisterReading],
    events: &[Event],
    facts: &RegisterFacts,
    t: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> Option<BoundaryReading> {
    let places = reading_places(facts.resolution);
    let before = readings
        .iter()
        .filter(|r| r.time < t)
        .max_by_key(|r| r.time);
    let after = readings
        .iter()
        .filter(|r| r.time >= t)
        .min_by_key(|r| r.time);
    let raw: Vec<RawReading> = before
        .into_iter()
        .chain(after)
        .map(|r| RawReading {
            time: r.time,
            local_time: local_text(r.time, tz),
            value: at_places(r.value, places),
            quality: r.quality,
        })
        .collect();
    if raw.is_empty() {
        return None;
    }
    let value = register_at(readings, events, facts, t).map(|(v, q)| match q {
        Quality::Interpolated => (at_places(v, interpolated_places(facts.resolution)), q),
        _ => (at_places(v, places), q),
    });
    Some(BoundaryReading {
        time: t,
        local_time: local_text(t, tz),
        value: value.map(|(v, _)| v),
        quality: value.map_or(Quality::Missing, |(_, q)| q),
        readings: raw,
    })
}

/// Metered consumption of a segment per TOU period, from the TOU registers or by
/// classifying the 15-minute intervals.
fn tou_usage(
    ledger: &Ledger<'_>,
    site: &Site,
    meter: &Meter,
    version: &super::tariff::TariffVersion,
    from: NaiveDate,
    to: NaiveDate,
    with_registers: bool,
) -> Result<Vec<(Option<TouPeriod>, Decimal)>, StoreError> {
    let mut out = Vec::new();
    if with_registers {
        for p in TouPeriod::ALL {
            let (sum, _) = days_total(ledger, meter, Quantity::named(p.register()), from, to)?;
            out.push((Some(p), sum));
        }
        return Ok(out);
    }
    let tz = ledger.timezone();
    let (Some(a), Some(b)) = (local_midnight(from, tz), local_midnight(to, tz)) else {
        return Ok(out);
    };
    let mut sums = [Decimal::ZERO; 4];
    for q in ledger.meter_exact(meter, register_quantity(meter), a, b, Step::Quarter)? {
        let local = q.start.with_timezone(&tz);
        let holiday = site.calendar.day_type(local.date_naive()) == DayType::Holiday;
        let p = version.period_at(
            local.date_naive(),
            local.time().with_nanosecond(0).unwrap_or(local.time()),
            holiday,
        );
        sums[p as usize] += q.consumption;
    }
    Ok(TouPeriod::ALL
        .iter()
        .map(|p| (Some(*p), sums[*p as usize]))
        .collect())
}

/// A draft statement for `tenant` over `period` (nothing is stored).
pub fn draft_statement(
    ledger: &Ledger<'_>,
    site: &Site,
    tenant: &Tenant,
    period: &BillingPeriod,
    opening: Option<(Month, Decimal)>,
    issue_date: NaiveDate,
) -> Result<Statement, BillingError> {
    let settings = &site.billing;
    let tz = ledger.timezone();
    let mut blocks = Vec::new();
    let mut lines: Vec<Line> = Vec::new();
    let mut quota_use: Option<FreeQuotaUse> = None;
    let mut holds: Vec<Hold> = Vec::new();
    for tm in &tenant.meters {
        let meter = site.meter(&tm.meter).ok_or_else(|| {
            BillingError::Config(format!(
                "tenant {}: unknown meter `{}`",
                tenant.id, tm.meter
            ))
        })?;
        let tariff: &Tariff = site.tariff(&tm.tariff).ok_or_else(|| {
            BillingError::Config(format!(
                "tenant {}: unknown tariff `{}`",
                tenant.id, tm.tariff
            ))
        })?;
        let quantity = register_quantity(meter);
        let unit = quantity.unit().to_string();
        let top = crate::energy::category::top_level(meter.category.code);
        let with_registers = registers(meter).len() == 1 + TOU_REGISTERS.len();

        // Free quota per month of the period (with carry-over from up to a year back).
        let mut free_by_month: Vec<Decimal> = vec![Decimal::ZERO; period.months().len()];
        if let (Some(q), Some(occupants)) = (&tenant.free_quota, tenant.occupants) {
            // An opening balance from before the period starts the run; one inside it
            // takes over in its month.
            let opening = opening.filter(|(m, _)| m.first_day() < period.end);
            let first = match opening {
                Some((m, _)) if m.first_day() <= period.start => m.first_day(),
                _ if q.carry_over => period.start - Months::new(12),
                _ => period.start,
            };
            let opening_at = opening.map(|(m, balance)| {
                let (from, to) = (first, m.first_day());
                let months =
                    (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32;
                (months.max(0) as usize, balance)
            });
            let months: Vec<(u32, Option<Decimal>)> =
                match (local_midnight(first, tz), local_midnight(period.end, tz)) {
                    (Some(a), Some(b)) => ledger
                        .meter_exact(meter, quantity, a, b, Step::Month)?
                        .into_iter()
                        .filter(|r| r.end <= b)
                        .map(|r| {
                            // Nothing read in the month at all: no data, not zero use.
                            let data = !(r.quality == Quality::Missing && r.consumption.is_zero());
                            (
                                r.start.with_timezone(&tz).month(),
                                data.then_some(r.consumption),
                            )
                        })
                        .collect(),
                    _ => Vec::new(),
                };
            let run = free_quota_run(q, occupants, &months, opening_at);
            let in_period = &run[run.len().saturating_sub(free_by_month.len())..];
            for (slot, u) in free_by_month.iter_mut().zip(in_period) {
                *slot = u.used;
            }
            let Some(mut sum) = in_period.first().cloned() else {
                return Err(BillingError::Config(format!(
                    "tenant {}: no months to apply the free quota to in {}",
                    tenant.id, period.label
                )));
            };
            for u in &in_period[1..] {
                sum.granted += u.granted;
                sum.used += u.used;
                sum.carried_out = u.carried_out;
                sum.months_without_data += u.months_without_data;
            }
            // Printed as the ledger prints quantities: to 0.0001, no trailing zeros.
            for q in [
                &mut sum.granted,
                &mut sum.carried_in,
                &mut sum.used,
                &mut sum.carried_out,
            ] {
                *q = crate::energy::ledger::round(*q);
            }
            quota_use = Some(sum);
        }

        // Segments: within each month, split where a tariff version starts.
        let mut segments = Vec::new();
        for (k, month) in period.months().into_iter().enumerate() {
            let month_end = month + Months::new(1);
            let mut cuts: Vec<NaiveDate> = vec![month];
            cuts.extend(
                tariff
                    .versions
                    .iter()
                    .map(|v| v.from)
                    .filter(|d| *d > month && *d < month_end),
            );
            cuts.push(month_end);
            let mut free_left = free_by_month[k];
            for w in cuts.windows(2) {
                let (from, to) = (w[0], w[1]);
                let version = tariff.version_at(from).ok_or_else(|| {
                    BillingError::Config(format!(
                        "tariff {}: no version in effect on {from} (the first starts {})",
                        tariff.id,
                        tariff
                            .versions
                            .first()
                            .map_or("never".into(), |v| v.from.to_string())
                    ))
                })?;
                let metered = if version.kind() == Kind::TimeOfUse {
                    tou_usage(ledger, site, meter, version, from, to, with_registers)?
                } else {
                    vec![(None, days_total(ledger, meter, quantity, from, to)?.0)]
                };
                let seg_total: Decimal = metered.iter().map(|(_, m)| *m).sum();
                let free = free_left.min(seg_total.max(Decimal::ZERO));
                free_left -= free;
                let tier_before = match (from == month, version.tier_period) {
                    (false, _) => None,
                    (true, TierPeriod::Month) => Some(Decimal::ZERO),
                    (true, TierPeriod::Year) if k > 0 && month.month() != 1 => None,
                    (true, TierPeriod::Year) => {
                        let jan = NaiveDate::from_ymd_opt(month.year(), 1, 1).unwrap_or(month);
                        let (before, _) = days_total(ledger, meter, quantity, jan, month)?;
                        Some(cents(before * (Decimal::ONE + tm.loss_rate)))
                    }
                };
                segments.push(Segment {
                    from,
                    to,
                    version: version.clone(),
                    metered,
                    free,
                    tier_before,
                });
            }
        }
        let (meter_lines, _) = price_meter(
            &meter.id,
            &unit,
            charge_name(&unit, top),
            tm.loss_rate,
            &segments,
        );
        lines.extend(meter_lines);

        let (Some(a), Some(b)) = (
            local_midnight(period.start, tz),
            local_midnight(period.end, tz),
        ) else {
            return Err(BillingError::Config(format!(
                "period {} has no local midnight",
                period.label
            )));
        };
        let (metered, quality) = days_total(ledger, meter, quantity, period.start, period.end)?;
        let today = local_midnight(issue_date, tz).unwrap_or(b);
        let data = data_quality(ledger, site, meter, quantity, a, b, today)?;
        holds.extend(meter_holds(&meter.id, &data, settings.review_threshold));
        let facts = facts(site, meter, quantity);
        let mut notes: Vec<String> = ledger
            .events(meter, quantity, a, b)?
            .iter()
            .map(|e| match e {
                Event::Replacement {
                    time,
                    old_final,
                    new_initial,
                } => format!(
                    "{} 换表: 旧表止码 {old_final}, 新表起码 {new_initial}",
                    time.with_timezone(&tz).format("%Y-%m-%d %H:%M")
                ),
                Event::Reset { time, new_value } => format!(
                    "{} 表码重置为 {new_value}",
                    time.with_timezone(&tz).format("%Y-%m-%d %H:%M")
                ),
            })
            .collect();
        let mut previous = meter.multiplier_at(a);
        for (until, _) in meter
            .multiplier_history
            .iter()
            .filter(|(u, _)| a < *u && *u < b)
        {
            let next = meter.multiplier_at(*until);
            notes.push(format!(
                "{} 倍率由 {previous} 改为 {next}",
                until.with_timezone(&tz).format("%Y-%m-%d %H:%M")
            ));
            previous = next;
        }
        blocks.push(MeterBlock {
            meter: meter.id.clone(),
            name: meter.name.clone(),
            unit,
            tariff: tariff.id.clone(),
            tariff_name: tariff.name.clone(),
            multiplier: meter.multiplier_at(b - Duration::milliseconds(1)),
            start: boundary_reading(ledger, meter, quantity, &facts, a)?,
            end: boundary_reading(ledger, meter, quantity, &facts, b)?,
            notes,
            metered: crate::energy::ledger::round(metered),
            quality,
            loss_rate: tm.loss_rate,
            tou_registers: with_registers
                && lines
                    .iter()
                    .any(|l| l.meter == meter.id && l.period.is_some()),
            data: data.rounded(),
        });
    }
    if period.end > issue_date {
        holds.insert(0, not_over(period.end.pred_opt().unwrap_or(period.end)));
    }
    let total = total(&lines);
    let due_days = tenant.due_days.unwrap_or(settings.due_days);
    let shares = tenant
        .occupants
        .filter(|n| *n > 0 && tenant.free_quota.is_some())
        .map(|n| split_shares(total, n, settings.share_remainder))
        .unwrap_or_default();
    // The share most occupants pay: the one without the odd fen.
    let per_occupant = match settings.share_remainder {
        ShareRemainder::Last => shares.first(),
        ShareRemainder::First | ShareRemainder::Spread => shares.last(),
    }
    .copied();
    Ok(Statement {
        number: format!(
            "{}-{}-{}",
            settings.number_prefix,
            period.label.replace('-', ""),
            tenant.id
        ),
        tenant: tenant.id.clone(),
        tenant_name: tenant.name.clone(),
        kind: tenant.kind,
        contract: tenant.contract.clone(),
        period: period.label.clone(),
        start: period.start,
        end: period.end.pred_opt().unwrap_or(period.end),
        issue_date,
        due_date: issue_date + Duration::days(i64::from(due_days)),
        status: if holds.is_empty() {
            Status::Draft
        } else {
            Status::NeedsReview
        },
        meters: blocks,
        lines,
        free_quota: quota_use,
        total,
        per_occupant,
        shares,
        replaces: None,
        previous_total: None,
        difference: None,
        paid: Decimal::ZERO,
        late_fee: Decimal::ZERO,
        outstanding: total,
        reissue_needed: false,
        arrears: Decimal::ZERO,
        holds,
        accepted: None,
    })
}

fn local_text(t: DateTime<Utc>, tz: chrono_tz::Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn facts(resolution: Decimal) -> RegisterFacts {
        RegisterFacts {
            rollover: None,
            max_rate_per_hour: None,
            resolution,
            reading_period: Duration::minutes(20),
            max_gap: Duration::days(7),
        }
    }

    fn read(t: DateTime<Utc>, value: Decimal) -> RegisterReading {
        RegisterReading {
            time: t,
            value,
            quality: Quality::Measured,
        }
    }

    #[test]
    fn a_boundary_between_readings_is_interpolated_as_the_ledger_does() {
        use chrono::TimeZone;
        let tz = chrono_tz::Asia::Shanghai;
        let at = |h, m| tz.with_ymd_and_hms(2026, 10, 1, h, m, 0).unwrap().to_utc();
        let midnight = at(0, 0);
        let before = midnight - Duration::minutes(10);
        let readings = [
            read(before, dec!(100.10)),
            read(at(0, 10), dec!(100.45)),
            read(at(0, 30), dec!(100.80)),
        ];
        let b = boundary_at(&readings, &[], &facts(dec!(0.01)), midnight, tz).unwrap();
        assert_eq!(b.value.unwrap().to_string(), "100.2750");
        assert_eq!(b.quality, Quality::Interpolated);
        let raw: Vec<String> = b.readings.iter().map(|r| r.value.to_string()).collect();
        assert_eq!(raw, vec!["100.10", "100.45"]);
        // A reading on the boundary is the value, with its own quality and places.
        let on = boundary_at(&readings, &[], &facts(dec!(0.01)), at(0, 10), tz).unwrap();
        assert_eq!(
            (on.value.unwrap().to_string(), on.quality),
            ("100.45".to_string(), Quality::Measured)
        );
        // A replacement between the readings either side: no value, the readings still shown.
        let replaced = [Event::Replacement {
            time: before + Duration::minutes(5),
            old_final: dec!(100.20),
            new_initial: dec!(0),
        }];
        let b = boundary_at(&readings, &replaced, &facts(dec!(0.01)), midnight, tz).unwrap();
        assert_eq!((b.value, b.quality), (None, Quality::Missing));
        assert_eq!(b.readings.len(), 2);
        // A drop between them (no event): no value either.
        let dropped = [read(before, dec!(100.10)), read(at(0, 10), dec!(99.00))];
        let b = boundary_at(&dropped, &[], &facts(dec!(0.01)), midnight, tz).unwrap();
        assert_eq!(b.value, None);
        // Nothing read near the boundary: no boundary reading at all.
        assert_eq!(
            boundary_at(&[], &[], &facts(dec!(0.01)), midnight, tz),
            None
        );
    }

    #[test]
    fn quarters_end_in_march_june_september_december() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let q = BillingPeriod::ending_with(d("2026-09-01"), Cycle::Quarterly).unwrap();
        assert_eq!(
            (q.label.as_str(), q.start, q.end),
            ("2026-Q3", d("2026-07-01"), d("2026-10-01"))
        );
        assert_eq!(
            BillingPeriod::ending_with(d("2026-08-01"), Cycle::Quarterly),
            None
        );
        assert_eq!(
            BillingPeriod::ending_with(d("2026-08-01"), Cycle::Monthly)
                .unwrap()
                .label,
            "2026-08"
        );
    }

    #[test]
    fn unused_quota_carries_until_a_reset_month() {
        // 4 occupants × 8 kWh; no quota in July and August; carry-over reset each September.
        let q = FreeQuota {
            per_person: dec!(8),
            months: Some(vec![1, 2, 3, 4, 5, 6, 9, 10, 11, 12]),
            carry_over: true,
            reset_months: vec![9],
        };
        let run = free_quota_run(
            &q,
            4,
            &[
                (6, Some(dec!(20))),
                (7, Some(dec!(5))),
                (8, Some(dec!(30))),
                (9, Some(dec!(10))),
                (10, Some(dec!(50))),
            ],
            None,
        );
        let got: Vec<_> = run
            .iter()
            .map(|u| (u.granted, u.carried_in, u.used, u.carried_out))
            .collect();
        assert_eq!(
            got,
            vec![
                (dec!(32), dec!(0), dec!(20), dec!(12)),
                (dec!(0), dec!(12), dec!(5), dec!(7)),
                (dec!(0), dec!(7), dec!(7), dec!(0)),
                (dec!(32), dec!(0), dec!(10), dec!(22)),
                (dec!(32), dec!(22), dec!(50), dec!(4)),
            ]
        );
        let no_carry = FreeQuota {
            carry_over: false,
            ..q
        };
        let run = free_quota_run(
            &no_carry,
            4,
            &[(9, Some(dec!(10))), (10, Some(dec!(50)))],
            None,
        );
        assert_eq!((run[1].carried_in, run[1].used), (dec!(0), dec!(32)));
    }

    #[test]
    fn a_month_without_data_earns_no_free_quota() {
        // Readings start in October: the twelve months before read nothing and grant nothing
        // (counted as zero use they would have carried 12 × 32 = 384 kWh into October).
        let q = FreeQuota {
            per_person: dec!(8),
            months: None,
            carry_over: true,
            reset_months: vec![],
        };
        let mut months: Vec<(u32, Option<Decimal>)> = (1..=12).map(|m| (m, None)).collect();
        months.push((10, Some(dec!(50))));
        let run = free_quota_run(&q, 4, &months, None);
        let october = run.last().unwrap();
        assert_eq!(
            (october.granted, october.carried_in, october.used),
            (dec!(32), dec!(0), dec!(32))
        );
        assert!(
            run[..12]
                .iter()
                .all(|u| u.granted.is_zero() && u.months_without_data == 1)
        );
        assert_eq!(october.months_without_data, 0);
    }
}
