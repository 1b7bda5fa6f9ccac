//! The rules' sections: `[calendar]`, `[rating]`, `[alerts]`, `[notify]` (each validates
//! itself) and `[[quotas]]` (units and categories resolved here).

use std::collections::HashMap;
use std::ops::Range;

use rust_decimal::Decimal;
use toml::Spanned;

use super::error::{At, ConfigError};
use super::site_file::QuotaFile;
use crate::energy::category;
use crate::rules::quota_settings::{Allocation, Quota};

/// A settings section: its default when absent, else as written, each problem its own
/// validation finds reported at the section as `NAME: problem`.
pub(super) fn section<T: Clone + Default>(
    raw: &Option<Spanned<T>>,
    name: &str,
    validate: impl Fn(&T) -> Vec<String>,
    at: &dyn Fn(Range<usize>) -> At,
    errors: &mut Vec<ConfigError>,
) -> T {
    match raw {
        None => T::default(),
        Some(c) => {
            for problem in validate(c.get_ref()) {
                errors.push(at(c.span()).error(format!("{name}: {problem}")));
            }
            c.get_ref().clone()
        }
    }
}

/// `[[quotas]]`: each for a known unit and a category code or `kgce`.
pub(super) fn quotas(
    raw: &[QuotaFile],
    unit_at: &HashMap<String, At>,
    at: &dyn Fn(Range<usize>) -> At,
    errors: &mut Vec<ConfigError>,
) -> Vec<Quota> {
    let mut quotas = Vec::new();
    for q in raw {
        if !unit_at.contains_key(q.unit.get_ref()) {
            errors.push(at(q.unit.span()).error(format!("unknown unit `{}`", q.unit.get_ref())));
        }
        let cat = q.category.get_ref();
        if cat != "kgce" && category::category(cat).is_none() {
            errors.push(at(q.category.span()).error(format!(
                "unknown category `{cat}`: a category code (01000, 02000 ...) or `kgce` for standard coal"
            )));
        }
        if *q.annual.get_ref() <= Decimal::ZERO {
            errors.push(at(q.annual.span()).error("annual must be greater than 0"));
        }
        let allocation = match (q.allocation.get_ref().as_str(), &q.shares) {
            ("equal", None) => Allocation::Equal,
            ("days", None) => Allocation::Days,
            ("last_year", None) => Allocation::LastYear,
            ("explicit", Some(shares))
                if shares.get_ref().len() == 12
                    && shares.get_ref().iter().all(|s| *s >= Decimal::ZERO)
                    && shares.get_ref().iter().any(|s| *s > Decimal::ZERO) =>
            {
                Allocation::Explicit(shares.get_ref().clone())
            }
            ("explicit", Some(shares)) => {
                errors.push(
                    at(shares.span()).error("shares: twelve numbers ≥ 0, January first, not all 0"),
                );
                Allocation::Days
            }
            ("explicit", None) => {
                errors.push(at(q.allocation.span()).error(
                    "allocation = \"explicit\" needs `shares` (twelve numbers, January first)",
                ));
                Allocation::Days
            }
            (_, Some(shares)) => {
                errors
                    .push(at(shares.span()).error("`shares` goes with allocation = \"explicit\""));
                Allocation::Days
            }
            (other, None) => {
                errors.push(at(q.allocation.span()).error(format!(
                    "allocation `{other}`: use equal, days, last_year or explicit"
                )));
                Allocation::Days
            }
        };
        quotas.push(Quota {
            unit: q.unit.get_ref().clone(),
            category: cat.clone(),
            basis: q.basis,
            annual: *q.annual.get_ref(),
            year: q.year,
            allocation,
        });
    }
    quotas
}
