//! The rules' sections: `[calendar]`, `[rating]`, `[alerts]`, `[notify]` (each validates
//! itself) and `[[quotas]]` (units and categories resolved here).

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;

use super::error::{At, ConfigError};
use super::site_file::QuotaFile;
use crate::rules::quota_settings::{Allocation, Quota, QuotaField};

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
        if let Err(e) = Quota::check_category(cat) {
            errors.push(at(q.category.span()).error(e));
        }
        if let Err(e) = Quota::check_annual(*q.annual.get_ref()) {
            errors.push(at(q.annual.span()).error(e));
        }
        let shares = q.shares.as_ref();
        let allocation = match Allocation::build(
            q.allocation.get_ref(),
            shares.map(|s| s.get_ref().as_slice()),
        ) {
            Ok(a) => a,
            Err((field, e)) => {
                let span = match (field, shares) {
                    (QuotaField::Shares, Some(s)) => s.span(),
                    _ => q.allocation.span(),
                };
                errors.push(at(span).error(e));
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
