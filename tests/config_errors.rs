//! Config validation, golden style: each folder in `tests/config/` holds a `jieneng.toml` (and
//! whatever it references) and `expected.err`, the exact messages `jieneng check` must print.
//! The example configs in `deploy/examples/` must load cleanly.

use std::path::{Path, PathBuf};

use jieneng::site::Site;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn each_broken_config_reports_its_errors_with_file_line_and_column() {
    let mut cases = 0;
    for entry in std::fs::read_dir(root().join("tests/config")).unwrap() {
        let dir = entry.unwrap().path();
        let config = dir.join("jieneng.toml");
        let expected = std::fs::read_to_string(dir.join("expected.err"))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let got = match Site::load(&config) {
            Ok(_) => panic!("{} loaded, but expected errors", config.display()),
            Err(e) => e.to_string().replace(&format!("{}/", dir.display()), ""),
        };
        assert_eq!(
            got.trim_end(),
            expected.trim_end(),
            "case {}",
            dir.display()
        );
        cases += 1;
    }
    assert!(cases >= 5);
}

#[test]
fn example_config_loads() {
    let site =
        Site::load(&root().join("deploy/examples/jieneng.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(site.meters.len() >= 5);
    assert!(
        site.meters.iter().any(|m| m.id == "dorm-a-water"),
        "the CSV inventory is read"
    );
}

#[test]
fn jieneng_check_exits_1_and_prints_locations() {
    let exe = Path::new(env!("CARGO_BIN_EXE_jieneng"));
    let out = std::process::Command::new(exe)
        .args(["check", "--config"])
        .arg(root().join("tests/config/unknown-references/jieneng.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown-references/jieneng.toml:23:8: unknown unit `libary`"),
        "{stderr}"
    );
    let ok = std::process::Command::new(exe)
        .args(["check", "--config"])
        .arg(root().join("deploy/examples/jieneng.toml"))
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}
