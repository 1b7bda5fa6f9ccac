//! Canonical quantities (DESIGN §4): one name, one unit, and whether the value is a cumulative
//! register or an instantaneous measurement. Everything downstream of the collectors speaks
//! these names; device profiles map registers onto them.

use std::fmt;

/// Whether a quantity is a running register total or a momentary value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A register that only grows (apart from rollover, reset or replacement): kWh, m³, GJ.
    Cumulative,
    /// A momentary measurement: kW, V, A, Hz.
    Instantaneous,
}

#[derive(Debug)]
pub struct QuantityDef {
    pub name: &'static str,
    pub unit: &'static str,
    pub kind: Kind,
    pub label_zh: &'static str,
    pub label_en: &'static str,
}

macro_rules! quantities {
    ($( $name:literal, $unit:literal, $kind:ident, $zh:literal, $en:literal; )*) => {
        pub static QUANTITIES: &[QuantityDef] = &[
            $( QuantityDef { name: $name, unit: $unit, kind: Kind::$kind, label_zh: $zh, label_en: $en }, )*
        ];
    };
}

quantities! {
    "energy_import_kwh", "kWh", Cumulative, "正向有功电能", "Active energy import";
    "energy_export_kwh", "kWh", Cumulative, "反向有功电能", "Active energy export";
    "energy_import_kwh_sharp", "kWh", Cumulative, "正向有功电能(尖)", "Active energy import (critical peak)";
    "energy_import_kwh_peak", "kWh", Cumulative, "正向有功电能(峰)", "Active energy import (peak)";
    "energy_import_kwh_flat", "kWh", Cumulative, "正向有功电能(平)", "Active energy import (flat)";
    "energy_import_kwh_valley", "kWh", Cumulative, "正向有功电能(谷)", "Active energy import (valley)";
    "reactive_energy_import_kvarh", "kvarh", Cumulative, "正向无功电能", "Reactive energy import";
    "reactive_energy_export_kvarh", "kvarh", Cumulative, "反向无功电能", "Reactive energy export";
    "water_m3", "m3", Cumulative, "累计用水量", "Water volume";
    "gas_m3", "m3", Cumulative, "累计用气量", "Gas volume";
    "heat_gj", "GJ", Cumulative, "累计热量", "Heat energy";
    "power_kw", "kW", Instantaneous, "有功功率", "Active power";
    "power_l1_kw", "kW", Instantaneous, "A相有功功率", "Active power L1";
    "power_l2_kw", "kW", Instantaneous, "B相有功功率", "Active power L2";
    "power_l3_kw", "kW", Instantaneous, "C相有功功率", "Active power L3";
    "reactive_power_kvar", "kvar", Instantaneous, "无功功率", "Reactive power";
    "apparent_power_kva", "kVA", Instantaneous, "视在功率", "Apparent power";
    "voltage_l1_v", "V", Instantaneous, "A相电压", "Voltage L1";
    "voltage_l2_v", "V", Instantaneous, "B相电压", "Voltage L2";
    "voltage_l3_v", "V", Instantaneous, "C相电压", "Voltage L3";
    "voltage_l12_v", "V", Instantaneous, "AB线电压", "Voltage L1-L2";
    "voltage_l23_v", "V", Instantaneous, "BC线电压", "Voltage L2-L3";
    "voltage_l31_v", "V", Instantaneous, "CA线电压", "Voltage L3-L1";
    "current_l1_a", "A", Instantaneous, "A相电流", "Current L1";
    "current_l2_a", "A", Instantaneous, "B相电流", "Current L2";
    "current_l3_a", "A", Instantaneous, "C相电流", "Current L3";
    "current_n_a", "A", Instantaneous, "零线电流", "Neutral current";
    "power_factor", "", Instantaneous, "功率因数", "Power factor";
    "frequency_hz", "Hz", Instantaneous, "频率", "Frequency";
    "flow_m3h", "m3/h", Instantaneous, "瞬时流量", "Flow rate";
    "heat_power_kw", "kW", Instantaneous, "热功率", "Heat power";
    "supply_temp_c", "C", Instantaneous, "供水温度", "Supply temperature";
    "return_temp_c", "C", Instantaneous, "回水温度", "Return temperature";
}

/// A canonical quantity: a small copyable handle into [`QUANTITIES`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Quantity(u8);

impl Quantity {
    pub fn parse(name: &str) -> Option<Quantity> {
        QUANTITIES
            .iter()
            .position(|q| q.name == name)
            .map(|i| Quantity(i as u8))
    }

    /// Parses a name that is known to be canonical (tables inside the program).
    pub fn named(name: &str) -> Quantity {
        Self::parse(name).unwrap_or_else(|| panic!("{name} is not a canonical quantity"))
    }

    pub fn def(self) -> &'static QuantityDef {
        &QUANTITIES[self.0 as usize]
    }
    pub fn name(self) -> &'static str {
        self.def().name
    }
    pub fn unit(self) -> &'static str {
        self.def().unit
    }
    pub fn is_cumulative(self) -> bool {
        self.def().kind == Kind::Cumulative
    }
    pub fn all() -> impl Iterator<Item = Quantity> {
        (0..QUANTITIES.len()).map(|i| Quantity(i as u8))
    }

    /// Factor that turns a value in `unit` into this quantity's canonical unit, if the two are
    /// commensurable (W → kW is 0.001; kWh of heat → GJ is 0.0036).
    pub fn conversion_from(self, unit: &str) -> Option<f64> {
        let canonical = self.unit();
        if unit == canonical {
            return Some(1.0);
        }
        let factor = match (unit, canonical) {
            ("W", "kW") | ("Wh", "kWh") | ("var", "kvar") | ("varh", "kvarh") | ("VA", "kVA") => {
                0.001
            }
            ("MWh", "kWh") | ("Mvarh", "kvarh") => 1000.0,
            ("L", "m3") | ("MJ", "GJ") => 0.001,
            ("kWh", "GJ") => 0.0036,
            ("MWh", "GJ") => 3.6,
            ("m³", "m3") | ("m³/h", "m3/h") | ("°C", "C") => 1.0,
            ("L/h", "m3/h") => 0.001,
            _ => return None,
        };
        Some(factor)
    }
}

/// `value × factor`, dividing when the factor is 1/n so decimal values stay exact
/// (700 L × 0.001 would be 0.7000000000000001 m³; 700 / 1000 is 0.7).
pub fn scale(value: f64, factor: f64) -> f64 {
    let inverse = 1.0 / factor;
    if factor < 1.0 && (inverse - inverse.round()).abs() < 1e-9 * inverse {
        value / inverse.round()
    } else {
        value * factor
    }
}

impl fmt::Debug for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// The 尖/峰/平/谷 (sharp, peak, flat, valley) time-of-use registers, in the order of
/// `billing::tariff::TouPeriod`.
pub const TOU_REGISTERS: [&str; 4] = [
    "energy_import_kwh_sharp",
    "energy_import_kwh_peak",
    "energy_import_kwh_flat",
    "energy_import_kwh_valley",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for q in Quantity::all() {
            assert_eq!(Quantity::parse(q.name()), Some(q));
        }
        assert_eq!(Quantity::parse("energy_kwh"), None);
    }

    #[test]
    fn unit_conversions() {
        let p = Quantity::named("power_kw");
        assert_eq!(p.conversion_from("W"), Some(0.001));
        assert_eq!(p.conversion_from("kW"), Some(1.0));
        assert_eq!(p.conversion_from("V"), None);
        assert_eq!(Quantity::named("heat_gj").conversion_from("MWh"), Some(3.6));
        assert_eq!(
            Quantity::named("water_m3").conversion_from("L"),
            Some(0.001)
        );
    }
}
