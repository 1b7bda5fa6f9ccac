//! Interval consumption from cumulative register readings: a pure function of (readings,
//! events, register facts, grid) → (intervals, anomalies). The ledger stores what this
//! computes and recomputes it after a correction or a late reading.
//!
//! The known ways peers get this wrong (FIELD-NOTES) are handled here:
//! - rollover at the register's modulus counts what passed the wrap, not a negative;
//! - a replacement or reset (an explicit event) joins the old and the new register;
//! - an unexplained drop is flagged and its span excluded — never negative, never huge;
//!   counting resumes from the new level;
//! - an implausible jump (more than max power × duration × 1.5) is flagged and excluded: a
//!   single garbage value is skipped, a level that stays is taken as the new baseline;
//! - out-of-order and duplicate readings do not matter: readings are ordered and deduplicated;
//! - gaps are bridged linearly up to `max_gap` and flagged; longer gaps stay missing.

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Where a boundary value (and so an interval) comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    /// Readings close to both boundaries.
    Measured,
    /// A boundary lies in a gap longer than two reading periods, bridged linearly.
    Interpolated,
    /// A boundary rests on a reading entered by hand.
    Manual,
    /// An engineer corrected a reading it rests on, or set the interval's consumption.
    Corrected,
    /// An engineer estimated the interval's consumption (the meter could not measure it).
    Estimated,
    /// The interval spans an excluded stretch (unexplained drop, implausible jump).
    Invalid,
    /// No readings to bridge the boundary with (gap beyond `max_gap`, or outside the data).
    Missing,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegisterReading {
    pub time: DateTime<Utc>,
    pub value: Decimal,
    /// Measured, Manual (entered by hand) or Corrected (an engineer's correction).
    pub quality: Quality,
}

/// Engineer-recorded events that break the register's continuity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    /// The meter was replaced: the old one stopped at `old_final`, the new one started at
    /// `new_initial`.
    Replacement {
        time: DateTime<Utc>,
        old_final: Decimal,
        new_initial: Decimal,
    },
    /// The register was reset (or set) to `new_value` without consumption in between.
    Reset {
        time: DateTime<Utc>,
        new_value: Decimal,
    },
}

impl Quality {
    /// Best to worst; a quality's position is its stored code.
    pub const ALL: [Quality; 7] = [
        Quality::Measured,
        Quality::Interpolated,
        Quality::Manual,
        Quality::Corrected,
        Quality::Estimated,
        Quality::Invalid,
        Quality::Missing,
    ];
}

impl Event {
    pub fn time(&self) -> DateTime<Utc> {
        match self {
            Event::Replacement { time, .. } | Event::Reset { time, .. } => *time,
        }
    }
}

/// What is known about the register.
#[derive(Debug, Clone, Copy)]
pub struct RegisterFacts {
    /// Modulus at which the register wraps (100000.00 for one that shows 99999.99 then 0.00).
    pub rollover: Option<Decimal>,
    /// Highest plausible rate (kW, m³/h) of the register, for jump detection.
    pub max_rate_per_hour: Option<Decimal>,
    /// The register's smallest step (1 m³ for a register holding whole m³): a step of this
    /// size is never a jump, however short the time.
    pub resolution: Decimal,
    /// The usual time between readings; boundaries further than twice this from a reading are
    /// interpolated.
    pub reading_period: Duration,
    /// Gaps longer than this are not bridged.
    pub max_gap: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interval {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Register units consumed (before the multiplier); zero when `quality` is invalid or missing.
    pub consumption: Decimal,
    pub quality: Quality,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Anomaly {
    Rollover {
        time: DateTime<Utc>,
        from: Decimal,
        to: Decimal,
    },
    UnexplainedDrop {
        time: DateTime<Utc>,
        from: Decimal,
        to: Decimal,
    },
    ImplausibleJump {
        time: DateTime<Utc>,
        from: Decimal,
        to: Decimal,
    },
    Gap {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
}

/// A point of the continuous ("unwrapped") register: consumption so far since the first reading.
#[derive(Debug, Clone, Copy)]
struct Point {
    time: DateTime<Utc>,
    /// `time` in milliseconds, for the arithmetic of the hot loops.
    ms: i64,
    total: Decimal,
    /// The register as read.
    value: Decimal,
    quality: Quality,
}

/// The unwrapped register: points, and stretches excluded from consumption.
struct Unwrapped {
    points: Vec<Point>,
    /// Excluded stretches, in milliseconds.
    excluded: Vec<(i64, i64)>,
    anomalies: Vec<Anomaly>,
}

/// The largest plausible register growth over `span`: max rate × time × 1.5, plus one step
/// of the register's resolution. `per_ms` is max rate × 1.5 per millisecond, computed once.
fn jump_limit(per_ms: Option<Decimal>, span_ms: i64, resolution: Decimal) -> Option<Decimal> {
    per_ms.map(|p| p * Decimal::from(span_ms) + resolution)
}

/// Whether a drop can be the register passing its modulus: only from near the top to near
/// zero, so what the wrap implies is under a tenth of the register's range. A drop from 1500 to
/// 1490 on a 100000 register would imply 99,990 units in one step, whatever the meter's rate
/// (often unknown): an unexplained drop, never a bill.
fn plausible_wrap(modulus: Decimal, implied: Decimal) -> bool {
    implied >= Decimal::ZERO && implied * Decimal::TEN < modulus
}

fn unwrap(readings: &[RegisterReading], events: &[Event], facts: &RegisterFacts) -> Unwrapped {
    let mut sorted: Vec<RegisterReading> = readings.to_vec();
    sorted.sort_by_key(|r| (r.time, r.value, r.quality));
    sorted.dedup_by(|b, a| a.time == b.time);
    let mut events: Vec<Event> = events.to_vec();
    events.sort_by_key(|e| e.time());

    let mut out = Unwrapped {
        points: Vec::new(),
        excluded: Vec::new(),
        anomalies: Vec::new(),
    };
    let mut iter = sorted.into_iter();
    let Some(first) = iter.next() else { return out };
    let mut prev = first; // the last accepted reading
    let mut prev_ms = first.time.timestamp_millis();
    let mut total = Decimal::ZERO;
    out.points.push(Point {
        time: first.time,
        ms: prev_ms,
        total,
        value: first.value,
        quality: first.quality,
    });
    let mut suspect: Option<(RegisterReading, i64)> = None;
    let per_ms = facts
        .max_rate_per_hour
        .map(|m| m * Decimal::new(15, 1) / Decimal::from(3_600_000));
    for r in iter {
        let r_ms = r.time.timestamp_millis();
        // Events between the previous accepted reading and this one join the registers.
        let between: Vec<&Event> = if events.is_empty() {
            Vec::new()
        } else {
            events
                .iter()
                .filter(|e| e.time() > prev.time && e.time() <= r.time)
                .collect()
        };
        let delta = if !between.is_empty() {
            let mut d = Decimal::ZERO;
            let mut level = prev.value;
            for e in &between {
                match e {
                    Event::Replacement {
                        old_final,
                        new_initial,
                        ..
                    } => {
                        d += (*old_final - level).max(Decimal::ZERO);
                        level = *new_initial;
                    }
                    Event::Reset { new_value, .. } => level = *new_value,
                }
            }
            d + (r.value - level).max(Decimal::ZERO)
        } else {
            r.value - prev.value
        };
        let limit = jump_limit(per_ms, r_ms - prev_ms, facts.resolution);
        if delta < Decimal::ZERO {
            let wrapped = facts.rollover.and_then(|m| {
                let w = m.checked_sub(prev.value)?.checked_add(r.value)?;
                plausible_wrap(m, w).then_some(w)
            });
            match wrapped.filter(|w| {
                *w >= Decimal::ZERO
                    && limit.is_none_or(|l| *w <= l)
                    && total.checked_add(*w).is_some()
            }) {
                Some(w) => {
                    out.anomalies.push(Anomaly::Rollover {
                        time: r.time,
                        from: prev.value,
                        to: r.value,
                    });
                    total += w;
                }
                _ => {
                    // Unexplained: exclude the span, count on from the new level.
                    out.anomalies.push(Anomaly::UnexplainedDrop {
                        time: r.time,
                        from: prev.value,
                        to: r.value,
                    });
                    out.excluded.push((prev_ms, r_ms));
                }
            }
            suspect = None;
        } else if limit.is_some_and(|l| delta > l) || total.checked_add(delta).is_none() {
            // Too fast for the meter, or beyond any count a register can hold.
            match suspect {
                // The jumped level held: take it as the new baseline, the jump itself excluded.
                Some((s, s_ms))
                    if (r.value - s.value) >= Decimal::ZERO
                        && jump_limit(per_ms, r_ms - s_ms, facts.resolution)
                            .is_some_and(|l| r.value - s.value <= l)
                        && total.checked_add(r.value - s.value).is_some() =>
                {
                    out.anomalies.push(Anomaly::ImplausibleJump {
                        time: s.time,
                        from: prev.value,
                        to: s.value,
                    });
                    out.excluded.push((prev_ms, s_ms));
                    out.points.push(Point {
                        time: s.time,
                        ms: s_ms,
                        total,
                        value: s.value,
                        quality: s.quality,
                    });
                    total += r.value - s.value;
                    suspect = None;
                }
                _ => {
                    if let Some((s, _)) = suspect {
                        // Replaced by another implausible value: it was garbage too.
                        out.anomalies.push(Anomaly::ImplausibleJump {
                            time: s.time,
                            from: prev.value,
                            to: s.value,
                        });
                    }
                    suspect = Some((r, r_ms));
                    continue; // wait: a single garbage value is skipped
                }
            }
        } else {
            if let Some((s, _)) = suspect.take() {
                // The jump did not hold: it was a garbage value.
                out.anomalies.push(Anomaly::ImplausibleJump {
                    time: s.time,
                    from: prev.value,
                    to: s.value,
                });
            }
            total += delta;
        }
        out.points.push(Point {
            time: r.time,
            ms: r_ms,
            total,
            value: r.value,
            quality: r.quality,
        });
        prev = r;
        prev_ms = r_ms;
    }
    if let Some((s, _)) = suspect {
        out.anomalies.push(Anomaly::ImplausibleJump {
            time: s.time,
            from: prev.value,
            to: s.value,
        });
    }
    out
}

/// The register total at `t` (milliseconds) and how it was obtained; `i` is the number of
/// points at or before `t` (boundaries are visited in order, so it only moves forward).
fn value_at(
    u: &Unwrapped,
    i: usize,
    t: i64,
    max_gap_ms: i64,
    two_periods_ms: i64,
) -> Option<(Decimal, Quality)> {
    let before = i.checked_sub(1).map(|k| u.points[k])?;
    if before.ms == t {
        return Some((before.total, before.quality));
    }
    let after = *u.points.get(i)?;
    let gap = after.ms - before.ms;
    if gap > max_gap_ms {
        return None;
    }
    let share = Decimal::from(t - before.ms) / Decimal::from(gap.max(1));
    let value = before.total + (after.total - before.total) * share;
    let quality = if gap > two_periods_ms {
        before.quality.max(after.quality).max(Quality::Interpolated)
    } else {
        before.quality.max(after.quality)
    };
    Some((value, quality))
}

/// Consumption per interval of the grid `boundaries` (ascending instants: n + 1 boundaries
/// make n intervals), with the anomalies found in the readings.
pub fn intervals(
    readings: &[RegisterReading],
    events: &[Event],
    facts: &RegisterFacts,
    boundaries: &[DateTime<Utc>],
) -> (Vec<Interval>, Vec<Anomaly>) {
    let u = unwrap(readings, events, facts);
    let mut anomalies = u.anomalies.clone();
    let max_gap_ms = facts.max_gap.num_milliseconds();
    let two_periods_ms = facts.reading_period.num_milliseconds() * 2;
    for w in u.points.windows(2) {
        if w[1].ms - w[0].ms > max_gap_ms {
            anomalies.push(Anomaly::Gap {
                from: w[0].time,
                to: w[1].time,
            });
        }
    }
    let bounds_ms: Vec<i64> = boundaries.iter().map(|b| b.timestamp_millis()).collect();
    let mut i = 0;
    let values: Vec<Option<(Decimal, Quality)>> = bounds_ms
        .iter()
        .map(|&t| {
            if i > 0 && u.points[i - 1].ms > t {
                // Not ascending after all: search from scratch.
                i = u.points.partition_point(|p| p.ms <= t);
            }
            while i < u.points.len() && u.points[i].ms <= t {
                i += 1;
            }
            value_at(&u, i, t, max_gap_ms, two_periods_ms)
        })
        .collect();
    let out = boundaries
        .windows(2)
        .zip(bounds_ms.windows(2))
        .zip(values.windows(2))
        .map(|((b, b_ms), v)| {
            let (start, end) = (b[0], b[1]);
            let excluded = !u.excluded.is_empty()
                && u.excluded.iter().any(|(a, z)| *a < b_ms[1] && *z > b_ms[0]);
            match (v[0], v[1]) {
                _ if excluded => Interval {
                    start,
                    end,
                    consumption: Decimal::ZERO,
                    quality: Quality::Invalid,
                },
                (Some((a, qa)), Some((z, qz))) => Interval {
                    start,
                    end,
                    consumption: (z - a).max(Decimal::ZERO),
                    quality: qa.max(qz),
                },
                _ => Interval {
                    start,
                    end,
                    consumption: Decimal::ZERO,
                    quality: Quality::Missing,
                },
            }
        })
        .collect();
    (out, anomalies)
}

/// The register's value at `t` as [`intervals`] takes it for a boundary, on the register as
/// read: the reading at `t` with its own quality, or linear between the readings either side
/// (`Interpolated`). None where the ledger has no value there (before the first reading, after
/// the last, in a gap beyond `max_gap`) or the register is not one continuous count between
/// the readings either side (a replacement or reset, a rollover, an unexplained drop, an
/// excluded jump): no single register value stands for the boundary then.
pub fn register_at(
    readings: &[RegisterReading],
    events: &[Event],
    facts: &RegisterFacts,
    t: DateTime<Utc>,
) -> Option<(Decimal, Quality)> {
    let u = unwrap(readings, events, facts);
    let t_ms = t.timestamp_millis();
    let i = u.points.partition_point(|p| p.ms <= t_ms);
    let before = u.points[i.checked_sub(1)?];
    if before.ms == t_ms {
        return Some((before.value, before.quality));
    }
    let after = *u.points.get(i)?;
    let broken = events
        .iter()
        .any(|e| before.time < e.time() && e.time() <= after.time);
    // The unwrapped count grew by exactly what the register shows: no wrap, drop or jump.
    if broken || after.total - before.total != after.value - before.value {
        return None;
    }
    let two_periods_ms = facts.reading_period.num_milliseconds() * 2;
    let (total, _) = value_at(
        &u,
        i,
        t_ms,
        facts.max_gap.num_milliseconds(),
        two_periods_ms,
    )?;
    Some((before.value + (total - before.total), Quality::Interpolated))
}

/// Boundaries every `step` from `from` to `to` (both on the grid).
pub fn grid(from: DateTime<Utc>, to: DateTime<Utc>, step: Duration) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    let mut t = from;
    while t <= to {
        out.push(t);
        t += step;
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap() + Duration::minutes(min)
    }
    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }
    fn r(min: i64, v: &str) -> RegisterReading {
        RegisterReading {
            time: t(min),
            value: d(v),
            quality: Quality::Measured,
        }
    }
    fn facts() -> RegisterFacts {
        RegisterFacts {
            rollover: Some(d("100000")),
            max_rate_per_hour: Some(d("100")),
            resolution: Decimal::ZERO,
            reading_period: Duration::minutes(15),
            max_gap: Duration::days(7),
        }
    }
    fn run(
        readings: &[RegisterReading],
        events: &[Event],
        n: i64,
    ) -> (Vec<(String, Quality)>, Vec<Anomaly>) {
        let (iv, an) = intervals(
            readings,
            events,
            &facts(),
            &grid(t(0), t(15 * n), Duration::minutes(15)),
        );
        (
            iv.into_iter()
                .map(|i| (i.consumption.normalize().to_string(), i.quality))
                .collect(),
            an,
        )
    }

    #[test]
    fn steady_readings_are_measured() {
        let (iv, an) = run(&[r(0, "100"), r(15, "110"), r(30, "125.5")], &[], 2);
        assert_eq!(
            iv,
            vec![
                ("10".into(), Quality::Measured),
                ("15.5".into(), Quality::Measured)
            ]
        );
        assert!(an.is_empty());
    }

    #[test]
    fn rollover_counts_across_the_wrap() {
        let (iv, an) = run(&[r(0, "99990"), r(15, "99999.99"), r(30, "5")], &[], 2);
        assert_eq!(
            iv,
            vec![
                ("9.99".into(), Quality::Measured),
                ("5.01".into(), Quality::Measured)
            ]
        );
        assert!(matches!(an[0], Anomaly::Rollover { .. }));
    }

    #[test]
    fn a_small_drop_is_never_a_wrap_even_without_a_rate() {
        // 1500 → 1490 on a register that wraps at 100000, rate unknown: taken as a wrap it
        // would be 99,990 units (billed as 101,000 kWh at a multiplier of ~1.01).
        let mut f = facts();
        f.max_rate_per_hour = None;
        let (iv, an) = intervals(
            &[r(0, "1400"), r(15, "1500"), r(30, "1490"), r(45, "1495")],
            &[],
            &f,
            &grid(t(0), t(45), Duration::minutes(15)),
        );
        let q: Vec<Quality> = iv.iter().map(|i| i.quality).collect();
        assert_eq!(
            q,
            vec![Quality::Measured, Quality::Invalid, Quality::Measured]
        );
        assert_eq!(iv[1].consumption, Decimal::ZERO);
        assert_eq!(iv[2].consumption, d("5"));
        assert!(
            matches!(an[..], [Anomaly::UnexplainedDrop { from, to, .. }] if from == d("1500") && to == d("1490")),
            "{an:?}"
        );
        // A real wrap, from the top of the range to near zero, still counts.
        let (iv, an) = intervals(
            &[r(0, "99990"), r(15, "99999"), r(30, "12")],
            &[],
            &f,
            &grid(t(0), t(30), Duration::minutes(15)),
        );
        assert_eq!(iv[1].consumption, d("13"));
        assert!(matches!(an[..], [Anomaly::Rollover { .. }]), "{an:?}");
    }

    #[test]
    fn replacement_joins_old_and_new_meter() {
        let e = Event::Replacement {
            time: t(20),
            old_final: d("1210"),
            new_initial: d("0"),
        };
        let (iv, _) = run(&[r(0, "1200"), r(15, "1208"), r(30, "4")], &[e], 2);
        // 1208 → 1210 on the old meter, 0 → 4 on the new one.
        assert_eq!(iv[1], ("6".into(), Quality::Measured));
    }

    #[test]
    fn unexplained_drop_is_excluded_and_counting_resumes() {
        let mut f = facts();
        f.rollover = None;
        let (iv, an) = intervals(
            &[r(0, "500"), r(15, "510"), r(30, "3"), r(45, "8")],
            &[],
            &f,
            &grid(t(0), t(45), Duration::minutes(15)),
        );
        let q: Vec<Quality> = iv.iter().map(|i| i.quality).collect();
        assert_eq!(
            q,
            vec![Quality::Measured, Quality::Invalid, Quality::Measured]
        );
        assert_eq!(iv[2].consumption, d("5"));
        assert!(matches!(an[0], Anomaly::UnexplainedDrop { .. }));
    }

    #[test]
    fn a_garbage_spike_is_skipped_and_a_real_jump_becomes_the_baseline() {
        // 100 kW max: 15 minutes allow 37.5. 53700 is a timed-out meter's garbage.
        let (iv, an) = run(
            &[r(0, "100"), r(15, "110"), r(30, "53700"), r(45, "130")],
            &[],
            3,
        );
        assert_eq!(
            iv.iter().map(|x| x.0.as_str()).collect::<Vec<_>>(),
            vec!["10", "10", "10"]
        );
        assert!(matches!(an[0], Anomaly::ImplausibleJump { .. }));
        // A level that stays: the jump is excluded, counting goes on from there.
        let (iv, _) = run(
            &[r(0, "100"), r(15, "5000"), r(30, "5010"), r(45, "5020")],
            &[],
            3,
        );
        assert_eq!(iv[0].1, Quality::Invalid);
        assert_eq!(iv[1], ("10".into(), Quality::Measured));
    }

    #[test]
    fn gaps_are_interpolated_then_missing() {
        // Readings at 0 and 120: boundaries between are interpolated (spread evenly).
        let (iv, _) = run(&[r(0, "0"), r(120, "80")], &[], 8);
        assert!(
            iv.iter()
                .all(|(c, q)| c == "10" && *q == Quality::Interpolated),
            "{iv:?}"
        );
        let mut f = facts();
        f.max_gap = Duration::minutes(60);
        let (iv, an) = intervals(
            &[r(0, "0"), r(120, "80")],
            &[],
            &f,
            &grid(t(0), t(120), Duration::minutes(15)),
        );
        assert!(iv.iter().all(|i| i.quality == Quality::Missing));
        assert!(matches!(an[0], Anomaly::Gap { .. }));
    }

    #[test]
    fn manual_readings_mark_their_intervals() {
        let readings = [
            RegisterReading {
                time: t(0),
                value: d("10"),
                quality: Quality::Manual,
            },
            r(15, "12"),
        ];
        let (iv, _) = run(&readings, &[], 1);
        assert_eq!(iv, vec![("2".into(), Quality::Manual)]);
    }

    fn readings_strategy() -> impl Strategy<Value = Vec<RegisterReading>> {
        prop::collection::vec((0i64..2000, 0u32..50_000, any::<bool>()), 0..60).prop_map(|v| {
            v.into_iter()
                .map(|(m, x, manual)| RegisterReading {
                    time: t(m),
                    value: Decimal::new(x as i64, 1),
                    quality: if manual {
                        Quality::Manual
                    } else {
                        Quality::Measured
                    },
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn never_negative_sums_hold_and_order_does_not_matter(readings in readings_strategy(), shuffle in any::<u64>()) {
            let f = facts();
            let fine = grid(t(0), t(1800), Duration::minutes(15));
            let coarse = grid(t(0), t(1800), Duration::minutes(60));
            let (a, _) = intervals(&readings, &[], &f, &fine);
            prop_assert!(a.iter().all(|i| i.consumption >= Decimal::ZERO));
            // Sums over sub-intervals equal the whole where every part is usable.
            let (b, _) = intervals(&readings, &[], &f, &coarse);
            for (k, hour) in b.iter().enumerate() {
                let parts = &a[k * 4..k * 4 + 4];
                if hour.quality < Quality::Invalid && parts.iter().all(|p| p.quality < Quality::Invalid) {
                    let sum: Decimal = parts.iter().map(|p| p.consumption).sum();
                    prop_assert!((sum - hour.consumption).abs() <= Decimal::new(1, 5), "{sum} vs {}", hour.consumption);
                }
            }
            // The order readings arrive in does not change the result, and recomputing is idempotent.
            let mut shuffled = readings.clone();
            let n = shuffled.len().max(1);
            shuffled.rotate_left((shuffle as usize) % n);
            shuffled.reverse();
            prop_assert_eq!(intervals(&shuffled, &[], &f, &fine).0, a.clone());
            prop_assert_eq!(intervals(&readings, &[], &f, &fine).0, a);
        }

        #[test]
        fn register_values_at_the_boundaries_differ_by_the_consumption(readings in readings_strategy(), from in 0i64..1800, len in 1i64..600) {
            // Where a register value stands for both ends, their difference is what the
            // interval between them counted, to the figure (no rounding in between).
            let f = facts();
            let (a, b) = (t(from), t(from + len));
            let (iv, anomalies) = intervals(&readings, &[], &f, &[a, b]);
            let wrapped = anomalies.iter().any(|x| matches!(x, Anomaly::Rollover { .. }));
            if let (Some((va, _)), Some((vb, _))) = (register_at(&readings, &[], &f, a), register_at(&readings, &[], &f, b))
                && iv[0].quality < Quality::Invalid
                && !wrapped
            {
                prop_assert!((vb - va - iv[0].consumption).abs() <= Decimal::new(1, 12), "{va} → {vb} vs {}", iv[0].consumption);
            }
        }

        #[test]
        fn a_drop_within_the_range_never_becomes_consumption(top in 0u32..100_000, drop in 1u32..90_000, rate in proptest::option::of(1u32..100_000)) {
            // With no event recorded, a register that falls by less than nine tenths of its
            // range has not wrapped, whatever the meter's rate: nothing of the drop is counted.
            prop_assume!(drop <= top);
            let mut f = facts();
            f.max_rate_per_hour = rate.map(Decimal::from);
            let (iv, an) = intervals(
                &[r(0, &top.to_string()), r(15, &(top - drop).to_string())],
                &[],
                &f,
                &grid(t(0), t(15), Duration::minutes(15)),
            );
            prop_assert_eq!(iv[0].consumption, Decimal::ZERO);
            prop_assert_eq!(iv[0].quality, Quality::Invalid);
            prop_assert!(matches!(an[..], [Anomaly::UnexplainedDrop { .. }]), "{:?}", an);
        }
    }
}
