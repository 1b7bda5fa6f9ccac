//! Embeds every device profile in `devices/` and payload format in `devices/mqtt/` into the
//! binary, so `probe --profile NAME` and configs work wherever the binary is installed.
use std::{env, fs, path::Path};

fn embed(dir: &Path, table: &str, doc: &str) -> String {
    let mut entries: Vec<std::path::PathBuf> = fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.retain(|p| p.extension().is_some_and(|x| x == "toml"));
    entries.sort();
    let mut out =
        format!("/// {doc}: (name, TOML text).\npub static {table}: &[(&str, &str)] = &[\n");
    for p in entries {
        let stem = p.file_stem().unwrap().to_string_lossy();
        out.push_str(&format!(
            "    ({stem:?}, include_str!({:?})),\n",
            p.display().to_string()
        ));
    }
    out.push_str("];\n");
    out
}

fn main() {
    println!("cargo:rerun-if-changed=devices");
    println!("cargo:rerun-if-changed=devices/mqtt");
    let root = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("devices");
    let out = Path::new(&env::var("OUT_DIR").unwrap()).to_path_buf();
    fs::write(
        out.join("builtin_profiles.rs"),
        embed(
            &root,
            "BUILTIN_PROFILES",
            "Profiles compiled in from `devices/`",
        ),
    )
    .unwrap();
    fs::write(
        out.join("builtin_payloads.rs"),
        embed(
            &root.join("mqtt"),
            "BUILTIN_PAYLOADS",
            "MQTT payload formats compiled in from `devices/mqtt/`",
        ),
    )
    .unwrap();
}
