//! Embeds every profile in `devices/` into the binary, so `probe --profile NAME` and configs
//! work wherever the binary is installed.
use std::{env, fs, path::Path};

fn main() {
    println!("cargo:rerun-if-changed=devices");
    let dir = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("devices");
    let mut entries: Vec<_> = fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|x| x == "toml"));
    entries.sort();
    let mut out = String::from(
        "/// Profiles compiled in from `devices/`: (name, TOML text).\npub static BUILTIN_PROFILES: &[(&str, &str)] = &[\n",
    );
    for p in entries {
        let stem = p.file_stem().unwrap().to_string_lossy();
        out.push_str(&format!(
            "    ({stem:?}, include_str!({:?})),\n",
            p.display().to_string()
        ));
    }
    out.push_str("];\n");
    fs::write(
        Path::new(&env::var("OUT_DIR").unwrap()).join("builtin_profiles.rs"),
        out,
    )
    .unwrap();
}
