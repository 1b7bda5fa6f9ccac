//! Meter inventories from CSV (hundreds of meters live in spreadsheets). Columns:
//! `id,name,unit,category,profile,connection,slave_id,multiplier,live_interval_s,read_by_hand`;
//! the first five are required, the rest may be empty. Errors are `FILE:LINE: message`.

use std::path::Path;

use rust_decimal::Decimal;
use serde::Deserialize;

use super::error::{ConfigError, ConfigErrors};
use super::site::{At, MeterDraft};

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
    slave_id: Option<i64>,
    #[serde(default)]
    multiplier: Option<Decimal>,
    #[serde(default)]
    live_interval_s: Option<i64>,
    #[serde(default)]
    energy_interval_min: Option<i64>,
    #[serde(default)]
    read_by_hand: Option<String>,
}

pub(crate) fn read_meters_csv(path: &Path) -> Result<Vec<MeterDraft>, ConfigErrors> {
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
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
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
                        Some(i) => format!("field `{}`: {}", headers.get(i as usize).unwrap_or("?"), err.kind()),
                        None => err.to_string(),
                    },
                    _ => e.to_string(),
                };
                errors.push(error(path, line, message));
                continue;
            }
        };
        let at = At { file: path.to_path_buf(), line, col: None };
        let opt = |s: Option<String>| s.filter(|s| !s.is_empty()).map(|s| (s, at.clone()));
        drafts.push(MeterDraft {
            id: (row.id, at.clone()),
            name: row.name,
            unit: (row.unit, at.clone()),
            category: (row.category, at.clone()),
            profile: opt(row.profile),
            connection: opt(row.connection),
            slave_id: row.slave_id.map(|v| (v, at.clone())),
            multiplier: row.multiplier.map(|v| (v, at.clone())),
            live_interval_s: row.live_interval_s.map(|v| (v, at.clone())),
            energy_interval_min: row.energy_interval_min.map(|v| (v, at.clone())),
            read_by_hand: opt(row.read_by_hand),
        });
    }
    if errors.is_empty() { Ok(drafts) } else { Err(ConfigErrors(errors)) }
}

fn error(path: &Path, line: usize, message: String) -> ConfigError {
    ConfigError { file: path.to_path_buf(), line, col: None, message }
}
