//! The annual intensity check in the style of GB/T 51161-2016 (民用建筑能耗标准): an office
//! building's non-heating electricity per m² over a year against the constraint (约束值) and
//! guide (引导值) values of its class and climate zone, corrected for use hours and floor area
//! per person. The values live in a data file with their source and a `confirmed` flag;
//! unconfirmed values are reported as such, never as the standard's.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::decimal::round_half_up;
use crate::energy::category::ELECTRICITY;
use crate::energy::ledger::{Ledger, Step};
use crate::site::Site;
use crate::site::{ClimateZone, OfficeClass, Unit};
use crate::store::StoreError;

/// The values, as shipped (see the file for their status).
pub const OFFICE_VALUES: &str = include_str!("standards/gb-t-51161-2016-office.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Standard {
    pub standard: String,
    pub confirmed: bool,
    pub hours_base: Decimal,
    pub area_per_person_base: Decimal,
    pub values: Vec<Values>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Values {
    pub class: OfficeClass,
    pub climate_zone: ClimateZone,
    pub constraint: Decimal,
    pub guide: Decimal,
}

impl Standard {
    pub fn office() -> Result<Standard, String> {
        toml::from_str(OFFICE_VALUES).map_err(|e| format!("GB/T 51161 values: {e}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    AboveConstraint,
    BetweenGuideAndConstraint,
    AtOrBelowGuide,
}

impl Verdict {
    pub fn name_zh(self) -> &'static str {
        match self {
            Verdict::AboveConstraint => "高于约束值",
            Verdict::BetweenGuideAndConstraint => "介于引导值与约束值之间",
            Verdict::AtOrBelowGuide => "不高于引导值",
        }
    }
}

/// The check's figures and outcome (pure part).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub constraint: Decimal,
    pub guide: Decimal,
    /// Hours correction γ1 (1 when the unit's `annual_hours` is not set).
    pub gamma1: Decimal,
    /// Floor-area-per-person correction γ2 (1 without occupants).
    pub gamma2: Decimal,
    pub corrected_constraint: Decimal,
    pub corrected_guide: Decimal,
    pub verdict: Verdict,
    pub verdict_zh: &'static str,
}

/// Compares `kwh_per_m2` with the class and zone's values, corrected.
pub fn assess(
    standard: &Standard,
    class: OfficeClass,
    zone: ClimateZone,
    kwh_per_m2: Decimal,
    hours: Option<Decimal>,
    area_per_person: Option<Decimal>,
) -> Option<Outcome> {
    let v = standard
        .values
        .iter()
        .find(|v| v.class == class && v.climate_zone == zone)?;
    let gamma1 = hours
        .filter(|h| *h > Decimal::ZERO)
        .map_or(Decimal::ONE, |t| {
            Decimal::new(3, 1) + Decimal::new(7, 1) * standard.hours_base / t
        });
    let gamma2 = area_per_person
        .filter(|s| *s > Decimal::ZERO)
        .map_or(Decimal::ONE, |s| {
            Decimal::new(7, 1) + Decimal::new(3, 1) * s / standard.area_per_person_base
        });
    let round = |d: Decimal| round_half_up(d, 2).normalize();
    let corrected_constraint = v.constraint * gamma1 * gamma2;
    let corrected_guide = v.guide * gamma1 * gamma2;
    let verdict = if kwh_per_m2 > corrected_constraint {
        Verdict::AboveConstraint
    } else if kwh_per_m2 > corrected_guide {
        Verdict::BetweenGuideAndConstraint
    } else {
        Verdict::AtOrBelowGuide
    };
    Some(Outcome {
        constraint: v.constraint,
        guide: v.guide,
        gamma1: round(gamma1),
        gamma2: round(gamma2),
        corrected_constraint: round(corrected_constraint),
        corrected_guide: round(corrected_guide),
        verdict,
        verdict_zh: verdict.name_zh(),
    })
}

/// A unit's check over [from, to) (a year).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntensityCheck {
    pub unit: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub electricity_kwh: Decimal,
    pub floor_area_m2: Option<f64>,
    pub kwh_per_m2: Option<Decimal>,
    pub outcome: Option<Outcome>,
    pub source: String,
    /// False while the values are not checked against the standard's text.
    pub confirmed: bool,
    pub note: Option<String>,
}

/// The GB/T 51161-style check of `unit` over [from, to). Electricity is the unit's whole
/// electricity (each meter once); electric heating metered apart is not subtracted.
pub fn intensity_check(
    ledger: &Ledger<'_>,
    site: &Site,
    standard: &Standard,
    unit: &Unit,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<IntensityCheck, StoreError> {
    let rows = ledger.unit(&unit.id, ELECTRICITY, from, to, Step::Month)?;
    let kwh: Decimal = rows.iter().map(|r| r.consumption).sum();
    let area = unit
        .floor_area_m2
        .and_then(Decimal::from_f64_retain)
        .map(|a| a.round_dp(2))
        .filter(|a| *a > Decimal::ZERO);
    let kwh_per_m2 = area.map(|a| round_half_up(kwh / a, 2).normalize());
    let mut note = None;
    let outcome = match (unit.office_class, site.climate_zone, kwh_per_m2) {
        (Some(class), Some(zone), Some(i)) => {
            let per_person = area
                .zip(unit.occupants.filter(|n| *n > 0))
                .map(|(a, n)| a / Decimal::from(n));
            let o = assess(
                standard,
                class,
                zone,
                i,
                unit.annual_hours.map(Decimal::from),
                per_person,
            );
            if o.is_none() {
                note = Some(format!(
                    "no values for class {class:?} in climate zone {zone:?}"
                ));
            }
            o
        }
        (None, _, _) => {
            note = Some("unit has no `office_class` (A or B)".into());
            None
        }
        (_, None, _) => {
            note = Some("site has no `climate_zone`".into());
            None
        }
        (_, _, None) => {
            note = Some("unit has no `floor_area_m2`".into());
            None
        }
    };
    Ok(IntensityCheck {
        unit: unit.id.clone(),
        from,
        to,
        electricity_kwh: kwh,
        floor_area_m2: unit.floor_area_m2,
        kwh_per_m2,
        outcome,
        source: if standard.confirmed {
            standard.standard.clone()
        } else {
            format!("{}（数值未经核实 / values unconfirmed）", standard.standard)
        },
        confirmed: standard.confirmed,
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn the_shipped_values_load_and_say_they_are_unconfirmed() {
        let s = Standard::office().unwrap();
        assert!(!s.confirmed);
        assert_eq!(s.values.len(), 8);
    }

    #[test]
    fn corrections_scale_both_values() {
        let s = Standard::office().unwrap();
        let zone = ClimateZone::HotSummerColdWinter;
        // A-class, 70/55; 2,000 h: γ1 = 0.3 + 0.7 × 2500/2000 = 1.175; 12 m²/person:
        // γ2 = 0.7 + 0.3 × 1.2 = 1.06. Constraint 70 × 1.175 × 1.06 = 87.185.
        let o = assess(
            &s,
            OfficeClass::A,
            zone,
            d("60"),
            Some(d("2000")),
            Some(d("12")),
        )
        .unwrap();
        assert_eq!(o.gamma1, d("1.18"));
        assert_eq!(o.gamma2, d("1.06"));
        assert_eq!(o.corrected_constraint, d("87.19"));
        assert_eq!(o.corrected_guide, d("68.5"));
        assert_eq!(o.verdict, Verdict::AtOrBelowGuide);
        let plain = |x: &str| {
            assess(&s, OfficeClass::A, zone, d(x), None, None)
                .unwrap()
                .verdict
        };
        assert_eq!(plain("55"), Verdict::AtOrBelowGuide);
        assert_eq!(plain("55.01"), Verdict::BetweenGuideAndConstraint);
        assert_eq!(plain("70"), Verdict::BetweenGuideAndConstraint);
        assert_eq!(plain("70.01"), Verdict::AboveConstraint);
    }
}
