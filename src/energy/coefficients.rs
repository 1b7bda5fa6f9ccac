//! Conversion of consumption to standard coal (kgce) and CO₂ (kg), the figures public
//! institutions report energy in. Configured by the site config's `[coefficients]` table; every
//! key is optional and defaults to:
//!
//! - standard coal: GB/T 2589-2020 (综合能耗计算通则) equivalent values (当量值): electricity
//!   0.1229 kgce/kWh, natural gas 1.2143 kgce/m³ (the standard's range is 1.1000–1.3300, for
//!   the local calorific value), heat 0.03412 kgce/MJ;
//! - electricity CO₂: 0.5366 kg/kWh, the 2022 national average grid emission factor published
//!   by 生态环境部 and 国家统计局 in December 2024; sites should update it (and `co2_source`,
//!   `co2_year`) when a newer or regional factor is required;
//! - natural gas CO₂: 2.1622 kg/m³, from the GB/T 32150-2015 defaults (389.31 GJ/10⁴ Nm³,
//!   15.3 tC/TJ, 99 % oxidation);
//! - purchased heat CO₂: 110 kg/GJ (0.11 tCO₂/GJ), the usual default for purchased heat.
//!
//! TOML floats deserialize exactly: `0.1229` becomes the Decimal 0.1229 (rust_decimal converts a
//! float through its shortest text form); strings such as `"0.1229"` are accepted too.

use rust_decimal::Decimal;
use serde::Deserialize;

use super::category::top_level;
use super::category::{ELECTRICITY, GAS, HEAT};

/// Standard coal and CO₂ coefficients; see the module documentation for sources.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Coefficients {
    /// kgce per kWh of electricity (GB/T 2589-2020 equivalent value).
    pub electricity_kgce_per_kwh: Decimal,
    /// kgce per m³ of natural gas (GB/T 2589-2020; valid range 1.1000–1.3300).
    pub gas_kgce_per_m3: Decimal,
    /// kgce per MJ of heat (GB/T 2589-2020).
    pub heat_kgce_per_mj: Decimal,
    /// kg CO₂ per kWh of grid electricity.
    pub co2_kg_per_kwh: Decimal,
    /// Where `co2_kg_per_kwh` comes from, shown in reports.
    pub co2_source: String,
    /// The year `co2_kg_per_kwh` describes.
    pub co2_year: u16,
    /// kg CO₂ per m³ of natural gas.
    pub gas_co2_kg_per_m3: Decimal,
    /// kg CO₂ per GJ of purchased heat.
    pub heat_co2_kg_per_gj: Decimal,
}

impl Default for Coefficients {
    fn default() -> Self {
        Coefficients {
            electricity_kgce_per_kwh: Decimal::new(1229, 4),
            gas_kgce_per_m3: Decimal::new(12143, 4),
            heat_kgce_per_mj: Decimal::new(3412, 5),
            co2_kg_per_kwh: Decimal::new(5366, 4),
            co2_source: "生态环境部、国家统计局 2024-12 公布的 2022 年全国电力平均二氧化碳排放因子"
                .to_string(),
            co2_year: 2022,
            gas_co2_kg_per_m3: Decimal::new(21622, 4),
            heat_co2_kg_per_gj: Decimal::new(110, 0),
        }
    }
}

/// Standard coal and CO₂ equivalent of some consumption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Equivalent {
    pub kgce: Decimal,
    pub co2_kg: Decimal,
}

const GAS_KGCE_MIN: Decimal = Decimal::from_parts(11000, 0, 0, false, 4);
const GAS_KGCE_MAX: Decimal = Decimal::from_parts(13300, 0, 0, false, 4);

impl Coefficients {
    /// Problems with the configured values, each naming its key; empty if all are usable.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.gas_kgce_per_m3 < GAS_KGCE_MIN || self.gas_kgce_per_m3 > GAS_KGCE_MAX {
            problems.push(format!(
                "gas_kgce_per_m3 = {} is outside 1.1000–1.3300 (GB/T 2589-2020)",
                self.gas_kgce_per_m3
            ));
        }
        for (key, value) in [
            ("electricity_kgce_per_kwh", self.electricity_kgce_per_kwh),
            ("heat_kgce_per_mj", self.heat_kgce_per_mj),
            ("co2_kg_per_kwh", self.co2_kg_per_kwh),
            ("gas_co2_kg_per_m3", self.gas_co2_kg_per_m3),
            ("heat_co2_kg_per_gj", self.heat_co2_kg_per_gj),
        ] {
            if value < Decimal::ZERO {
                problems.push(format!("{key} = {value} must not be negative"));
            }
        }
        if !(1990..=2100).contains(&self.co2_year) {
            problems.push(format!("co2_year = {} is outside 1990–2100", self.co2_year));
        }
        problems
    }

    /// Standard coal and CO₂ for `amount` of a category's unit (kWh, m³, GJ; heat in GJ = 1000 MJ).
    ///
    /// By the category's first two characters: `01` electricity (kWh), `03` natural gas (m³),
    /// `04` heat (GJ). Water (`02`) is not energy and gives zero. Cooling (`05`) also gives
    /// zero: chilled water is produced by electric chillers whose electricity is already metered
    /// and converted, so counting the cooling again would count that energy twice. Unknown
    /// codes give zero. Arithmetic is exact (saturating at Decimal's range, far beyond any
    /// real consumption).
    pub fn equivalent(&self, category_code: &str, amount: Decimal) -> Equivalent {
        let (kgce_per_unit, co2_per_unit) = match top_level(category_code) {
            ELECTRICITY => (self.electricity_kgce_per_kwh, self.co2_kg_per_kwh),
            GAS => (self.gas_kgce_per_m3, self.gas_co2_kg_per_m3),
            HEAT => (
                self.heat_kgce_per_mj.saturating_mul(Decimal::ONE_THOUSAND),
                self.heat_co2_kg_per_gj,
            ),
            _ => return Equivalent::default(),
        };
        Equivalent {
            kgce: amount.saturating_mul(kgce_per_unit),
            co2_kg: amount.saturating_mul(co2_per_unit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn exact(value: Decimal, text: &str) {
        assert_eq!(value, d(text));
        // Same scale too, not merely numerically equal.
        assert_eq!(value.to_string(), text);
    }

    #[test]
    fn electricity_converts_to_coal_and_co2() {
        let e = Coefficients::default().equivalent("01000", d("1000"));
        assert_eq!(e.kgce, d("122.9"));
        assert_eq!(e.co2_kg, d("536.6"));
        // Sub-items convert like their category.
        assert_eq!(Coefficients::default().equivalent("01B20", d("1000")), e);
    }

    #[test]
    fn gas_heat_water_and_cooling() {
        let c = Coefficients::default();
        let gas = c.equivalent("03000", d("100"));
        assert_eq!(gas.kgce, d("121.43"));
        assert_eq!(gas.co2_kg, d("216.22"));
        let heat = c.equivalent("04000", d("1"));
        assert_eq!(heat.kgce, d("34.12"));
        assert_eq!(heat.co2_kg, d("110"));
        assert_eq!(c.equivalent("02000", d("50")), Equivalent::default());
        assert_eq!(c.equivalent("05000", d("50")), Equivalent::default());
        assert_eq!(c.equivalent("", d("50")), Equivalent::default());
        assert_eq!(c.equivalent("电", d("50")), Equivalent::default());
    }

    #[test]
    fn huge_amounts_saturate_instead_of_panicking() {
        let e = Coefficients::default().equivalent("04000", Decimal::MAX);
        assert_eq!(e.kgce, Decimal::MAX);
    }

    #[test]
    fn toml_floats_deserialize_exactly() {
        #[derive(Deserialize)]
        struct Site {
            coefficients: Coefficients,
        }
        let site: Site = toml::from_str(
            r#"
            [coefficients]
            electricity_kgce_per_kwh = 0.1229
            gas_kgce_per_m3 = 1.2143
            heat_kgce_per_mj = 0.03412
            co2_kg_per_kwh = 0.5703
            co2_source = "test"
            co2_year = 2021
            gas_co2_kg_per_m3 = "2.1622"
            heat_co2_kg_per_gj = 110
            "#,
        )
        .unwrap();
        let c = site.coefficients;
        exact(c.electricity_kgce_per_kwh, "0.1229");
        exact(c.gas_kgce_per_m3, "1.2143");
        exact(c.heat_kgce_per_mj, "0.03412");
        exact(c.co2_kg_per_kwh, "0.5703");
        exact(c.gas_co2_kg_per_m3, "2.1622");
        exact(c.heat_co2_kg_per_gj, "110");
        assert_eq!((c.co2_source.as_str(), c.co2_year), ("test", 2021));
        assert!(c.validate().is_empty());
    }

    #[test]
    fn missing_keys_take_the_defaults() {
        let c: Coefficients = toml::from_str("co2_kg_per_kwh = 0.5810").unwrap();
        // A float has no trailing zeros; the value is still exact.
        exact(c.co2_kg_per_kwh, "0.581");
        assert_eq!(
            Coefficients {
                co2_kg_per_kwh: d("0.5810"),
                ..Coefficients::default()
            },
            c
        );
        let empty: Coefficients = toml::from_str("").unwrap();
        assert_eq!(empty, Coefficients::default());
        exact(empty.electricity_kgce_per_kwh, "0.1229");
        exact(empty.gas_kgce_per_m3, "1.2143");
        exact(empty.heat_kgce_per_mj, "0.03412");
        exact(empty.co2_kg_per_kwh, "0.5366");
        exact(empty.gas_co2_kg_per_m3, "2.1622");
        exact(empty.heat_co2_kg_per_gj, "110");
        assert!(empty.validate().is_empty());
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        let e = toml::from_str::<Coefficients>("electricity_kgce_per_kw = 0.1229")
            .unwrap_err()
            .to_string();
        assert!(e.contains("electricity_kgce_per_kw"), "{e}");
    }

    #[test]
    fn validate_names_the_bad_keys() {
        let c = Coefficients {
            gas_kgce_per_m3: d("1.5"),
            co2_kg_per_kwh: d("-0.1"),
            co2_year: 1980,
            ..Coefficients::default()
        };
        assert_eq!(
            c.validate(),
            vec![
                "gas_kgce_per_m3 = 1.5 is outside 1.1000–1.3300 (GB/T 2589-2020)".to_string(),
                "co2_kg_per_kwh = -0.1 must not be negative".to_string(),
                "co2_year = 1980 is outside 1990–2100".to_string(),
            ]
        );
        let edges = Coefficients {
            gas_kgce_per_m3: d("1.1"),
            co2_year: 2100,
            ..Coefficients::default()
        };
        assert!(edges.validate().is_empty());
        let low = Coefficients {
            gas_kgce_per_m3: d("1.0999"),
            ..Coefficients::default()
        };
        assert_eq!(low.validate().len(), 1);
    }
}
