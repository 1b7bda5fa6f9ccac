//! Profiles of meters that speak the Chinese meter-reading protocols on RS-485 lines:
//! DL/T 645-2007, DL/T 645-1997 (electricity) and CJ/T 188-2004 (water, heat, gas), as data
//! like the Modbus profiles: which identifiers to read, in what format, as which canonical
//! quantities. Built in from `devices/dlt645/` and `devices/cjt188/`.
//!
//! ```toml
//! model = "DDSU666 (DL/T 645-2007)"
//! manufacturer = "CHINT"
//! manual = "DL/T 645-2007 附录A 表A.1, A.3"
//! protocol = "dlt645-2007"
//! [[values]]
//! id = "0001FF00"                      # a block: total and tariffs 1–4
//! quantities = ["energy_import_kwh", "energy_import_kwh_sharp", "energy_import_kwh_peak",
//!               "energy_import_kwh_flat", "energy_import_kwh_valley"]
//! format = "XXXXXX.XX"
//! [[values]]
//! id = "02020100"
//! quantity = "current_l1_a"
//! format = "XXX.XXX"
//! signed = true
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigErrors, Source};
use super::library::{Library, load_file};
use crate::collect::cjt188::frame::MeterType;
use crate::collect::dlt645::data::Format;
use crate::collect::dlt645::frame::DataId;
use crate::quantity::Quantity;

/// Which protocol a line profile speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineProtocol {
    Dlt645_2007,
    Dlt645_1997,
    /// CJ/T 188-2004, for meters of this type.
    Cjt188(MeterType),
}

impl LineProtocol {
    /// The serial settings such meters leave the factory with: DL/T 645-2007 2400 baud 8E1,
    /// DL/T 645-1997 1200 baud 8E1, CJ/T 188 2400 baud 8E1.
    pub fn default_baud(&self) -> u32 {
        match self {
            LineProtocol::Dlt645_1997 => 1200,
            _ => 2400,
        }
    }
}

/// One value a profile reads.
#[derive(Debug, Clone, PartialEq)]
pub enum LineValue {
    /// A DL/T 645 identifier: one value, or a block of several in the same format.
    Dlt645 {
        id: DataId,
        quantities: Vec<Quantity>,
        format: Format,
    },
    /// A field of a CJ/T 188 meter reading (901FH).
    Cjt188 {
        field: Cjt188Field,
        quantity: Quantity,
    },
}

impl LineValue {
    pub fn quantities(&self) -> Vec<Quantity> {
        match self {
            LineValue::Dlt645 { quantities, .. } => quantities.clone(),
            LineValue::Cjt188 { quantity, .. } => vec![*quantity],
        }
    }
}

/// The fields of a CJ/T 188 901FH reading a profile may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cjt188Field {
    /// 当前累积流量 (water, gas) or 累积流量 (heat), m³.
    Volume,
    /// 当前热量, converted to GJ.
    Heat,
    /// 热功率, kW.
    HeatPower,
    /// 流量, m³/h.
    Flow,
    /// 供水温度, °C.
    SupplyTemperature,
    /// 回水温度, °C.
    ReturnTemperature,
}

impl Cjt188Field {
    fn parse(s: &str) -> Option<Cjt188Field> {
        Some(match s {
            "volume" => Cjt188Field::Volume,
            "heat" => Cjt188Field::Heat,
            "heat_power" => Cjt188Field::HeatPower,
            "flow" => Cjt188Field::Flow,
            "supply_temperature" => Cjt188Field::SupplyTemperature,
            "return_temperature" => Cjt188Field::ReturnTemperature,
            _ => return None,
        })
    }
}

/// A validated line profile.
#[derive(Debug, Clone)]
pub struct LineProfile {
    /// The file stem configs refer to (`dlt645-2007-single-phase`).
    pub name: String,
    pub model: String,
    pub manufacturer: String,
    /// Where the identifiers were taken from: the standard's clause or the meter manual.
    pub manual: String,
    pub description: Option<String>,
    pub protocol: LineProtocol,
    pub timeout_ms: u64,
    pub values: Vec<LineValue>,
}

impl LineProfile {
    /// Whether the profile reads `quantity`.
    pub fn reads(&self, quantity: Quantity) -> bool {
        self.values
            .iter()
            .any(|v| v.quantities().contains(&quantity))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineProfileFile {
    model: String,
    manufacturer: String,
    manual: Spanned<String>,
    description: Option<String>,
    protocol: Spanned<String>,
    /// CJ/T 188 only: cold_water, hot_water, heat, cooling, gas.
    meter_type: Option<Spanned<String>>,
    #[serde(default = "default_timeout_ms")]
    timeout_ms: u64,
    values: Vec<Spanned<ValueFile>>,
}

fn default_timeout_ms() -> u64 {
    // 2400 baud: a 30-byte reply takes 0.14 s on the wire, meters answer within 500 ms.
    1500
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValueFile {
    /// DL/T 645: the identifier as the standard writes it (`00010000`, `9010`); CJ/T 188:
    /// `901F`.
    id: Spanned<String>,
    quantity: Option<Spanned<String>>,
    quantities: Option<Spanned<Vec<String>>>,
    /// DL/T 645: the standard's notation, `XXXXXX.XX`.
    format: Option<Spanned<String>>,
    #[serde(default)]
    signed: bool,
    /// CJ/T 188: which field of the reading.
    field: Option<Spanned<String>>,
}

/// A DL/T 645 value format from the standard's notation: `XXXXXX.XX` is 8 digits in 4 BCD
/// bytes, 2 of them decimals.
pub fn parse_format(pattern: &str, signed: bool) -> Result<Format, String> {
    let digits = pattern.chars().filter(|c| *c == 'X').count();
    let decimals = pattern.split_once('.').map_or(0, |(_, d)| d.len());
    let valid = !pattern.is_empty()
        && pattern.chars().all(|c| c == 'X' || c == '.')
        && pattern.matches('.').count() <= 1
        && digits.is_multiple_of(2)
        && (2..=16).contains(&digits);
    if !valid {
        return Err(format!(
            "format `{pattern}`: write it as the standard does, an even number of X digits with at most one point (XXXXXX.XX, XXX.X, X.XXX)"
        ));
    }
    Ok(Format {
        bytes: digits / 2,
        decimals: decimals as u32,
        signed,
    })
}

fn parse_id(text: &str, protocol: LineProtocol) -> Result<DataId, String> {
    let hex = |width: usize| {
        (text.len() == width && text.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| u32::from_str_radix(text, 16).ok())
            .flatten()
    };
    match protocol {
        LineProtocol::Dlt645_2007 => hex(8).map(DataId::V2007).ok_or_else(|| {
            format!("id `{text}`: 8 hex digits as the standard writes them (00010000)")
        }),
        LineProtocol::Dlt645_1997 => hex(4)
            .map(|v| DataId::V1997(v as u16))
            .ok_or_else(|| format!("id `{text}`: 4 hex digits as the standard writes them (9010)")),
        LineProtocol::Cjt188(_) => Err("CJ/T 188 values have no DL/T 645 identifier".into()),
    }
}

fn meter_type(name: &str) -> Option<MeterType> {
    Some(match name {
        "cold_water" => MeterType::ColdWater,
        "hot_water" => MeterType::HotWater,
        "heat" => MeterType::from_code(0x20),
        "cooling" => MeterType::from_code(0x21),
        "gas" => MeterType::from_code(0x30),
        _ => return None,
    })
}

pub fn parse_line_profile(
    name: &str,
    file: &Path,
    text: &str,
) -> Result<LineProfile, ConfigErrors> {
    let src = Source { file, text };
    let raw: LineProfileFile = src.parse()?;
    let mut errors = Vec::new();
    if raw.manual.get_ref().trim().is_empty() {
        errors.push(src.error_at(
            raw.manual.span(),
            "`manual` must name the standard clause or meter manual the identifiers come from",
        ));
    }
    let protocol = match (raw.protocol.get_ref().as_str(), &raw.meter_type) {
        ("dlt645-2007", None) => LineProtocol::Dlt645_2007,
        ("dlt645-1997", None) => LineProtocol::Dlt645_1997,
        ("cjt188", Some(t)) => match meter_type(t.get_ref()) {
            Some(t) => LineProtocol::Cjt188(t),
            None => {
                errors.push(src.error_at(
                    t.span(),
                    format!(
                        "meter_type `{}`: cold_water, hot_water, heat, cooling or gas",
                        t.get_ref()
                    ),
                ));
                LineProtocol::Cjt188(MeterType::ColdWater)
            }
        },
        ("cjt188", None) => {
            errors.push(src.error_at(
                raw.protocol.span(),
                "a CJ/T 188 profile needs meter_type (cold_water, hot_water, heat, cooling or gas)",
            ));
            LineProtocol::Cjt188(MeterType::ColdWater)
        }
        ("dlt645-2007" | "dlt645-1997", Some(t)) => {
            errors.push(src.error_at(t.span(), "meter_type is for CJ/T 188 profiles"));
            LineProtocol::Dlt645_2007
        }
        (other, _) => {
            errors.push(src.error_at(
                raw.protocol.span(),
                format!("protocol `{other}`: dlt645-2007, dlt645-1997 or cjt188"),
            ));
            LineProtocol::Dlt645_2007
        }
    };
    if raw.values.is_empty() {
        errors.push(src.error_at(0..0, "profile has no [[values]]"));
    }
    let mut values = Vec::new();
    let mut seen: Vec<Quantity> = Vec::new();
    for spanned in &raw.values {
        let v = spanned.get_ref();
        let quantity = |name: &Spanned<String>, errors: &mut Vec<_>| {
            let q = Quantity::parse(name.get_ref());
            if q.is_none() {
                errors.push(src.error_at(
                    name.span(),
                    format!(
                        "unknown quantity `{}` (see docs/devices.md)",
                        name.get_ref()
                    ),
                ));
            }
            q
        };
        let mut quantities: Vec<Quantity> = Vec::new();
        match (&v.quantity, &v.quantities) {
            (Some(q), None) => quantities.extend(quantity(q, &mut errors)),
            (None, Some(list)) if !list.get_ref().is_empty() => {
                for name in list.get_ref() {
                    match Quantity::parse(name) {
                        Some(q) => quantities.push(q),
                        None => errors.push(src.error_at(
                            list.span(),
                            format!("unknown quantity `{name}` (see docs/devices.md)"),
                        )),
                    }
                }
            }
            _ => {
                errors.push(src.error_at(
                    spanned.span(),
                    "a value needs `quantity`, or `quantities` for a block, not both",
                ));
                continue;
            }
        }
        for q in &quantities {
            if seen.contains(q) {
                errors.push(src.error_at(
                    spanned.span(),
                    format!("quantity `{q}` is read twice in this profile"),
                ));
            }
            seen.push(*q);
        }
        match protocol {
            LineProtocol::Cjt188(_) => {
                if v.id.get_ref() != "901F" {
                    errors.push(src.error_at(
                        v.id.span(),
                        "CJ/T 188 profiles read the meter reading, id `901F`",
                    ));
                }
                let field = v
                    .field
                    .as_ref()
                    .and_then(|f| Cjt188Field::parse(f.get_ref()));
                match (field, quantities.as_slice()) {
                    (Some(field), [q]) => values.push(LineValue::Cjt188 {
                        field,
                        quantity: *q,
                    }),
                    (None, _) => errors.push(src.error_at(
                        spanned.span(),
                        "a CJ/T 188 value needs `field`: volume, heat, heat_power, flow, supply_temperature or return_temperature",
                    )),
                    _ => errors.push(src.error_at(
                        spanned.span(),
                        "a CJ/T 188 value is one `quantity`",
                    )),
                }
            }
            _ => {
                let id = parse_id(v.id.get_ref(), protocol)
                    .map_err(|e| errors.push(src.error_at(v.id.span(), e)))
                    .ok();
                let format = match &v.format {
                    Some(f) => parse_format(f.get_ref(), v.signed)
                        .map_err(|e| errors.push(src.error_at(f.span(), e)))
                        .ok(),
                    None => {
                        errors.push(src.error_at(
                            spanned.span(),
                            "a DL/T 645 value needs `format` (XXXXXX.XX ...)",
                        ));
                        None
                    }
                };
                if let (Some(id), Some(format)) = (id, format) {
                    values.push(LineValue::Dlt645 {
                        id,
                        quantities: quantities.clone(),
                        format,
                    });
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    Ok(LineProfile {
        name: name.to_string(),
        model: raw.model,
        manufacturer: raw.manufacturer,
        manual: raw.manual.into_inner(),
        description: raw.description,
        protocol,
        timeout_ms: raw.timeout_ms,
        values,
    })
}

include!(concat!(env!("OUT_DIR"), "/builtin_line_profiles.rs"));

/// Line profiles by name: built in from `devices/dlt645/` and `devices/cjt188/`, then any in
/// the configured directories.
pub type LineProfileLibrary = Library<LineProfile>;

impl Library<LineProfile> {
    pub fn builtin() -> LineProfileLibrary {
        let dlt = Library::from_builtin(BUILTIN_DLT645, "devices/dlt645", parse_line_profile);
        let cjt = Library::from_builtin(BUILTIN_CJT188, "devices/cjt188", parse_line_profile);
        dlt.merged(cjt)
    }

    /// Built-ins plus every `*.toml` in `dirs`.
    pub fn load(dirs: &[PathBuf]) -> Result<LineProfileLibrary, ConfigErrors> {
        Self::builtin().with_dirs(dirs, parse_line_profile)
    }

    /// `NAME` of a known profile, or a path to a profile file.
    pub fn resolve(&self, name_or_path: &str) -> Result<Arc<LineProfile>, String> {
        if name_or_path.ends_with(".toml") || name_or_path.contains('/') {
            return load_file(Path::new(name_or_path), parse_line_profile)
                .map(|(_, p)| Arc::new(p))
                .map_err(|e| e.to_string());
        }
        self.get(name_or_path).ok_or_else(|| {
            format!(
                "no DL/T 645 or CJ/T 188 profile named `{name_or_path}`; known: {}",
                self.names().collect::<Vec<_>>().join(", ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_written_as_the_standard_writes_them() {
        assert_eq!(
            parse_format("XXXXXX.XX", false).unwrap(),
            Format {
                bytes: 4,
                decimals: 2,
                signed: false
            }
        );
        assert_eq!(parse_format("XXX.XXX", true).unwrap().bytes, 3);
        assert_eq!(parse_format("X.XXX", true).unwrap().decimals, 3);
        for bad in ["", "XXX", "XX.X.X", "99.99", "XXXXXXXXXXXXXXXXXX"] {
            assert!(parse_format(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_built_in_profile_loads() {
        let lib = LineProfileLibrary::builtin();
        let names: Vec<&str> = lib.names().collect();
        assert_eq!(
            names.len(),
            BUILTIN_DLT645.len() + BUILTIN_CJT188.len(),
            "{names:?}"
        );
        for (name, text) in BUILTIN_DLT645.iter().chain(BUILTIN_CJT188) {
            if let Err(e) = parse_line_profile(name, Path::new(name), text) {
                panic!("{name}: {e}");
            }
        }
        assert!(names.len() >= 6, "{names:?}");
    }

    #[test]
    fn mistakes_are_named_where_they_are_written() {
        let text = "model = \"m\"\nmanufacturer = \"x\"\nmanual = \"DL/T 645-2007\"\nprotocol = \"dlt645-2007\"\n[[values]]\nid = \"0001000\"\nquantity = \"energy_import_kwh\"\nformat = \"XXXXXX.XX\"\n[[values]]\nid = \"02010100\"\nquantity = \"volts\"\nformat = \"XXX.X\"\n";
        let err = parse_line_profile("m", Path::new("m.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("m.toml:6:") && err.contains("8 hex digits"),
            "{err}"
        );
        assert!(
            err.contains("m.toml:11:") && err.contains("unknown quantity `volts`"),
            "{err}"
        );
    }
}
