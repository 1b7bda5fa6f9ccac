//! Meter inventories from CSV (hundreds of meters live in spreadsheets). Columns:
//! `id,name,unit,category,profile,connection,slave_id,multiplier,live_interval_s,read_by_hand`,
//! optionally also `energy_interval_min,timeout_ms,mqtt_name,max_power,parent_meter`;
//! the first four are required, the rest may be empty. Errors are `FILE:LINE: message`.

use std::path::Path;

use rust_decimal::Decimal;
use serde::Deserialize;

use super::error::{At, ConfigError, ConfigErrors};
use super::meter_draft::MeterDraft;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    id: String,
    name: String,
    unit: String,
    category: String,
    #[serde(default)]
    profile: Option<String>,
    #[serde(default)]
    connection: Option<String>,
    #[serde(default)]
    slave_id: Option<String>,
    #[serde(default)]
    multiplier: Option<String>,
    #[serde(default)]
    live_interval_s: Option<String>,
    #[serde(default)]
    energy_interval_min: Option<String>,
    #[serde(default)]
    timeout_ms: Option<String>,
    #[serde(default)]
    mqtt_name: Option<String>,
    #[serde(default)]
    read_by_hand: Option<String>,
    #[serde(default)]
    max_power: Option<String>,
    #[serde(default)]
    parent_meter: Option<String>,
}

/// Reads an inventory; rows with errors are reported and left out, the rest are returned.
pub(crate) fn read_meters_csv(path: &Path) -> (Vec<MeterDraft>, Vec<ConfigError>) {
    match read(path) {
        Ok(r) => r,
        Err(e) => (vec![], e.0),
    }
}

fn read(path: &Path) -> Result<(Vec<MeterDraft>, Vec<ConfigError>), ConfigErrors> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| error(path, 1, format!("cannot read: {e}")))?;
    let headers = reader
        .headers()
        .map_err(|e| error(path, 1, format!("cannot read the header: {e}")))?
        .clone();
    let mut drafts = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        format!("{len} fields, but the header has {expected_len}")
                    }
                    _ => e.to_string(),
                };
                errors.push(error(path, line, message));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        let row: Row = match record.deserialize(Some(&headers)) {
            Ok(row) => row,
            Err(e) => {
                let message = match e.kind() {
                    csv::ErrorKind::Deserialize { err, .. } => match err.field() {
                        Some(i) => format!(
                            "field `{}`: {}",
                            headers.get(i as usize).unwrap_or("?"),
                            err.kind()
                        ),
                        None => err.to_string(),
                    },
                    _ => e.to_string(),
                };
                errors.push(error(path, line, message));
                continue;
            }
        };
        let at = At {
            file: path.to_path_buf(),
            line,
            col: None,
        };
        let opt = |s: Option<String>| s.filter(|s| !s.is_empty()).map(|s| (s, at.clone()));
        let mut bad = Vec::new();
        let mut number = |field: &str, s: Option<String>| -> Option<(i64, At)> {
            let s = s.filter(|s| !s.is_empty())?;
            match s.parse() {
                Ok(v) => Some((v, at.clone())),
                Err(_) => {
                    bad.push(at.error(format!("field `{field}`: `{s}` is not a whole number")));
                    None
                }
            }
        };
        let slave_id = number("slave_id", row.slave_id);
        let live_interval_s = number("live_interval_s", row.live_interval_s);
        let energy_interval_min = number("energy_interval_min", row.energy_interval_min);
        let timeout_ms = number("timeout_ms", row.timeout_ms);
        let mut decimal = |field: &str, s: Option<String>| -> Option<(Decimal, At)> {
            let s = s.filter(|s| !s.is_empty())?;
            match s.parse::<Decimal>() {
                Ok(m) => Some((m, at.clone())),
                Err(_) => {
                    bad.push(at.error(format!("field `{field}`: `{s}` is not a number")));
                    None
                }
            }
        };
        let multiplier = decimal("multiplier", row.multiplier);
        let max_power = decimal("max_power", row.max_power);
        if !bad.is_empty() {
            errors.extend(bad);
            continue;
        }
        drafts.push(MeterDraft {
            id: (row.id, at.clone()),
            name: row.name,
            unit: (row.unit, at.clone()),
            category: (row.category, at.clone()),
            profile: opt(row.profile),
            connection: opt(row.connection),
            slave_id,
            address: None,
            multiplier,
            live_interval_s,
            energy_interval_min,
            timeout_ms,
            mqtt_name: opt(row.mqtt_name),
            read_by_hand: opt(row.read_by_hand),
            max_power,
            parent_meter: opt(row.parent_meter),
            multiplier_history: Vec::new(),
        });
    }
    Ok((drafts, errors))
}

fn error(path: &Path, line: usize, message: String) -> ConfigError {
    ConfigError {
        file: path.to_path_buf(),
        line,
        col: None,
        message,
    }
}
