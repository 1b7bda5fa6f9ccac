//! A simulated meter: components of load, integrated into monotonic registers. The register
//! value at any instant is a deterministic function of time, so the history backfilled into
//! the store and the values served live over Modbus continue each other exactly.

use std::sync::Mutex;

use chrono::{DateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use super::load::{Component, SLOT_SECS, SlotContext, noise, slot_of};
use crate::quantity::Quantity;

/// What the meter measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Medium {
    /// Three-phase electricity (kW, kWh).
    Electricity3,
    /// Single-phase electricity.
    Electricity1,
    /// Water: components give m³/h.
    Water,
    /// Gas: components give m³/h.
    Gas,
}

/// Time-of-use buckets of the simulated meters' TOU registers (a common Chinese split: valley
/// 23:00–07:00, peak 08:00–11:00 and 18:00–23:00, critical peak 19:00–21:00 in July–September).
fn tou_bucket(c: &SlotContext) -> usize {
    let h = c.hour;
    if !(7.0..23.0).contains(&h) {
        3 // valley
    } else if (19.0..21.0).contains(&h) && (7..=9).contains(&c.month) {
        0 // sharp
    } else if (8.0..11.0).contains(&h) || (18.0..23.0).contains(&h) {
        1 // peak
    } else {
        2 // flat
    }
}

/// Registers are integrated from this instant (2025-01-01 00:00 in China).
pub fn origin_slot() -> i64 {
    slot_of(Utc.with_ymd_and_hms(2024, 12, 31, 16, 0, 0).unwrap())
}

#[derive(Debug, Clone, Copy)]
struct Cursor {
    /// Registers are integrated up to the start of this slot.
    slot: i64,
    total: f64,
    tou: [f64; 4],
}

#[derive(Debug)]
pub struct SimMeter {
    pub medium: Medium,
    pub components: Vec<Component>,
    pub seed: u64,
    /// Register value at the origin.
    pub initial: f64,
    pub tz: Tz,
    /// CT ratio of a meter that shows secondary-side values (the config's multiplier): energy,
    /// power and current are divided by it.
    pub ct_ratio: f64,
    cursor: Mutex<Cursor>,
}

impl SimMeter {
    pub fn new(
        medium: Medium,
        components: Vec<Component>,
        seed: u64,
        initial: f64,
        tz: Tz,
    ) -> SimMeter {
        let start = Cursor {
            slot: origin_slot(),
            total: initial,
            tou: [0.0; 4],
        };
        SimMeter {
            medium,
            components,
            seed,
            initial,
            tz,
            ct_ratio: 1.0,
            cursor: Mutex::new(start),
        }
    }

    pub fn with_ct_ratio(mut self, ratio: f64) -> SimMeter {
        self.ct_ratio = ratio;
        self
    }

    /// Mean rate (kW or m³/h) over a slot.
    pub fn rate(&self, c: &SlotContext) -> f64 {
        self.components.iter().map(|k| k.rate(c)).sum()
    }

    /// Register totals at `t`: the cumulative value and the four TOU registers.
    pub fn registers_at(&self, t: DateTime<Utc>) -> (f64, [f64; 4]) {
        let mut cur = self.cursor.lock().unwrap_or_else(|e| e.into_inner());
        let target = slot_of(t).max(origin_slot());
        if target < cur.slot {
            *cur = Cursor {
                slot: origin_slot(),
                total: self.initial,
                tou: [0.0; 4],
            };
        }
        while cur.slot < target {
            let c = SlotContext::new(cur.slot, self.tz);
            let e = self.rate(&c) * 0.25;
            cur.total += e;
            cur.tou[tou_bucket(&c)] += e;
            cur.slot += 1;
        }
        // Part of the current slot.
        let into = (t.timestamp() - target * SLOT_SECS).clamp(0, SLOT_SECS) as f64 / 3600.0;
        let c = SlotContext::new(target, self.tz);
        let e = self.rate(&c) * into;
        let mut tou = cur.tou;
        tou[tou_bucket(&c)] += e;
        (cur.total + e, tou)
    }

    /// Value of any canonical quantity at `t` as the meter shows it (0 for quantities it does
    /// not measure).
    pub fn value(&self, quantity: Quantity, t: DateTime<Utc>) -> f64 {
        let v = self.primary_value(quantity, t);
        let unaffected = matches!(quantity.unit(), "V" | "Hz" | "" | "m3" | "m3/h");
        if unaffected || self.ct_ratio == 1.0 {
            v
        } else {
            v / self.ct_ratio
        }
    }

    /// Value on the primary side of any current transformer.
    pub fn primary_value(&self, quantity: Quantity, t: DateTime<Utc>) -> f64 {
        let slot = slot_of(t);
        let c = SlotContext::new(slot, self.tz);
        // Instantaneous values wander a little within the slot.
        let wobble = 1.0 + 0.03 * noise(self.seed ^ 0x5EC, t.timestamp() / 5);
        let rate = self.rate(&c) * wobble;
        let electric = matches!(self.medium, Medium::Electricity1 | Medium::Electricity3);
        let phases = if self.medium == Medium::Electricity3 {
            3.0
        } else {
            1.0
        };
        let pf = 0.93 + 0.04 * noise(self.seed ^ 0x9F, slot);
        let v = |phase: u64| {
            228.0
                + 3.0 * (t.hour() as f64 / 24.0 * std::f64::consts::TAU).sin()
                + 1.5 * noise(self.seed ^ phase, t.timestamp() / 10)
        };
        let share = |phase: u64| 1.0 + 0.08 * noise(self.seed ^ (phase << 8), slot.div_euclid(4));
        let name = quantity.name();
        match name {
            "energy_import_kwh" | "water_m3" | "gas_m3" => {
                let relevant = match name {
                    "energy_import_kwh" => electric,
                    "water_m3" => self.medium == Medium::Water,
                    _ => self.medium == Medium::Gas,
                };
                if relevant {
                    self.registers_at(t).0
                } else {
                    0.0
                }
            }
            "energy_import_kwh_sharp"
            | "energy_import_kwh_peak"
            | "energy_import_kwh_flat"
            | "energy_import_kwh_valley"
                if electric =>
            {
                let i = [
                    "energy_import_kwh_sharp",
                    "energy_import_kwh_peak",
                    "energy_import_kwh_flat",
                    "energy_import_kwh_valley",
                ]
                .iter()
                .position(|n| *n == name)
                .unwrap_or(0);
                self.registers_at(t).1[i]
            }
            "reactive_energy_import_kvarh" if electric => self.registers_at(t).0 * 0.35,
            _ if !electric => match name {
                "flow_m3h" => rate,
                _ => 0.0,
            },
            "power_kw" => rate,
            "power_l1_kw" => rate / phases * share(1),
            "power_l2_kw" if phases > 1.0 => rate / phases * share(2),
            "power_l3_kw" if phases > 1.0 => rate / phases * share(3),
            "reactive_power_kvar" => rate * (pf.acos()).tan(),
            "apparent_power_kva" => rate / pf,
            "voltage_l1_v" => v(1),
            "voltage_l2_v" if phases > 1.0 => v(2),
            "voltage_l3_v" if phases > 1.0 => v(3),
            "voltage_l12_v" | "voltage_l23_v" | "voltage_l31_v" if phases > 1.0 => {
                v(4) * 3f64.sqrt()
            }
            "current_l1_a" | "current_l2_a" | "current_l3_a" => {
                let phase = name.as_bytes()[9] - b'0';
                if phase > 1 && phases == 1.0 {
                    return 0.0;
                }
                rate * 1000.0 / phases / v(phase as u64) / pf * share(phase as u64)
            }
            "current_n_a" if phases > 1.0 => rate * 1000.0 / 3.0 / 228.0 * 0.1,
            "power_factor" => pf,
            "frequency_hz" => 50.0 + 0.03 * noise(self.seed ^ 0xF, t.timestamp() / 10),
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::load::Shape;
    use chrono::Duration;

    fn meter() -> SimMeter {
        let office = Component {
            shape: Shape::Office,
            base: 4.0,
            peak: 40.0,
            seed: 11,
        };
        SimMeter::new(
            Medium::Electricity3,
            vec![office],
            11,
            1000.0,
            chrono_tz::Asia::Shanghai,
        )
    }

    #[test]
    fn registers_only_grow_and_do_not_depend_on_the_order_of_questions() {
        let m = meter();
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        let mut last = 0.0;
        for i in 0..200 {
            let (e, tou) = m.registers_at(t0 + Duration::minutes(7 * i));
            assert!(e >= last);
            assert!((tou.iter().sum::<f64>() - (e - 1000.0)).abs() < 1e-6);
            last = e;
        }
        let fresh = meter();
        let later = t0 + Duration::minutes(7 * 150);
        assert_eq!(fresh.registers_at(later).0, m.registers_at(later).0);
    }

    #[test]
    fn three_phase_values_are_consistent() {
        let m = meter();
        let t = Utc.with_ymd_and_hms(2026, 11, 24, 2, 0, 0).unwrap(); // 10:00 in Shanghai
        let p = m.value(Quantity::named("power_kw"), t);
        let parts: f64 = ["power_l1_kw", "power_l2_kw", "power_l3_kw"]
            .iter()
            .map(|q| m.value(Quantity::named(q), t))
            .sum();
        assert!(p > 30.0 && (parts - p).abs() / p < 0.15, "{p} vs {parts}");
        let v = m.value(Quantity::named("voltage_l1_v"), t);
        assert!((220.0..236.0).contains(&v));
        assert_eq!(m.value(Quantity::named("water_m3"), t), 0.0);
    }
}
