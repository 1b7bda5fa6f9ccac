//! Load models for simulated meters: deterministic functions of time that look like a campus
//! (working hours, weekends, holidays, school vacations, seasons), so backfilled history and
//! live simulated meters agree with each other and across restarts.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;

/// What kind of load a component is; each has its own daily and yearly shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Office,
    Teaching,
    Library,
    Canteen,
    Dormitory,
    Shop,
    /// Air conditioning: follows occupancy of its building, scaled by the season.
    Hvac(&'static Shape),
    /// Always on (IT rooms, fridges, corridor lighting).
    Constant,
    /// Off before the slot given, always on from it (a fault that starts at an instant).
    Since(i64),
}

/// The day's character, from the site calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayType {
    Workday,
    Weekend,
    Holiday,
}

/// Everything about a 15-minute slot that the shapes need; computed once per slot.
#[derive(Debug, Clone, Copy)]
pub struct SlotContext {
    pub slot: i64,
    /// Local hour of day with fraction (13.25 = 13:15).
    pub hour: f64,
    pub month: u32,
    pub day: DayType,
    pub vacation: bool,
}

pub const SLOT_SECS: i64 = 900;

impl SlotContext {
    pub fn new(slot: i64, tz: Tz) -> SlotContext {
        // Evaluate at the middle of the slot.
        let t = DateTime::from_timestamp(slot * SLOT_SECS + SLOT_SECS / 2, 0).unwrap_or_default();
        let local = t.with_timezone(&tz);
        let date = local.date_naive();
        SlotContext {
            slot,
            hour: local.hour() as f64 + local.minute() as f64 / 60.0,
            month: local.month(),
            day: day_type(date),
            vacation: is_vacation(date),
        }
    }
}

pub fn slot_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(SLOT_SECS)
}

/// Public holidays of the demo calendar: fixed-date ones and a Spring Festival week per year.
pub fn day_type(date: NaiveDate) -> DayType {
    let (m, d) = (date.month(), date.day());
    let fixed = matches!((m, d), (1, 1) | (5, 1..=5) | (10, 1..=7));
    let spring_festival = match date.year() {
        2025 => ((1, 28)..=(2, 4)).contains(&(m, d)),
        2026 => ((2, 15)..=(2, 23)).contains(&(m, d)),
        2027 => ((2, 5)..=(2, 12)).contains(&(m, d)),
        _ => ((2, 1)..=(2, 7)).contains(&(m, d)),
    };
    if fixed || spring_festival {
        DayType::Holiday
    } else if date.weekday().number_from_monday() >= 6 {
        DayType::Weekend
    } else {
        DayType::Workday
    }
}

/// School vacations: winter (mid-January to late February) and summer (mid-July to August).
pub fn is_vacation(date: NaiveDate) -> bool {
    let md = (date.month(), date.day());
    ((1, 15)..=(2, 24)).contains(&md) || ((7, 10)..=(8, 31)).contains(&md)
}

/// A smooth bump between `from` and `to` hours, 0 outside, 1 in the middle.
fn window(hour: f64, from: f64, to: f64) -> f64 {
    if hour <= from || hour >= to {
        return 0.0;
    }
    let ramp = 0.75f64.min((to - from) / 2.0);
    ((hour - from) / ramp).min((to - hour) / ramp).min(1.0)
}

/// Occupancy-like factor 0..1 of a shape at a slot.
pub fn activity(shape: Shape, c: &SlotContext) -> f64 {
    let h = c.hour;
    let working = c.day == DayType::Workday;
    match shape {
        Shape::Office => {
            if !working {
                return 0.04;
            }
            let day = window(h, 7.5, 18.5) - 0.3 * window(h, 12.0, 13.5);
            day * if c.vacation { 0.75 } else { 1.0 }
        }
        Shape::Teaching => {
            let day = window(h, 7.75, 21.75)
                - 0.35 * window(h, 11.75, 14.0)
                - 0.3 * window(h, 17.25, 18.75);
            match (c.vacation, working) {
                (true, _) => 0.04 + 0.08 * window(h, 8.5, 17.0),
                (false, true) => day,
                (false, false) => 0.25 * day,
            }
        }
        Shape::Library => {
            let open = window(h, 7.75, 22.25);
            let busy = if c.day == DayType::Holiday { 0.3 } else { 1.0 };
            open * busy * if c.vacation { 0.35 } else { 1.0 }
        }
        Shape::Canteen => {
            let meals = 0.55 * window(h, 5.75, 8.75)
                + window(h, 10.0, 13.25)
                + 0.85 * window(h, 16.0, 19.25);
            let prep = 0.2 * window(h, 5.0, 20.0);
            let term = if c.vacation { 0.2 } else { 1.0 };
            let day = if working { 1.0 } else { 0.7 };
            (meals + prep).min(1.0) * term * day
        }
        Shape::Dormitory => {
            let f = 0.5 * window(h, 6.5, 8.5)
                + 0.35 * window(h, 11.5, 14.0)
                + window(h, 17.5, 24.0)
                + 0.3 * window(h, 0.0, 1.0);
            let base = 0.2;
            (base + f).min(1.2) * if c.vacation { 0.1 } else { 1.0 }
        }
        Shape::Shop => 0.9 * window(h, 7.5, 22.5) * if c.vacation { 0.3 } else { 1.0 },
        Shape::Hvac(building) => activity(*building, c) * season(c.month, h),
        Shape::Constant => 1.0,
        Shape::Since(slot) => {
            if c.slot >= slot {
                1.0
            } else {
                0.0
            }
        }
    }
}

/// Air-conditioning demand by month (cooling in summer, heating in winter) and time of day.
fn season(month: u32, hour: f64) -> f64 {
    let base = match month {
        7 | 8 => 1.0,
        6 | 9 => 0.65,
        12 | 1 => 0.7,
        2 => 0.55,
        5 | 10 => 0.2,
        11 | 3 => 0.3,
        _ => 0.05,
    };
    // Afternoon heat in summer months.
    let afternoon = if (6..=9).contains(&month) {
        0.8 + 0.2 * window(hour, 12.0, 17.0)
    } else {
        1.0
    };
    base * afternoon
}

/// Deterministic noise in [-1, 1) for (seed, slot): the same every run.
pub fn noise(seed: u64, slot: i64) -> f64 {
    let mut z = seed ^ (slot as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

/// One load of a simulated meter: a shape between a base and a peak.
#[derive(Debug, Clone, Copy)]
pub struct Component {
    pub shape: Shape,
    /// Always-on part (standby, fridges, servers), in kW or m³/h.
    pub base: f64,
    pub peak: f64,
    pub seed: u64,
}

impl Component {
    /// Mean rate over the slot (kW, or m³/h for water), never negative.
    pub fn rate(&self, c: &SlotContext) -> f64 {
        let a = activity(self.shape, c);
        let daily = 1.0 + 0.06 * noise(self.seed ^ 0xDA11, c.slot.div_euclid(96));
        let v = (self.base + (self.peak - self.base) * a)
            * daily
            * (1.0 + 0.08 * noise(self.seed, c.slot));
        v.max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ctx_at(y: i32, m: u32, d: u32, h: u32) -> SlotContext {
        let t = chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(y, m, d, h, 0, 0)
            .unwrap();
        SlotContext::new(slot_of(t.with_timezone(&Utc)), chrono_tz::Asia::Shanghai)
    }

    #[test]
    fn offices_work_on_weekdays_and_rest_at_night_weekends_and_holidays() {
        let office = Component {
            shape: Shape::Office,
            base: 5.0,
            peak: 50.0,
            seed: 1,
        };
        let tuesday_10 = office.rate(&ctx_at(2026, 11, 24, 10));
        let tuesday_3 = office.rate(&ctx_at(2026, 11, 24, 3));
        let sunday_10 = office.rate(&ctx_at(2026, 11, 22, 10));
        let national_day = office.rate(&ctx_at(2026, 10, 2, 10));
        assert!(tuesday_10 > 40.0, "{tuesday_10}");
        assert!(tuesday_3 < 7.0 && sunday_10 < 10.0 && national_day < 10.0);
    }

    #[test]
    fn dormitories_empty_in_the_summer_vacation_and_hvac_follows_seasons() {
        let dorm = Component {
            shape: Shape::Dormitory,
            base: 2.0,
            peak: 80.0,
            seed: 2,
        };
        assert!(dorm.rate(&ctx_at(2026, 8, 5, 21)) < dorm.rate(&ctx_at(2026, 11, 24, 21)) / 4.0);
        let hvac = Component {
            shape: Shape::Hvac(&Shape::Office),
            base: 0.0,
            peak: 100.0,
            seed: 3,
        };
        assert!(hvac.rate(&ctx_at(2026, 7, 14, 15)) > 4.0 * hvac.rate(&ctx_at(2026, 4, 14, 15)));
    }

    #[test]
    fn noise_is_deterministic_and_bounded() {
        for slot in 0..10_000 {
            let n = noise(7, slot);
            assert!((-1.0..1.0).contains(&n));
            assert_eq!(n, noise(7, slot));
        }
    }
}
