//! Golden tests for device profiles: `tests/devices/<profile>.toml` holds raw register contents
//! and the values they must decode to. Every register of every built-in profile is covered.

use std::collections::BTreeMap;
use std::path::Path;

use jieneng::collect::modbus::decode::{decode, encode};
use jieneng::config::ProfileLibrary;
use jieneng::config::profile::Function;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Golden {
    profile: String,
    #[allow(dead_code)]
    note: Option<String>,
    blocks: Vec<Block>,
    expected: BTreeMap<String, f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Block {
    function: u8,
    address: u16,
    words: Vec<u16>,
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-6 * a.abs().max(b.abs())
}

#[test]
fn every_builtin_profile_decodes_its_golden_registers() {
    let lib = ProfileLibrary::builtin();
    let mut checked = 0;
    let names: Vec<String> = lib.names().map(str::to_string).collect();
    assert!(names.len() >= 4, "expected at least four built-in profiles");
    for name in names {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/devices")
            .join(format!("{name}.toml"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (every profile needs a golden file)",
                path.display()
            )
        });
        let golden: Golden =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(golden.profile, name, "{}", path.display());
        let profile = lib.get(&name).unwrap();
        let mut memory: BTreeMap<(Function, u32), u16> = BTreeMap::new();
        for b in &golden.blocks {
            let f = Function::from_code(b.function)
                .unwrap_or_else(|| panic!("{}: bad function {}", path.display(), b.function));
            for (i, w) in b.words.iter().enumerate() {
                memory.insert((f, b.address as u32 + i as u32), *w);
            }
        }
        for spec in &profile.registers {
            let q = spec.quantity.name();
            let words: Vec<u16> = (spec.address as u32..spec.end())
                .map(|a| {
                    *memory
                        .get(&(spec.function, a))
                        .unwrap_or_else(|| panic!("{name}: golden file lacks register {a} for {q}"))
                })
                .collect();
            let expected = *golden
                .expected
                .get(q)
                .unwrap_or_else(|| panic!("{name}: golden file lacks an expected value for {q}"));
            let got = decode(&words, spec).unwrap_or_else(|e| panic!("{name}: {q}: {e}"));
            assert!(
                close(got, expected),
                "{name}: {q} decoded {got}, expected {expected}"
            );
            // And the simulator's encoding of that value reads back the same.
            let again = decode(&encode(got, spec), spec).unwrap();
            assert!(
                close(again, got),
                "{name}: {q} re-encodes to {again}, not {got}"
            );
            checked += 1;
        }
        assert_eq!(
            golden.expected.len(),
            profile.registers.len(),
            "{name}: expected values for quantities the profile does not map"
        );
    }
    assert!(checked > 40);
}
