//! Quotas as the site config sets them (`[[quotas]]`): a unit's annual allowance of a category
//! or of standard coal, and how it is spread over months. Plain data; the month status and
//! projection are in `quota`.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::energy::category;

/// What a quota is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The annual figure is the unit's allowance.
    Absolute,
    /// The annual figure is per person (the unit's `occupants`).
    PerPerson,
    /// The annual figure is per m² (the unit's `floor_area_m2`).
    PerM2,
}

/// How the year's allowance is spread over months.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Allocation {
    /// Twelve equal parts.
    Equal,
    /// By the number of days in each month.
    Days,
    /// In the shape of last year's consumption (by days when last year has no data).
    LastYear,
    /// Twelve shares as given (normalised to the year).
    Explicit(Vec<Decimal>),
}

/// A validated quota.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quota {
    pub unit: String,
    /// A category code, or `kgce` for standard coal over all energy.
    pub category: String,
    pub basis: Basis,
    /// Per year, in the category's unit (kWh, m³, kgce), per the basis.
    pub annual: Decimal,
    /// The year it applies to; every year when absent.
    pub year: Option<i32>,
    pub allocation: Allocation,
}

/// The field of a quota a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaField {
    Allocation,
    Shares,
}

impl Allocation {
    /// The allocation named `name` (`equal`, `days`, `last_year` or `explicit`), with the
    /// `shares` that go with `explicit`; or what is wrong, and in which field.
    pub fn build(
        name: &str,
        shares: Option<&[Decimal]>,
    ) -> Result<Allocation, (QuotaField, String)> {
        match (name, shares) {
            ("equal", None) => Ok(Allocation::Equal),
            ("days", None) => Ok(Allocation::Days),
            ("last_year", None) => Ok(Allocation::LastYear),
            ("explicit", Some(shares))
                if shares.len() == 12
                    && shares.iter().all(|s| *s >= Decimal::ZERO)
                    && shares.iter().any(|s| *s > Decimal::ZERO) =>
            {
                Ok(Allocation::Explicit(shares.to_vec()))
            }
            ("explicit", Some(_)) => Err((
                QuotaField::Shares,
                "shares: twelve numbers ≥ 0, January first, not all 0".into(),
            )),
            ("explicit", None) => Err((
                QuotaField::Allocation,
                "allocation = \"explicit\" needs `shares` (twelve numbers, January first)".into(),
            )),
            (_, Some(_)) => Err((
                QuotaField::Shares,
                "`shares` goes with allocation = \"explicit\"".into(),
            )),
            (other, None) => Err((
                QuotaField::Allocation,
                format!("allocation `{other}`: use equal, days, last_year or explicit"),
            )),
        }
    }
}

impl Quota {
    /// A quota counts a category code or `kgce` (standard coal over all energy).
    pub fn check_category(category: &str) -> Result<(), String> {
        if category != "kgce" && category::category(category).is_none() {
            return Err(format!(
                "unknown category `{category}`: a category code (01000, 02000 ...) or `kgce` for standard coal"
            ));
        }
        Ok(())
    }

    /// The annual allowance is above 0.
    pub fn check_annual(annual: Decimal) -> Result<(), String> {
        if annual <= Decimal::ZERO {
            return Err("annual must be greater than 0".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocations_are_built_or_refused_with_the_field_at_fault() {
        let twelve = vec![Decimal::ONE; 12];
        assert_eq!(Allocation::build("days", None), Ok(Allocation::Days));
        assert_eq!(
            Allocation::build("explicit", Some(&twelve)),
            Ok(Allocation::Explicit(twelve.clone()))
        );
        assert_eq!(
            Allocation::build("explicit", Some(&twelve[..11]))
                .unwrap_err()
                .0,
            QuotaField::Shares
        );
        assert_eq!(
            Allocation::build("explicit", None).unwrap_err().0,
            QuotaField::Allocation
        );
        assert_eq!(
            Allocation::build("equal", Some(&twelve)).unwrap_err(),
            (
                QuotaField::Shares,
                "`shares` goes with allocation = \"explicit\"".to_string()
            )
        );
        assert_eq!(
            Allocation::build("monthly", None).unwrap_err().1,
            "allocation `monthly`: use equal, days, last_year or explicit"
        );
        assert!(Quota::check_category("kgce").is_ok());
        assert!(Quota::check_category("01000").is_ok());
        assert!(Quota::check_category("09000").is_err());
        assert!(Quota::check_annual(Decimal::ZERO).is_err());
    }
}
