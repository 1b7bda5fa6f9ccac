//! `[[meters]]`, the CSV inventories and `[[virtual_meters]]`: every meter once, sub-meters
//! of the same kind of energy without loops, formulas over known real meters.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use toml::Spanned;

use super::error::{At, ConfigError};
use super::inventory;
use super::meter_draft::MeterDraft;
use super::mqtt::Broker;
use super::profile::ProfileLibrary;
use super::site_file::{MeterFile, VirtualMeterFile};
use crate::energy::category;
use crate::energy::formula::Formula;
use crate::site::{Connection, Meter, VirtualMeter};

/// The meters as written: inline ones, then each inventory CSV.
pub(super) fn drafts(
    raw: &[MeterFile],
    csvs: &[Spanned<PathBuf>],
    base: &Path,
    at: &dyn Fn(Range<usize>) -> At,
    errors: &mut Vec<ConfigError>,
) -> Vec<MeterDraft> {
    let mut drafts: Vec<MeterDraft> = raw.iter().map(|m| draft(m, at)).collect();
    for csv in csvs {
        let (more, problems) = inventory::read_meters_csv(&base.join(csv.get_ref()));
        drafts.extend(more);
        errors.extend(problems);
    }
    drafts
}

fn draft(m: &MeterFile, at: &dyn Fn(Range<usize>) -> At) -> MeterDraft {
    MeterDraft {
        id: (m.id.get_ref().clone(), at(m.id.span())),
        name: m.name.clone(),
        unit: (m.unit.get_ref().clone(), at(m.unit.span())),
        category: (m.category.get_ref().clone(), at(m.category.span())),
        profile: m
            .profile
            .as_ref()
            .map(|p| (p.get_ref().clone(), at(p.span()))),
        connection: m
            .connection
            .as_ref()
            .map(|c| (c.get_ref().clone(), at(c.span()))),
        slave_id: m.slave_id.as_ref().map(|s| (*s.get_ref(), at(s.span()))),
        address: m
            .address
            .as_ref()
            .map(|a| (a.get_ref().clone(), at(a.span()))),
        multiplier: m.multiplier.as_ref().map(|x| (*x.get_ref(), at(x.span()))),
        live_interval_s: m
            .live_interval_s
            .as_ref()
            .map(|x| (*x.get_ref(), at(x.span()))),
        energy_interval_min: m
            .energy_interval_min
            .as_ref()
            .map(|x| (*x.get_ref(), at(x.span()))),
        timeout_ms: m.timeout_ms.as_ref().map(|x| (*x.get_ref(), at(x.span()))),
        mqtt_name: m
            .mqtt_name
            .as_ref()
            .map(|x| (x.get_ref().clone(), at(x.span()))),
        read_by_hand: m
            .read_by_hand
            .as_ref()
            .map(|r| (r.get_ref().clone(), at(r.span()))),
        max_power: m.max_power.as_ref().map(|x| (*x.get_ref(), at(x.span()))),
        parent_meter: m
            .parent_meter
            .as_ref()
            .map(|x| (x.get_ref().clone(), at(x.span()))),
        multiplier_history: m
            .multiplier_history
            .iter()
            .map(|c| {
                (
                    (c.until.get_ref().clone(), at(c.until.span())),
                    (*c.multiplier.get_ref(), at(c.multiplier.span())),
                )
            })
            .collect(),
    }
}

/// The validated meters, and where each id was first written.
pub(super) fn meters(
    drafts: Vec<MeterDraft>,
    unit_at: &HashMap<String, At>,
    connections: &[Connection],
    brokers: &[Broker],
    profiles: &ProfileLibrary,
    timezone: Tz,
    errors: &mut Vec<ConfigError>,
) -> (Vec<Meter>, HashMap<String, At>) {
    let mut meters = Vec::new();
    let mut meter_ids: HashMap<String, At> = HashMap::new();
    for d in drafts {
        if let Some(first) = meter_ids.get(&d.id.0) {
            errors.push(d.id.1.error(format!(
                "duplicate meter id `{}` (first defined at {}:{})",
                d.id.0,
                first.file.display(),
                first.line
            )));
            continue;
        }
        meter_ids.insert(d.id.0.clone(), d.id.1.clone());
        match d.build(unit_at, connections, brokers, profiles, timezone) {
            Ok(m) => meters.push(m),
            Err(e) => errors.extend(e),
        }
    }
    check_sub_meters(&meters, &meter_ids, errors);
    (meters, meter_ids)
}

/// Sub-meters: the parent exists, measures the same kind of energy, and no loops.
fn check_sub_meters(
    meters: &[Meter],
    meter_ids: &HashMap<String, At>,
    errors: &mut Vec<ConfigError>,
) {
    for (m, d_at) in meters.iter().map(|m| (m, &meter_ids[&m.id])) {
        let Some(parent) = &m.parent_meter else {
            continue;
        };
        match meters.iter().find(|p| p.id == *parent) {
            None => errors.push(d_at.error(format!(
                "meter `{}`: unknown parent_meter `{parent}`",
                m.id
            ))),
            Some(p) if category::top_level(p.category.code) != category::top_level(m.category.code) => {
                errors.push(d_at.error(format!(
                    "meter `{}` ({}) cannot be a sub-meter of `{parent}` ({}): different kinds of energy",
                    m.id, m.category.code, p.category.code
                )))
            }
            Some(_) => {
                let mut seen = HashSet::from([m.id.as_str()]);
                let mut cur = m.parent_meter.as_deref();
                while let Some(c) = cur {
                    if !seen.insert(c) {
                        errors.push(d_at.error(format!(
                            "meter `{}` is its own ancestor (a cycle in `parent_meter`)",
                            m.id
                        )));
                        break;
                    }
                    cur = meters.iter().find(|x| x.id == c).and_then(|x| x.parent_meter.as_deref());
                }
            }
        }
    }
}

/// Virtual meters: formulas over real meters of the same kind of energy.
pub(super) fn virtual_meters(
    raw: &[VirtualMeterFile],
    meters: &[Meter],
    meter_ids: &HashMap<String, At>,
    unit_at: &HashMap<String, At>,
    at: &dyn Fn(Range<usize>) -> At,
    errors: &mut Vec<ConfigError>,
) -> Vec<VirtualMeter> {
    let mut virtual_meters = Vec::new();
    for v in raw {
        let id = v.id.get_ref().clone();
        if meter_ids.contains_key(&id) || virtual_meters.iter().any(|x: &VirtualMeter| x.id == id) {
            errors.push(at(v.id.span()).error(format!("duplicate meter id `{id}`")));
            continue;
        }
        if !unit_at.contains_key(v.unit.get_ref()) {
            errors.push(at(v.unit.span()).error(format!("unknown unit `{}`", v.unit.get_ref())));
        }
        let Some(cat) = category::category(v.category.get_ref()) else {
            errors.push(
                at(v.category.span())
                    .error(format!("unknown category code `{}`", v.category.get_ref())),
            );
            continue;
        };
        let formula = match Formula::parse(v.formula.get_ref()) {
            Ok(f) => f,
            Err(e) => {
                let mut a = at(v.formula.span());
                // The formula starts one column after its opening quote.
                a.col = a.col.map(|c| c + e.column);
                errors.push(a.error(format!("formula: {}", e.message)));
                continue;
            }
        };
        for name in formula.meters() {
            match meters.iter().find(|m| m.id == name) {
                None => errors.push(at(v.formula.span()).error(format!(
                    "formula: unknown meter `{name}` (formulas combine real meters)"
                ))),
                Some(m)
                    if category::top_level(m.category.code) != category::top_level(cat.code) =>
                {
                    errors.push(at(v.formula.span()).error(format!(
                        "formula: meter `{name}` ({}) is not the same kind of energy as {} ({})",
                        m.category.code, id, cat.code
                    )))
                }
                Some(_) => {}
            }
        }
        virtual_meters.push(VirtualMeter {
            id,
            name: v.name.clone(),
            unit: v.unit.get_ref().clone(),
            category: cat,
            formula,
        });
    }
    virtual_meters
}
