//! Device profiles: one TOML file per meter model (`devices/*.toml`), the register map as data.
//! A profile is validated when it is loaded, so the collectors only ever see a consistent map.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigErrors, Source};
pub(crate) use super::library::io_error;
use super::library::{Library, load_file};
use crate::quantity::Quantity;

/// Modbus function code of a register read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Function {
    /// FC 03, read holding registers.
    Holding,
    /// FC 04, read input registers.
    Input,
}

impl Function {
    pub fn from_code(code: u8) -> Option<Function> {
        match code {
            3 => Some(Function::Holding),
            4 => Some(Function::Input),
            _ => None,
        }
    }
    pub fn code(self) -> u8 {
        match self {
            Function::Holding => 3,
            Function::Input => 4,
        }
    }
}

/// Raw register value types, named as engineers know them from Telegraf and meter manuals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    U16,
    I16,
    U32,
    I32,
    U64,
    F32,
    F64,
    Bcd,
}

impl ValueType {
    /// Register count of the type (BCD's count is per register, see [`RegisterSpec::words`]).
    pub fn words(self) -> Option<u16> {
        match self {
            ValueType::U16 | ValueType::I16 => Some(1),
            ValueType::U32 | ValueType::I32 | ValueType::F32 => Some(2),
            ValueType::U64 | ValueType::F64 => Some(4),
            ValueType::Bcd => None,
        }
    }
}

/// Order of bytes in a multi-register value. Letters name the bytes of the big-endian value:
/// ABCD = big-endian (Modbus default), CDAB = word-swapped, BADC = byte-swapped words,
/// DCBA = little-endian. For 64-bit values the same rule applies to all four registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ByteOrder {
    ABCD,
    CDAB,
    BADC,
    DCBA,
}

/// One register of a profile, compiled for decoding.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterSpec {
    pub quantity: Quantity,
    pub function: Function,
    /// 0-based PDU address, as sent on the wire.
    pub address: u16,
    pub value_type: ValueType,
    pub words: u16,
    pub byte_order: ByteOrder,
    /// value = (raw × scale + offset) × unit_factor, as written in the profile.
    pub scale: f64,
    pub offset: f64,
    /// Factor from the profile's unit to the quantity's canonical unit.
    pub unit_factor: f64,
    /// scale × unit_factor as a divisor when that is 1/integer (0.01 → 100): dividing keeps
    /// decimal register values exact in f64 (1234567 / 100 is 12345.67; × 0.01 is not).
    pub divisor: Option<f64>,
    /// Modulus at which a cumulative register wraps to 0, in canonical units.
    pub rollover: Option<f64>,
    /// Integer values with every bit set (unsigned) or the largest value (signed) mean "not
    /// available" on this meter.
    pub max_is_unavailable: bool,
}

impl RegisterSpec {
    pub fn end(&self) -> u32 {
        self.address as u32 + self.words as u32
    }
}

/// A validated device profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The file stem: the name configs refer to (`eastron-sdm630`).
    pub name: String,
    pub model: String,
    pub manufacturer: String,
    pub manual: String,
    pub description: Option<String>,
    pub timeout_ms: u64,
    pub max_block: u16,
    /// Unmapped registers a coalesced read may span (Telegraf's `optimization_max_register_fill`).
    pub max_fill: u16,
    pub registers: Vec<RegisterSpec>,
}

impl Profile {
    pub fn register(&self, quantity: Quantity) -> Option<&RegisterSpec> {
        self.registers.iter().find(|r| r.quantity == quantity)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    model: String,
    manufacturer: String,
    manual: Spanned<String>,
    description: Option<String>,
    #[serde(default)]
    modbus: ModbusDefaults,
    registers: Vec<Spanned<RegisterFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModbusDefaults {
    #[serde(default = "default_function")]
    function: Spanned<u8>,
    #[serde(default = "default_byte_order")]
    byte_order: ByteOrder,
    #[serde(default = "default_timeout_ms")]
    timeout_ms: u64,
    #[serde(default = "default_max_block")]
    max_block: Spanned<u16>,
    #[serde(default = "default_max_fill")]
    max_fill: u16,
    #[serde(default)]
    max_is_unavailable: bool,
}

impl Default for ModbusDefaults {
    fn default() -> Self {
        ModbusDefaults {
            function: default_function(),
            byte_order: default_byte_order(),
            timeout_ms: default_timeout_ms(),
            max_block: default_max_block(),
            max_fill: default_max_fill(),
            max_is_unavailable: false,
        }
    }
}

fn default_function() -> Spanned<u8> {
    Spanned::new(0..0, 3)
}
fn default_byte_order() -> ByteOrder {
    ByteOrder::ABCD
}
fn default_timeout_ms() -> u64 {
    1000
}
fn default_max_block() -> Spanned<u16> {
    Spanned::new(0..0, 125)
}
fn default_max_fill() -> u16 {
    16
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterFile {
    quantity: Spanned<String>,
    address: u16,
    #[serde(rename = "type")]
    value_type: ValueType,
    function: Option<Spanned<u8>>,
    byte_order: Option<ByteOrder>,
    scale: Option<f64>,
    offset: Option<f64>,
    unit: Option<Spanned<String>>,
    words: Option<Spanned<u16>>,
    rollover: Option<Spanned<f64>>,
}

/// Parses and validates one profile text; `name` is the file stem.
pub fn parse_profile(name: &str, file: &Path, text: &str) -> Result<Profile, ConfigErrors> {
    let src = Source { file, text };
    let raw: ProfileFile = src.parse()?;
    let mut errors = Vec::new();
    if raw.manual.get_ref().trim().is_empty() {
        errors.push(src.error_at(
            raw.manual.span(),
            "`manual` must name the manufacturer document the register map was taken from",
        ));
    }
    let default_function = match Function::from_code(*raw.modbus.function.get_ref()) {
        Some(f) => f,
        None => {
            errors.push(src.error_at(
                raw.modbus.function.span(),
                "function must be 3 (holding registers) or 4 (input registers)",
            ));
            Function::Holding
        }
    };
    let max_block = *raw.modbus.max_block.get_ref();
    if !(1..=125).contains(&max_block) {
        errors.push(src.error_at(
            raw.modbus.max_block.span(),
            "max_block must be between 1 and 125 registers",
        ));
    }
    if raw.registers.is_empty() {
        errors.push(src.error_at(0..0, "profile has no [[registers]]"));
    }

    let mut registers: Vec<(RegisterSpec, std::ops::Range<usize>)> = Vec::new();
    for spanned in &raw.registers {
        let span = spanned.span();
        let r = spanned.get_ref();
        let Some(quantity) = Quantity::parse(r.quantity.get_ref()) else {
            errors.push(src.error_at(
                r.quantity.span(),
                format!(
                    "unknown quantity `{}` (see the canonical names in docs/devices.md)",
                    r.quantity.get_ref()
                ),
            ));
            continue;
        };
        let function = match &r.function {
            None => default_function,
            Some(f) => match Function::from_code(*f.get_ref()) {
                Some(func) => func,
                None => {
                    errors.push(src.error_at(
                        f.span(),
                        "function must be 3 (holding registers) or 4 (input registers)",
                    ));
                    continue;
                }
            },
        };
        let words = match (r.value_type.words(), &r.words) {
            (Some(n), None) => n,
            (Some(n), Some(w)) if *w.get_ref() == n => n,
            (Some(n), Some(w)) => {
                errors.push(
                    src.error_at(
                        w.span(),
                        format!(
                            "type {:?} is {n} register(s) long, not {}",
                            r.value_type,
                            w.get_ref()
                        )
                        .to_lowercase(),
                    ),
                );
                continue;
            }
            (None, None) => 2,
            (None, Some(w)) if matches!(*w.get_ref(), 1 | 2 | 4) => *w.get_ref(),
            (None, Some(w)) => {
                errors.push(src.error_at(w.span(), "bcd values are 1, 2 or 4 registers long"));
                continue;
            }
        };
        if r.address as u32 + words as u32 > 65536 {
            errors.push(src.error_at(span.clone(), "register runs past address 65535"));
            continue;
        }
        let unit_factor = match &r.unit {
            None => 1.0,
            Some(u) => match quantity.conversion_from(u.get_ref()) {
                Some(f) => f,
                None => {
                    errors.push(src.error_at(
                        u.span(),
                        format!(
                            "unit `{}` cannot be converted to {} for {}",
                            u.get_ref(),
                            if quantity.unit().is_empty() {
                                "a plain number"
                            } else {
                                quantity.unit()
                            },
                            quantity
                        ),
                    ));
                    continue;
                }
            },
        };
        let scale = r.scale.unwrap_or(1.0);
        if !scale.is_finite() || scale == 0.0 {
            errors.push(src.error_at(span.clone(), "scale must be a non-zero number"));
            continue;
        }
        let rollover = match &r.rollover {
            None => None,
            Some(m) if !quantity.is_cumulative() => {
                errors.push(src.error_at(
                    m.span(),
                    format!("rollover only applies to cumulative quantities; {quantity} is instantaneous"),
                ));
                continue;
            }
            Some(m) if !(*m.get_ref() > 0.0 && m.get_ref().is_finite()) => {
                errors.push(src.error_at(m.span(), "rollover must be a positive number"));
                continue;
            }
            Some(m) => Some(*m.get_ref() * unit_factor),
        };
        registers.push((
            RegisterSpec {
                quantity,
                function,
                address: r.address,
                value_type: r.value_type,
                words,
                byte_order: r.byte_order.unwrap_or(raw.modbus.byte_order),
                scale,
                offset: r.offset.unwrap_or(0.0),
                unit_factor,
                divisor: exact_divisor(scale * unit_factor),
                rollover,
                max_is_unavailable: raw.modbus.max_is_unavailable,
            },
            span,
        ));
    }

    // Each quantity once; no two registers share a word.
    let mut seen: BTreeMap<Quantity, usize> = BTreeMap::new();
    for (i, (reg, span)) in registers.iter().enumerate() {
        if let Some(&first) = seen.get(&reg.quantity) {
            let (line, _) = super::error::line_col(text, registers[first].1.start);
            errors.push(src.error_at(
                span.clone(),
                format!(
                    "{} is already mapped by the register at line {line}",
                    reg.quantity
                ),
            ));
        } else {
            seen.insert(reg.quantity, i);
        }
        for (other, other_span) in &registers[..i] {
            if other.function == reg.function
                && (reg.address as u32) < other.end()
                && (other.address as u32) < reg.end()
            {
                let (line, _) = super::error::line_col(text, other_span.start);
                errors.push(src.error_at(
                    span.clone(),
                    format!(
                        "registers {}..{} overlap {} at line {line} (addresses {}..{})",
                        reg.address,
                        reg.end() - 1,
                        other.quantity,
                        other.address,
                        other.end() - 1
                    ),
                ));
            }
        }
        if reg.words > max_block {
            errors.push(src.error_at(
                span.clone(),
                format!("{} is longer than max_block ({max_block})", reg.quantity),
            ));
        }
    }

    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    Ok(Profile {
        name: name.to_string(),
        model: raw.model,
        manufacturer: raw.manufacturer,
        manual: raw.manual.into_inner(),
        description: raw.description,
        timeout_ms: raw.modbus.timeout_ms,
        max_block,
        max_fill: raw.modbus.max_fill,
        registers: registers.into_iter().map(|(r, _)| r).collect(),
    })
}

fn exact_divisor(factor: f64) -> Option<f64> {
    let inv = 1.0 / factor;
    let rounded = inv.round();
    (factor < 1.0 && rounded >= 2.0 && (inv - rounded).abs() < 1e-9 * inv).then_some(rounded)
}

include!(concat!(env!("OUT_DIR"), "/builtin_profiles.rs"));

/// Profiles by name: the ones built into the binary (from `devices/`), then those found in the
/// configured directories, which may add models or override a built-in one.
pub type ProfileLibrary = Library<Profile>;

impl Library<Profile> {
    pub fn builtin() -> ProfileLibrary {
        Library::from_builtin(BUILTIN_PROFILES, "devices", parse_profile)
    }

    /// Built-ins plus every `*.toml` in `dirs`.
    pub fn load(dirs: &[PathBuf]) -> Result<ProfileLibrary, ConfigErrors> {
        Self::builtin().with_dirs(dirs, parse_profile)
    }

    /// "; did you mean ..." for a mistyped profile name, or the list when nothing is close.
    pub fn suggest(&self, name: &str) -> String {
        let mut close: Vec<(f64, &str)> = self
            .names()
            .map(|n| (strsim::jaro_winkler(name, n), n))
            .filter(|(score, n)| *score > 0.8 || n.contains(&name.to_lowercase()))
            .collect();
        close.sort_by(|a, b| b.0.total_cmp(&a.0));
        if close.is_empty() {
            format!(
                "; known profiles: {}",
                self.names().collect::<Vec<_>>().join(", ")
            )
        } else {
            let names: Vec<String> = close
                .iter()
                .take(3)
                .map(|(_, n)| format!("`{n}`"))
                .collect();
            format!("; did you mean {}?", names.join(" or "))
        }
    }

    /// `NAME` of a known profile, or a path to a profile file.
    pub fn resolve(&self, name_or_path: &str) -> Result<Arc<Profile>, String> {
        if name_or_path.ends_with(".toml") || name_or_path.contains('/') {
            return load_file(Path::new(name_or_path), parse_profile)
                .map(|(_, p)| Arc::new(p))
                .map_err(|e| e.to_string());
        }
        self.get(name_or_path).ok_or_else(|| {
            format!(
                "no profile named `{name_or_path}`{}",
                self.suggest(name_or_path)
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(text: &str) -> Vec<String> {
        match parse_profile("t", Path::new("t.toml"), text) {
            Ok(_) => vec![],
            Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
        }
    }

    const HEAD: &str = "model = \"M\"\nmanufacturer = \"X\"\nmanual = \"X manual v1\"\n";

    #[test]
    fn every_builtin_profile_is_valid() {
        assert!(!BUILTIN_PROFILES.is_empty());
        for (name, text) in BUILTIN_PROFILES {
            let path = PathBuf::from(format!("devices/{name}.toml"));
            if let Err(e) = parse_profile(name, &path, text) {
                panic!("{e}");
            }
        }
    }

    #[test]
    fn rejects_unknown_quantity_with_its_position() {
        let text =
            format!("{HEAD}[[registers]]\nquantity = \"volts\"\naddress = 0\ntype = \"f32\"\n");
        assert_eq!(
            errors_of(&text),
            vec![
                "t.toml:5:12: unknown quantity `volts` (see the canonical names in docs/devices.md)"
            ]
        );
    }

    #[test]
    fn rejects_overlapping_registers() {
        let text = format!(
            "{HEAD}[modbus]\nfunction = 4\n\
             [[registers]]\nquantity = \"voltage_l1_v\"\naddress = 0\ntype = \"f32\"\n\
             [[registers]]\nquantity = \"voltage_l2_v\"\naddress = 1\ntype = \"f32\"\n"
        );
        assert_eq!(
            errors_of(&text),
            vec!["t.toml:10:1: registers 1..2 overlap voltage_l1_v at line 6 (addresses 0..1)"]
        );
    }

    #[test]
    fn registers_with_other_function_codes_may_share_addresses() {
        let text = format!(
            "{HEAD}[[registers]]\nquantity = \"voltage_l1_v\"\naddress = 0\ntype = \"f32\"\nfunction = 4\n\
             [[registers]]\nquantity = \"voltage_l2_v\"\naddress = 0\ntype = \"f32\"\nfunction = 3\n"
        );
        assert_eq!(errors_of(&text), Vec::<String>::new());
    }

    #[test]
    fn rejects_type_length_mismatch_unknown_type_and_bad_unit() {
        let text = format!(
            "{HEAD}[[registers]]\nquantity = \"power_kw\"\naddress = 0\ntype = \"f32\"\nwords = 1\nunit = \"V\"\n"
        );
        assert_eq!(
            errors_of(&text),
            vec!["t.toml:8:9: type f32 is 2 register(s) long, not 1"]
        );
        let text = format!(
            "{HEAD}[[registers]]\nquantity = \"power_kw\"\naddress = 0\ntype = \"float\"\n"
        );
        let errs = errors_of(&text);
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].starts_with("t.toml:7:8: unknown variant `float`"),
            "{errs:?}"
        );
        let text = format!(
            "{HEAD}[[registers]]\nquantity = \"power_kw\"\naddress = 0\ntype = \"f32\"\nunit = \"V\"\n"
        );
        assert_eq!(
            errors_of(&text),
            vec!["t.toml:8:8: unit `V` cannot be converted to kW for power_kw"]
        );
    }

    #[test]
    fn rejects_duplicate_quantity_unknown_key_and_rollover_on_instantaneous() {
        let text = format!(
            "{HEAD}[[registers]]\nquantity = \"power_kw\"\naddress = 0\ntype = \"f32\"\n\
             [[registers]]\nquantity = \"power_kw\"\naddress = 2\ntype = \"f32\"\nrollover = 10.0\n"
        );
        assert_eq!(
            errors_of(&text),
            vec![
                "t.toml:12:12: rollover only applies to cumulative quantities; power_kw is instantaneous"
            ]
        );
        let text = format!(
            "{HEAD}[[registers]]\nquantity = \"power_kw\"\naddress = 0\ntype = \"f32\"\n\
             [[registers]]\nquantity = \"power_kw\"\naddress = 2\ntype = \"f32\"\n"
        );
        assert_eq!(
            errors_of(&text),
            vec!["t.toml:8:1: power_kw is already mapped by the register at line 4"]
        );
        let text = format!("{HEAD}adress = 3\n");
        let errs = errors_of(&text);
        assert!(
            errs[0].starts_with("t.toml:4:1: unknown field `adress`"),
            "{errs:?}"
        );
    }
}
