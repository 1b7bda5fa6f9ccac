//! The ledger's query interface: consumption of a meter over local-time steps, computed from
//! the stored register readings by [`intervals`]. Reports, rules and bills read consumption
//! here and nowhere else.

use std::cell::RefCell;
use std::collections::HashMap;
use std::convert::Infallible;
use std::rc::Rc;

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::category::{COOLING, GAS, HEAT, WATER};
pub use super::intervals::Row;
use super::intervals::{Anomaly, Event, Interval, Quality, RegisterFacts, grid, intervals};
use crate::config::line_profile::LineValue;
use crate::config::profile::ValueType;
use crate::decimal::round_half_up;
use crate::quantity::{Quantity, TOU_REGISTERS};
use crate::site::{Meter, MeterSource, Site};
use crate::store::StoreError;
use crate::store::ledger::{DayRow, LedgerState, RegisterData};
use crate::store::sqlite::{StoreReader, StoreWriter};
use crate::time::local_midnight;

/// The grid consumption is reported on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// The register a meter's consumption is counted on.
pub fn register_quantity(meter: &Meter) -> Quantity {
    if let MeterSource::Manual { quantity } = meter.source {
        return quantity;
    }
    Quantity::named(
        match crate::energy::category::top_level(meter.category.code) {
            WATER => "water_m3",
            GAS => "gas_m3",
            HEAT | COOLING => "heat_gj",
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
            let local_midnight = |d: NaiveDate| local_midnight(d, tz);
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

/// The cumulative registers the ledger keeps for a meter: the main one, and the 尖/峰/平/谷
/// time-of-use registers when the meter's profile has them.
pub fn registers(meter: &Meter) -> Vec<Quantity> {
    let mut out = vec![register_quantity(meter)];
    for name in TOU_REGISTERS {
        let q = Quantity::named(name);
        let read = match &meter.source {
            MeterSource::Modbus { profile, .. } => profile.register(q).is_some(),
            MeterSource::Line { profile, .. } => profile.reads(q),
            MeterSource::Mqtt { .. } | MeterSource::Manual { .. } => false,
        };
        if read {
            out.push(q);
        }
    }
    out
}

/// What is known about a meter's register, from its profile and config.
pub fn facts(site: &Site, meter: &Meter, quantity: Quantity) -> RegisterFacts {
    let (rollover, resolution, period) = match &meter.source {
        MeterSource::Modbus { profile, .. } => {
            let spec = profile.register(quantity);
            (
                spec.and_then(|s| s.rollover)
                    .and_then(Decimal::from_f64_retain),
                spec.filter(|s| !matches!(s.value_type, ValueType::F32 | ValueType::F64))
                    .and_then(|s| Decimal::from_f64_retain(s.scale * s.unit_factor))
                    .map(|r| r.round_dp(9).abs())
                    .unwrap_or_default(),
                Duration::minutes(meter.energy_interval_min as i64),
            )
        }
        // BCD registers: XXXXXX.XX wraps after 999999.99, and counts in steps of 0.01.
        MeterSource::Line { profile, .. } => {
            let (rollover, resolution) = profile
                .values
                .iter()
                .find_map(|v| match v {
                    LineValue::Dlt645 {
                        quantities, format, ..
                    } if quantities.contains(&quantity) => Some((
                        Some(Decimal::from(10u64.pow(
                            (format.bytes as u32 * 2).saturating_sub(format.decimals),
                        ))),
                        Decimal::new(1, format.decimals),
                    )),
                    _ => None,
                })
                .unwrap_or((None, Decimal::ZERO));
            (
                rollover,
                resolution,
                Duration::minutes(meter.energy_interval_min as i64),
            )
        }
        MeterSource::Mqtt { .. } => (
            None,
            Decimal::ZERO,
            Duration::minutes(meter.energy_interval_min as i64),
        ),
        // Read monthly by hand: a month between readings is normal.
        MeterSource::Manual { .. } => (None, Decimal::ZERO, Duration::days(31)),
    };
    // The register counts before the multiplier; the most permissive multiplier bounds it.
    let smallest_multiplier = meter
        .multiplier_history
        .iter()
        .map(|(_, m)| *m)
        .fold(meter.multiplier, Decimal::min);
    RegisterFacts {
        rollover,
        max_rate_per_hour: meter.max_power.map(|p| p / smallest_multiplier),
        resolution,
        reading_period: period,
        max_gap: site.ledger.max_gap,
    }
}

/// What stored days were computed with; a change of any of it recomputes them.
fn fingerprint(site: &Site, meter: &Meter, quantity: Quantity) -> String {
    let f = facts(site, meter, quantity);
    format!(
        "v1 tz={} mult={} hist={:?} roll={:?} max={:?} res={} period={} gap={}",
        site.timezone,
        meter.multiplier,
        meter.multiplier_history,
        f.rollover,
        f.max_rate_per_hour,
        f.resolution,
        f.reading_period.num_seconds(),
        f.max_gap.num_seconds()
    )
}

/// Consumption per 15-minute interval over the grid from `from` to `to` (both on it): the
/// intervals of [`intervals`], the multiplier in effect applied, engineers' interval
/// corrections laid over them (a later correction wins). Pure.
pub fn quarters(
    meter: &Meter,
    facts: &RegisterFacts,
    data: &RegisterData,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> (Vec<Interval>, Vec<Anomaly>) {
    let grid = grid(from, to, Duration::minutes(15));
    let (mut fine, anomalies) = intervals(&data.readings, &data.events, facts, &grid);
    for i in &mut fine {
        match i.consumption.checked_mul(meter.multiplier_at(i.start)) {
            Some(c) => i.consumption = c,
            None => {
                i.consumption = Decimal::ZERO;
                i.quality = Quality::Invalid;
            }
        }
    }
    for c in &data.corrections {
        let inside = |i: &Interval| i.start >= c.start && i.end <= c.end;
        let n = fine.iter().filter(|i| inside(i)).count();
        let total_n = ((c.end - c.start).num_minutes() / 15).max(1);
        if n == 0 {
            continue;
        }
        // Spread evenly over the correction's quarters (those in range get their share).
        let share = c.consumption / Decimal::from(total_n);
        for i in fine.iter_mut().filter(|i| inside(i)) {
            i.consumption = share;
            i.quality = c.quality;
        }
    }
    (fine, anomalies)
}

/// A local day and the instants it starts and ends.
type DaySpan = (NaiveDate, DateTime<Utc>, DateTime<Utc>);

/// Local days [from, to) as (start, end) instants.
fn day_spans(from: NaiveDate, to: NaiveDate, tz: Tz) -> Vec<DaySpan> {
    let mut out = Vec::new();
    let mut d = from;
    let mut start = local_midnight(d, tz);
    while d < to {
        let next = d + Duration::days(1);
        let end = local_midnight(next, tz);
        if let (Some(a), Some(b)) = (start, end) {
            out.push((d, a, b));
        }
        (d, start) = (next, end);
    }
    out
}

/// Sums quarters into local days (`spans`, from [`day_spans`]).
fn sum_days(fine: &[Interval], spans: &[DaySpan]) -> Vec<DayRow> {
    let mut k = 0;
    spans
        .iter()
        .map(|&(day, start, end)| {
            while k < fine.len() && fine[k].start < start {
                k += 1;
            }
            let mut consumption = Decimal::ZERO;
            let mut quality = Quality::Measured;
            while k < fine.len() && fine[k].end <= end {
                consumption = consumption.saturating_add(fine[k].consumption);
                quality = quality.max(fine[k].quality);
                k += 1;
            }
            DayRow {
                day,
                consumption,
                quality,
            }
        })
        .collect()
}

/// The first local day whose stored figure may be stale: where the days end, or the day of
/// the earliest change not yet in them.
fn current_until(state: &LedgerState, tz: Tz) -> NaiveDate {
    state
        .dirty_from
        .map(|t| t.with_timezone(&tz).date_naive())
        .map_or(state.through, |d| d.min(state.through))
}

/// Readings loaded around a range, so its edges can be bridged.
fn margin(facts: &RegisterFacts) -> Duration {
    facts.max_gap + Duration::days(1)
}

/// The ledger's query interface over the store and the site config: consumption of meters
/// (here), of virtual meters and units, indicators and balances (`aggregate.rs`). Rules,
/// billing and reports are functions of it; what else they read from the store (alerts,
/// committee points, statements) they are given as a `StoreReader` of their own.
pub struct Ledger<'a> {
    /// The readings, events, corrections and stored days consumption is computed from.
    pub(super) reader: &'a StoreReader,
    /// The meters, units and coefficients; the time zone days and months are cut in.
    pub(super) site: &'a Site,
    memo: Memo,
}

/// What one ledger computes more than once: a report asks for the same meters' days per unit,
/// per category, per quota and per rating.
#[derive(Default)]
struct Memo {
    /// Step boundaries of a range.
    steps: Cache<(DateTime<Utc>, DateTime<Utc>, Step), DateTime<Utc>>,
    /// Local days of a range.
    spans: Cache<(NaiveDate, NaiveDate), DaySpan>,
    /// A register's days past its stored ones, computed from its readings: only in a
    /// [`Ledger::snapshot`], since new readings change them.
    computed_days: Option<Cache<(String, Quantity, NaiveDate, NaiveDate), DayRow>>,
}

type Cache<K, V> = RefCell<HashMap<K, Rc<[V]>>>;

/// The cached value for `key`, computed and kept on the first call.
fn cached<K: std::hash::Hash + Eq, V, E>(
    cache: &Cache<K, V>,
    key: K,
    compute: impl FnOnce() -> Result<Vec<V>, E>,
) -> Result<Rc<[V]>, E> {
    if let Some(hit) = cache.borrow().get(&key) {
        return Ok(hit.clone());
    }
    let value: Rc<[V]> = compute()?.into();
    cache.borrow_mut().insert(key, value.clone());
    Ok(value)
}

/// As [`cached`], for a computation that cannot fail.
fn remembered<K: std::hash::Hash + Eq, V>(
    cache: &Cache<K, V>,
    key: K,
    compute: impl FnOnce() -> Vec<V>,
) -> Rc<[V]> {
    cached(cache, key, || Ok(compute())).unwrap_or_else(|never: Infallible| match never {})
}

impl<'a> Ledger<'a> {
    pub fn new(reader: &'a StoreReader, site: &'a Site) -> Self {
        Ledger {
            reader,
            site,
            memo: Memo::default(),
        }
    }

    /// A ledger over the same store that also remembers the days it computes from readings:
    /// for one report or page, whose figures must agree with each other, and which writes
    /// nothing in between.
    pub fn snapshot(&self) -> Ledger<'a> {
        Ledger {
            reader: self.reader,
            site: self.site,
            memo: Memo {
                computed_days: Some(Cache::default()),
                ..Memo::default()
            },
        }
    }
}

impl Ledger<'_> {
    /// The time zone the ledger cuts local days and months in (the site's).
    pub fn timezone(&self) -> Tz {
        self.site.timezone
    }

    /// A register's readings, events and corrections around `t`, as far either side as the
    /// ledger bridges gaps (a month for meters read by hand): what a boundary reading is
    /// read or interpolated from.
    pub fn register_near(
        &self,
        meter: &Meter,
        quantity: Quantity,
        t: DateTime<Utc>,
    ) -> Result<RegisterData, StoreError> {
        let facts = facts(self.site, meter, quantity);
        self.reader
            .register_around(&meter.id, quantity, t, t, margin(&facts))
    }

    /// The replacements and resets recorded for a register in (from, to], oldest first.
    pub fn events(
        &self,
        meter: &Meter,
        quantity: Quantity,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Event>, StoreError> {
        let data = self
            .reader
            .register_around(&meter.id, quantity, from, to, Duration::zero())?;
        Ok(data
            .events
            .into_iter()
            .filter(|e| from < e.time() && e.time() <= to)
            .collect())
    }

    fn steps(&self, from: DateTime<Utc>, to: DateTime<Utc>, step: Step) -> Rc<[DateTime<Utc>]> {
        let tz = self.site.timezone;
        remembered(&self.memo.steps, (from, to, step), || {
            boundaries(from, to, step, tz)
        })
    }

    fn spans(&self, from: NaiveDate, to: NaiveDate) -> Rc<[DaySpan]> {
        let tz = self.site.timezone;
        remembered(&self.memo.spans, (from, to), || day_spans(from, to, tz))
    }

    /// Consumption of `meter`'s register `quantity` per `step` from `from` to `to`, rounded
    /// half-up to 0.0001. Days and months come from the stored days where they are up to
    /// date, the rest is computed.
    pub fn meter(
        &self,
        meter: &Meter,
        quantity: Quantity,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        step: Step,
    ) -> Result<Vec<Row>, StoreError> {
        let mut rows = self.meter_exact(meter, quantity, from, to, step)?;
        for r in &mut rows {
            r.consumption = round(r.consumption);
        }
        Ok(rows)
    }

    /// As [`Ledger::meter`], unrounded: sums over meters round once, at the end.
    pub(crate) fn meter_exact(
        &self,
        meter: &Meter,
        quantity: Quantity,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        step: Step,
    ) -> Result<Vec<Row>, StoreError> {
        let tz = self.site.timezone;
        let steps = self.steps(from, to, step);
        let (Some(&first), Some(&last)) = (steps.first(), steps.last()) else {
            return Ok(vec![]);
        };
        let facts = facts(self.site, meter, quantity);
        let fine: Vec<Interval> = match step {
            Step::Quarter | Step::Hour => {
                let data = self.reader.register_around(
                    &meter.id,
                    quantity,
                    first,
                    last,
                    margin(&facts),
                )?;
                quarters(meter, &facts, &data, first, last).0
            }
            Step::Day | Step::Month => {
                let (first_day, last_day) = (
                    first.with_timezone(&tz).date_naive(),
                    last.with_timezone(&tz).date_naive(),
                );
                let days = self.days(meter, quantity, &facts, first_day, last_day)?;
                self.spans(first_day, last_day)
                    .iter()
                    .zip(days)
                    .map(|(&(_, start, end), d)| Interval {
                        start,
                        end,
                        consumption: d.consumption,
                        quality: d.quality,
                    })
                    .collect()
            }
        };
        Ok(group(&steps, &fine))
    }

    /// What the ledger found wrong with a register's readings in [from, to): rollovers,
    /// unexplained drops, implausible jumps and gaps too long to bridge.
    pub fn anomalies(
        &self,
        meter: &Meter,
        quantity: Quantity,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Anomaly>, StoreError> {
        let facts = facts(self.site, meter, quantity);
        let data = self
            .reader
            .register_around(&meter.id, quantity, from, to, margin(&facts))?;
        let (_, all) = intervals(&data.readings, &data.events, &facts, &[]);
        Ok(all
            .into_iter()
            .filter(|a| {
                let (start, end) = match a {
                    Anomaly::Rollover { time, .. }
                    | Anomaly::UnexplainedDrop { time, .. }
                    | Anomaly::ImplausibleJump { time, .. } => (*time, *time),
                    Anomaly::Gap { from, to } => (*from, *to),
                };
                start < to && end >= from
            })
            .collect())
    }

    /// Local days [from, to): stored ones while they are current, computed after that.
    fn days(
        &self,
        meter: &Meter,
        quantity: Quantity,
        facts: &RegisterFacts,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayRow>, StoreError> {
        let tz = self.site.timezone;
        let (state, stored) = self.reader.days(&meter.id, quantity, from, to)?;
        let current = state
            .filter(|s| s.fingerprint == fingerprint(self.site, meter, quantity))
            .map(|s| current_until(&s, tz));
        let stored_until = current.unwrap_or(from).clamp(from, to);
        let stored: std::collections::HashMap<NaiveDate, DayRow> =
            stored.into_iter().map(|r| (r.day, r)).collect();
        let mut out: Vec<DayRow> = self
            .spans(from, stored_until)
            .iter()
            .map(|&(day, _, _)| {
                stored.get(&day).cloned().unwrap_or(DayRow {
                    day,
                    consumption: Decimal::ZERO,
                    quality: Quality::Missing,
                })
            })
            .collect();
        if stored_until < to {
            out.extend_from_slice(&self.computed_days(meter, quantity, facts, stored_until, to)?);
        }
        Ok(out)
    }

    /// Local days [from, to) computed from the register's readings.
    fn computed_days(
        &self,
        meter: &Meter,
        quantity: Quantity,
        facts: &RegisterFacts,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Rc<[DayRow]>, StoreError> {
        let compute = || {
            let tz = self.site.timezone;
            let (Some(a), Some(b)) = (local_midnight(from, tz), local_midnight(to, tz)) else {
                return Ok(vec![]);
            };
            let data = self
                .reader
                .register_around(&meter.id, quantity, a, b, margin(facts))?;
            let fine = quarters(meter, facts, &data, a, b).0;
            Ok(sum_days(&fine, &self.spans(from, to)))
        };
        match &self.memo.computed_days {
            Some(cache) => cached(cache, (meter.id.clone(), quantity, from, to), compute),
            None => compute().map(Rc::from),
        }
    }
}

/// Rounds a reported figure half-up to 0.0001.
pub fn round(d: Decimal) -> Decimal {
    round_half_up(d, 4).normalize()
}

/// Sums fine intervals into the steps' windows.
fn group(steps: &[DateTime<Utc>], fine: &[Interval]) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut k = 0;
    for w in steps.windows(2) {
        let (start, end) = (w[0], w[1]);
        let mut sum = Decimal::ZERO;
        let mut quality = Quality::Measured;
        while k < fine.len() && fine[k].start < start {
            k += 1;
        }
        while k < fine.len() && fine[k].end <= end {
            sum = sum.saturating_add(fine[k].consumption);
            quality = quality.max(fine[k].quality);
            k += 1;
        }
        rows.push(Row {
            start,
            end,
            consumption: sum,
            quality,
        });
    }
    rows
}

/// Brings one register's stored days up to date: from where it is dirty (or from its first
/// reading when the meter's facts changed) to the last local day its readings settle.
/// Returns whether anything was stored.
pub fn refresh(
    writer: &mut StoreWriter,
    site: &Site,
    meter: &Meter,
    quantity: Quantity,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let tz = site.timezone;
    let facts = facts(site, meter, quantity);
    let fp = fingerprint(site, meter, quantity);
    writer.refresh_days(&meter.id, quantity, margin(&facts), |state, load| {
        let state = state.filter(|s| s.fingerprint == fp);
        let from: Option<NaiveDate> = state.map(|s| current_until(s, tz));
        let load_from = from
            .and_then(|d| local_midnight(d, tz))
            .unwrap_or(DateTime::<Utc>::MIN_UTC + margin(&facts) + Duration::days(2));
        let data = load(load_from)?;
        let (Some(first), Some(last)) = (data.readings.first(), data.readings.last()) else {
            return Ok(None);
        };
        // A day is settled when readings lie beyond its end: the day of the second-to-last
        // reading (a last reading can still turn out to be a jump) and before today.
        let settled = data.readings[data.readings.len().saturating_sub(2)].time;
        let through = settled
            .with_timezone(&tz)
            .date_naive()
            .min(now.with_timezone(&tz).date_naive());
        let begin = from.unwrap_or_else(|| first.time.with_timezone(&tz).date_naive());
        if state.is_some_and(|s| s.dirty_from.is_none() && s.through >= through) {
            return Ok(None);
        }
        let (Some(a), Some(b)) = (
            local_midnight(begin, tz),
            local_midnight(through.max(begin), tz),
        ) else {
            return Ok(None);
        };
        let fine = quarters(meter, &facts, &data, a, b).0;
        let mut days = sum_days(&fine, &day_spans(begin, through.max(begin), tz));
        // Days at the end with nothing to bridge them (a meter silent, or its last values still
        // in doubt) are not stored: the next readings may fill them in.
        while days.last().is_some_and(|d| d.quality == Quality::Missing) {
            days.pop();
        }
        let through = days.last().map_or(begin, |d| d.day + Duration::days(1));
        Ok(Some((
            begin,
            days,
            LedgerState {
                fingerprint: fp.clone(),
                through,
                last_reading: last.time,
                dirty_from: None,
            },
        )))
    })
}

/// Refreshes every register of every meter; the number of registers that changed.
pub fn refresh_all(
    writer: &mut StoreWriter,
    site: &Site,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut changed = 0;
    for meter in &site.meters {
        for quantity in registers(meter) {
            if refresh(writer, site, meter, quantity, now)? {
                changed += 1;
            }
        }
    }
    Ok(changed)
}

/// Consumption of `meter`'s main register per `step` between `from` and `to`.
pub fn consumption(
    reader: &StoreReader,
    site: &Site,
    meter: &Meter,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step: Step,
) -> Result<Vec<Row>, StoreError> {
    Ledger::new(reader, site).meter(meter, register_quantity(meter), from, to, step)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_time;
    use chrono::TimeZone;

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
