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
use serde::Serialize;

/// Where a boundary value (and so an interval) comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
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
    total: Decimal,
    quality: Quality,
}

/// The unwrapped register: points, and stretches excluded from consumption.
struct Unwrapped {
    points: Vec<Point>,
    excluded: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    anomalies: Vec<Anomaly>,
}

fn hours(d: Duration) -> Decimal {
    Decimal::from(d.num_milliseconds()) / Decimal::from(3_600_000)
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
    let mut total = Decimal::ZERO;
    out.points.push(Point {
        time: first.time,
        total,
        quality: first.quality,
    });
    let mut suspect: Option<RegisterReading> = None;
    for r in iter {
        // Events between the previous accepted reading and this one join the registers.
        let between: Vec<&Event> = events
            .iter()
            .filter(|e| e.time() > prev.time && e.time() <= r.time)
            .collect();
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
        let span = r.time - prev.time;
        let limit = facts
            .max_rate_per_hour
            .map(|m| m * hours(span) * Decimal::new(15, 1) + facts.resolution);
        if delta < Decimal::ZERO {
            let wrapped = facts.rollover.map(|m| m - prev.value + r.value);
            match wrapped {
                Some(w) if w >= Decimal::ZERO && limit.is_none_or(|l| w <= l) => {
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
                    out.excluded.push((prev.time, r.time));
                }
            }
            suspect = None;
        } else if limit.is_some_and(|l| delta > l) {
            match suspect {
                // The jumped level held: take it as the new baseline, the jump itself excluded.
                Some(s)
                    if (r.value - s.value) >= Decimal::ZERO
                        && facts.max_rate_per_hour.is_some_and(|m| {
                            r.value - s.value
                                <= m * hours(r.time - s.time) * Decimal::new(15, 1)
                                    + facts.resolution
                        }) =>
                {
                    out.anomalies.push(Anomaly::ImplausibleJump {
                        time: s.time,
                        from: prev.value,
                        to: s.value,
                    });
                    out.excluded.push((prev.time, s.time));
                    out.points.push(Point {
                        time: s.time,
                        total,
                        quality: s.quality,
                    });
                    total += r.value - s.value;
                    suspect = None;
                }
                _ => {
                    suspect = Some(r);
                    continue; // wait: a single garbage value is skipped
                }
            }
        } else {
            if let Some(s) = suspect.take() {
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
            total,
            quality: r.quality,
        });
        prev = r;
    }
    if let Some(s) = suspect {
        out.anomalies.push(Anomaly::ImplausibleJump {
            time: s.time,
            from: prev.value,
            to: s.value,
        });
    }
    out
}

/// The register total at `t` and how it was obtained.
fn value_at(u: &Unwrapped, t: DateTime<Utc>, facts: &RegisterFacts) -> Option<(Decimal, Quality)> {
    let i = u.points.partition_point(|p| p.time <= t);
    let before = i.checked_sub(1).map(|k| u.points[k])?;
    if before.time == t {
        return Some((before.total, before.quality));
    }
    let after = *u.points.get(i)?;
    let gap = after.time - before.time;
    if gap > facts.max_gap {
        return None;
    }
    let share = Decimal::from((t - before.time).num_milliseconds())
        / Decimal::from(gap.num_milliseconds().max(1));
    let value = before.total + (after.total - before.total) * share;
    let quality = if gap > facts.reading_period * 2 {
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
    for w in u.points.windows(2) {
        if w[1].time - w[0].time > facts.max_gap {
            anomalies.push(Anomaly::Gap {
                from: w[0].time,
                to: w[1].time,
            });
        }
    }
    let values: Vec<Option<(Decimal, Quality)>> =
        boundaries.iter().map(|b| value_at(&u, *b, facts)).collect();
    let out = boundaries
        .windows(2)
        .zip(values.windows(2))
        .map(|(b, v)| {
            let (start, end) = (b[0], b[1]);
            let excluded = u.excluded.iter().any(|(a, z)| *a < end && *z > start);
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
    }
}
