//! Readings as InfluxDB line protocol. The schema (documented in docs/influxdb.md, relied on
//! by the Grafana dashboards):
//!
//! - measurement: the quantity family — `electricity`, `water`, `gas`, `heat`;
//! - tags: `meter` (id), `unit` (the unit it meters), `building`, `category` (sub-metering code),
//!   and the `[influx] tags` of the config (e.g. `site`);
//! - fields: canonical quantity names (`power_kw`, `energy_import_kwh`, ...), always floats so
//!   a field never changes type;
//! - timestamp: milliseconds.
//!
//! Readings of one meter taken at the same instant share a line.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use influxdb2::models::{DataPoint, WriteDataPoint};

use crate::quantity::Quantity;
use crate::reading::Reading;
use crate::site::{Site, UnitKind};

/// The measurement a quantity is written to.
pub fn measurement(q: Quantity) -> &'static str {
    match q.name() {
        "water_m3" | "flow_m3h" => "water",
        "gas_m3" => "gas",
        "heat_gj" | "heat_power_kw" | "supply_temp_c" | "return_temp_c" => "heat",
        _ => "electricity",
    }
}

/// Every measurement and field the sink may write, for tests and dashboards.
pub fn schema() -> Vec<(&'static str, &'static str)> {
    Quantity::all()
        .map(|q| (measurement(q), q.name()))
        .collect()
}

pub use super::TAGS;

/// A meter's tags.
#[derive(Debug, Clone)]
pub struct MeterTags {
    pub unit: String,
    pub building: String,
    pub category: String,
    /// The config's `[influx] tags`, the same for every meter.
    pub extra: Arc<[(String, String)]>,
}

/// Tags for every meter of the site. `building` is the nearest unit of kind building at or
/// above the meter's unit, else the unit right below the organisation.
pub fn site_tags(site: &Site) -> HashMap<Arc<str>, MeterTags> {
    let extra: Arc<[(String, String)]> = site
        .influx
        .as_ref()
        .map(|i| i.tags.clone())
        .unwrap_or_default()
        .into();
    let building_of = |unit: &str| -> String {
        let mut current = site.unit(unit);
        let mut below_top = unit.to_string();
        while let Some(u) = current {
            if u.kind == UnitKind::Building {
                return u.id.clone();
            }
            match u.parent.as_deref().and_then(|p| site.unit(p)) {
                Some(parent) if parent.kind == UnitKind::Organisation => return u.id.clone(),
                Some(parent) => {
                    below_top = parent.id.clone();
                    current = Some(parent);
                }
                None => break,
            }
        }
        below_top
    };
    site.meters
        .iter()
        .map(|m| {
            let tags = MeterTags {
                unit: m.unit.clone(),
                building: building_of(&m.unit),
                category: m.category.code.to_string(),
                extra: extra.clone(),
            };
            (Arc::from(m.id.as_str()), tags)
        })
        .collect()
}

/// Appends the readings as line protocol to `out`; returns the number of lines. Readings of
/// meters without tags (not in the site) are skipped.
pub fn encode(
    readings: &[Reading],
    tags: &HashMap<Arc<str>, MeterTags>,
    out: &mut Vec<u8>,
) -> usize {
    let mut lines = 0;
    let mut i = 0;
    while i < readings.len() {
        let r = &readings[i];
        let m = measurement(r.quantity);
        // Same meter, same instant, same measurement: one line with several fields.
        let mut j = i + 1;
        while j < readings.len()
            && readings[j].meter == r.meter
            && readings[j].time == r.time
            && measurement(readings[j].quantity) == m
        {
            j += 1;
        }
        if let Some(t) = tags.get(&r.meter) {
            let mut point = DataPoint::builder(m)
                .tag("meter", &*r.meter)
                .tag("unit", &t.unit)
                .tag("building", &t.building)
                .tag("category", &t.category);
            for (key, value) in t.extra.iter() {
                point = point.tag(key.as_str(), value.as_str());
            }
            for reading in &readings[i..j] {
                point = point.field(reading.quantity.name(), reading.value);
            }
            if let Ok(point) = point.timestamp(r.time.timestamp_millis()).build()
                && point.write_data_point_to(&mut *out).is_ok()
            {
                lines += 1;
            }
        }
        i = j;
    }
    let _ = out.flush();
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reading::ReadingQuality;
    use chrono::TimeZone;

    #[test]
    fn readings_become_escaped_float_lines() {
        let t = chrono::Utc.with_ymd_and_hms(2026, 11, 28, 4, 0, 0).unwrap();
        let r = |m: &str, q: &str, v: f64| Reading {
            meter: Arc::from(m),
            quantity: Quantity::named(q),
            time: t,
            value: v,
            quality: ReadingQuality::Measured,
        };
        let mut tags = HashMap::new();
        tags.insert(
            Arc::from("lib main"),
            MeterTags {
                unit: "library".into(),
                building: "library".into(),
                category: "01000".into(),
                extra: Arc::from(vec![("site".to_string(), "north campus".to_string())]),
            },
        );
        let mut out = Vec::new();
        let n = encode(
            &[
                r("lib main", "power_kw", 12.0),
                r("lib main", "energy_import_kwh", 100.5),
                r("lib main", "water_m3", 3.0),
                r("unknown", "power_kw", 1.0),
            ],
            &tags,
            &mut out,
        );
        assert_eq!(n, 2);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "electricity,building=library,category=01000,meter=lib\\ main,site=north\\ campus,unit=library energy_import_kwh=100.5,power_kw=12 1795838400000\n\
             water,building=library,category=01000,meter=lib\\ main,site=north\\ campus,unit=library water_m3=3 1795838400000\n"
        );
    }
}
