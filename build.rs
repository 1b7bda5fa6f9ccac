//! Embeds every device profile in `devices/` (Modbus), `devices/dlt645/` and `devices/cjt188/`
//! and payload format in `devices/mqtt/` into the binary, so `probe --profile NAME` and configs work wherever the binary is installed.
use std::{env, fs, path::Path};

/// The table of `dir`'s TOML files. Paths are written relative to the crate
/// (`concat!(env!("CARGO_MANIFEST_DIR"), ...)`), so a checkout that moves, or a second
/// checkout sharing the target directory, never includes another checkout's files.
fn embed(root: &Path, sub: &str, table: &str, doc: &str) -> String {
    let dir = root.join(sub);
    let mut entries: Vec<std::path::PathBuf> = fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.retain(|p| p.extension().is_some_and(|x| x == "toml"));
    entries.sort();
    let mut out =
        format!("/// {doc}: (name, TOML text).\npub static {table}: &[(&str, &str)] = &[\n");
    for p in entries {
        let stem = p.file_stem().unwrap().to_string_lossy();
        let file = p.file_name().unwrap().to_string_lossy();
        let relative = format!("/{sub}/{file}");
        out.push_str(&format!(
            "    ({stem:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), {relative:?}))),\n"
        ));
    }
    out.push_str("];\n");
    out
}

fn main() {
    println!("cargo:rerun-if-changed=devices");
    println!("cargo:rerun-if-changed=devices/mqtt");
    println!("cargo:rerun-if-changed=devices/dlt645");
    println!("cargo:rerun-if-changed=devices/cjt188");
    let root = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).to_path_buf();
    let out = Path::new(&env::var("OUT_DIR").unwrap()).to_path_buf();
    fs::write(
        out.join("builtin_profiles.rs"),
        embed(
            &root,
            "devices",
            "BUILTIN_PROFILES",
            "Profiles compiled in from `devices/`",
        ),
    )
    .unwrap();
    fs::write(
        out.join("builtin_payloads.rs"),
        embed(
            &root,
            "devices/mqtt",
            "BUILTIN_PAYLOADS",
            "MQTT payload formats compiled in from `devices/mqtt/`",
        ),
    )
    .unwrap();
    let line = embed(
        &root,
        "devices/dlt645",
        "BUILTIN_DLT645",
        "DL/T 645 profiles compiled in from `devices/dlt645/`",
    ) + &embed(
        &root,
        "devices/cjt188",
        "BUILTIN_CJT188",
        "CJ/T 188 profiles compiled in from `devices/cjt188/`",
    );
    fs::write(out.join("builtin_line_profiles.rs"), line).unwrap();
}
