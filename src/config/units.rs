//! `[[units]]`: the hierarchy organisation > campus/building > unit, each unit once, every
//! parent known, no cycles.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use super::error::{At, ConfigError};
use super::site_file::UnitFile;
use crate::site::{Unit, UnitKind};

/// The units, and where each id was written.
pub(super) fn units(
    raw: &[UnitFile],
    at: &dyn Fn(Range<usize>) -> At,
    errors: &mut Vec<ConfigError>,
) -> (Vec<Unit>, HashMap<String, At>) {
    let mut units = Vec::new();
    let mut unit_at = HashMap::new();
    for u in raw {
        let id = u.id.get_ref().clone();
        if unit_at.insert(id.clone(), at(u.id.span())).is_some() {
            errors.push(at(u.id.span()).error(format!("duplicate unit id `{id}`")));
            continue;
        }
        if let Some(a) = u
            .floor_area_m2
            .as_ref()
            .filter(|a| a.get_ref().partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater))
        {
            errors.push(at(a.span()).error("floor_area_m2 must be greater than 0"));
        }
        units.push(Unit {
            id,
            name: u.name.clone(),
            kind: u.kind,
            parent: u.parent.as_ref().map(|p| p.get_ref().clone()),
            floor_area_m2: u.floor_area_m2.as_ref().map(|a| *a.get_ref()),
            occupants: u.occupants,
            office_class: u.office_class,
            annual_hours: u.annual_hours,
        });
    }
    for (u, raw_u) in units.iter().zip(raw) {
        match (&raw_u.parent, u.kind) {
            (None, UnitKind::Organisation) => {}
            (Some(p), UnitKind::Organisation) => errors.push(
                at(p.span()).error("an organisation is the top of the hierarchy and has no parent"),
            ),
            (None, _) => errors.push(at(raw_u.id.span()).error(format!(
                "unit `{}` needs a `parent` (only an organisation has none)",
                u.id
            ))),
            (Some(p), _) if !unit_at.contains_key(p.get_ref()) => {
                errors.push(at(p.span()).error(format!("unknown parent unit `{}`", p.get_ref())))
            }
            (Some(_), _) => {
                if has_cycle(&units, &u.id) {
                    errors.push(at(raw_u.id.span()).error(format!(
                        "unit `{}` is its own ancestor (a cycle in `parent`)",
                        u.id
                    )));
                }
            }
        }
    }
    (units, unit_at)
}

fn has_cycle(units: &[Unit], start: &str) -> bool {
    let by_id: BTreeMap<&str, &Unit> = units.iter().map(|u| (u.id.as_str(), u)).collect();
    let mut current = by_id.get(start).and_then(|u| u.parent.as_deref());
    for _ in 0..=units.len() {
        match current {
            None => return false,
            Some(id) if id == start => return true,
            Some(id) => current = by_id.get(id).and_then(|u| u.parent.as_deref()),
        }
    }
    true
}
