//! Quotas as the site config sets them (`[[quotas]]`): a unit's annual allowance of a category
//! or of standard coal, and how it is spread over months. Plain data; the month status and
//! projection are in `quota`.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

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
