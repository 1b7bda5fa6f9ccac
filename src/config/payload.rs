//! MQTT payload formats: profiles too (data, not code), one TOML file per format in
//! `devices/mqtt/`. A format says where each quantity sits in a message (a JSON pointer), its
//! unit, and where the timestamp is, if anywhere.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigError, ConfigErrors, Source};
use super::library::Library;
use crate::quantity::Quantity;

/// How a payload carries its values.
#[derive(Debug, Clone, PartialEq)]
pub enum PayloadKind {
    /// A JSON object; each value at a JSON pointer. Pointers missing from a message are skipped
    /// (devices send different parts in different messages).
    Json(Vec<PointerValue>),
    /// The whole payload is one number; the quantity comes from the topic (`{quantity}`) or
    /// from the format.
    Number {
        quantity: Option<Quantity>,
        unit_factor: f64,
    },
    /// A JSON object whose keys are canonical quantity names, plus an optional `time`.
    Canonical,
    /// Many readings in one message: an array of objects, each naming its meter and quantity.
    Batch(BatchFields),
}

#[derive(Debug, Clone, PartialEq)]
pub struct PointerValue {
    pub quantity: Quantity,
    pub pointer: String,
    /// Factor from the payload's unit to the canonical unit.
    pub unit_factor: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BatchFields {
    /// Pointer to the array ("" = the payload is the array).
    pub items: String,
    pub meter: String,
    pub quantity: String,
    pub value: String,
    pub time: Option<String>,
    pub unit: Option<String>,
}

/// How a timestamp is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeFormat {
    /// RFC 3339 with offset, e.g. 2026-11-28T12:00:00+08:00.
    Rfc3339,
    /// Seconds since 1970 (may have a fraction).
    UnixS,
    /// Milliseconds since 1970.
    UnixMs,
    /// Local time without offset (Tasmota's `Time`): read in the site's time zone.
    Local,
}

#[derive(Debug, Clone)]
pub struct PayloadFormat {
    pub name: String,
    pub title: String,
    /// Where the format is documented.
    pub source: String,
    pub kind: PayloadKind,
    pub time: Option<(String, TimeFormat)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FormatFile {
    title: String,
    source: String,
    kind: Spanned<String>,
    time: Option<TimeFile>,
    #[serde(default)]
    values: Vec<ValueFile>,
    number: Option<NumberFile>,
    batch: Option<BatchFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TimeFile {
    pointer: String,
    format: TimeFormat,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValueFile {
    quantity: Spanned<String>,
    pointer: Spanned<String>,
    unit: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NumberFile {
    quantity: Option<Spanned<String>>,
    unit: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchFile {
    items: String,
    meter: String,
    quantity: String,
    value: String,
    time: Option<String>,
    unit: Option<String>,
}

fn check_pointer(src: &Source<'_>, p: &Spanned<String>, errors: &mut Vec<ConfigError>) {
    let s = p.get_ref();
    if !s.is_empty() && !s.starts_with('/') {
        errors.push(src.error_at(
            p.span(),
            format!("`{s}` is not a JSON pointer (they start with `/`, e.g. /ENERGY/Total)"),
        ));
    }
}

fn quantity(
    src: &Source<'_>,
    q: &Spanned<String>,
    errors: &mut Vec<ConfigError>,
) -> Option<Quantity> {
    let found = Quantity::parse(q.get_ref());
    if found.is_none() {
        errors.push(src.error_at(
            q.span(),
            format!("unknown quantity `{}` (see docs/devices.md)", q.get_ref()),
        ));
    }
    found
}

fn unit_factor(
    src: &Source<'_>,
    q: Quantity,
    unit: &Option<Spanned<String>>,
    errors: &mut Vec<ConfigError>,
) -> f64 {
    match unit {
        None => 1.0,
        Some(u) => q.conversion_from(u.get_ref()).unwrap_or_else(|| {
            errors.push(src.error_at(
                u.span(),
                format!(
                    "unit `{}` cannot be converted to {} for {q}",
                    u.get_ref(),
                    q.unit()
                ),
            ));
            1.0
        }),
    }
}

pub fn parse_format(name: &str, file: &Path, text: &str) -> Result<PayloadFormat, ConfigErrors> {
    let src = Source { file, text };
    let raw: FormatFile = src.parse()?;
    let mut errors = Vec::new();
    let kind = match raw.kind.get_ref().as_str() {
        "json" => {
            if raw.values.is_empty() {
                errors.push(src.error_at(raw.kind.span(), "a json format needs [[values]]"));
            }
            let mut values = Vec::new();
            for v in &raw.values {
                check_pointer(&src, &v.pointer, &mut errors);
                if let Some(q) = quantity(&src, &v.quantity, &mut errors) {
                    let unit_factor = unit_factor(&src, q, &v.unit, &mut errors);
                    values.push(PointerValue {
                        quantity: q,
                        pointer: v.pointer.get_ref().clone(),
                        unit_factor,
                    });
                }
            }
            PayloadKind::Json(values)
        }
        "number" => {
            let (q, factor) = match &raw.number {
                Some(NumberFile {
                    quantity: Some(qs),
                    unit,
                }) => match quantity(&src, qs, &mut errors) {
                    Some(q) => (Some(q), unit_factor(&src, q, unit, &mut errors)),
                    None => (None, 1.0),
                },
                _ => (None, 1.0),
            };
            PayloadKind::Number {
                quantity: q,
                unit_factor: factor,
            }
        }
        "canonical" => PayloadKind::Canonical,
        "batch" => match raw.batch {
            Some(b) => PayloadKind::Batch(BatchFields {
                items: b.items,
                meter: b.meter,
                quantity: b.quantity,
                value: b.value,
                time: b.time,
                unit: b.unit,
            }),
            None => {
                errors.push(src.error_at(raw.kind.span(), "a batch format needs a [batch] table"));
                PayloadKind::Canonical
            }
        },
        other => {
            errors.push(src.error_at(
                raw.kind.span(),
                format!("unknown kind `{other}`: json, number, canonical or batch"),
            ));
            PayloadKind::Canonical
        }
    };
    if !errors.is_empty() {
        errors.sort_by_key(|e| (e.line, e.col));
        return Err(ConfigErrors(errors));
    }
    Ok(PayloadFormat {
        name: name.to_string(),
        title: raw.title,
        source: raw.source,
        kind,
        time: raw.time.map(|t| (t.pointer, t.format)),
    })
}

include!(concat!(env!("OUT_DIR"), "/builtin_payloads.rs"));

/// Payload formats by name: built-in (`devices/mqtt/`) plus `*.toml` in the configured
/// `payload_dirs`.
pub type PayloadLibrary = Library<PayloadFormat>;

impl Library<PayloadFormat> {
    pub fn builtin() -> PayloadLibrary {
        Library::from_builtin(BUILTIN_PAYLOADS, "devices/mqtt", parse_format)
    }

    pub fn load(dirs: &[PathBuf]) -> Result<PayloadLibrary, ConfigErrors> {
        Self::builtin().with_dirs(dirs, parse_format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_formats_are_valid() {
        assert!(BUILTIN_PAYLOADS.len() >= 5);
        for (name, text) in BUILTIN_PAYLOADS {
            parse_format(name, Path::new(name), text).unwrap_or_else(|e| panic!("{e}"));
        }
    }

    #[test]
    fn explains_bad_formats() {
        let text = "title = \"x\"\nsource = \"y\"\nkind = \"json\"\n[[values]]\nquantity = \"power\"\npointer = \"ENERGY/Power\"\n";
        let err = parse_format("x", Path::new("x.toml"), text)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "x.toml:5:12: unknown quantity `power` (see docs/devices.md)\nx.toml:6:11: `ENERGY/Power` is not a JSON pointer (they start with `/`, e.g. /ENERGY/Total)"
        );
    }
}
