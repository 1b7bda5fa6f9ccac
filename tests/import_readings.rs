//! `jieneng import readings`: every bad row reported by line, nothing of a bad file imported;
//! a good file lands and its consumption is counted with quality `manual`.

use std::process::Command;

fn site(dir: &std::path::Path) -> std::path::PathBuf {
    let config = format!(
        "[site]\nname = \"t\"\ndata_dir = \"{}\"\n[[units]]\nid = \"o\"\nname = \"o\"\nkind = \"organisation\"\n\
         [[meters]]\nid = \"gas-1\"\nname = \"燃气表\"\nunit = \"o\"\ncategory = \"03A00\"\nread_by_hand = \"gas_m3\"\n",
        dir.join("data").display()
    );
    let path = dir.join("jieneng.toml");
    std::fs::write(&path, config).unwrap();
    path
}

fn jieneng(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_jieneng"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_rows_are_reported_and_nothing_is_half_imported() {
    let dir = tempfile::tempdir().unwrap();
    let config = site(dir.path());
    let csv = dir.path().join("bad.csv");
    std::fs::write(
        &csv,
        "meter,time,quantity,value,note\n\
         gas-1,2026-10-01T09:00:00+08:00,gas_m3,1000.5,\n\
         gas-2,2026-10-02T09:00:00+08:00,gas_m3,1001,\n\
         gas-1,yesterday,gas_m3,1002,\n\
         gas-1,2026-10-03T09:00:00+08:00,gas,1003,\n\
         gas-1,2026-10-04T09:00:00+08:00,gas_m3,-4,\n\
         gas-1,2026-10-05T09:00:00+08:00,gas_m3,lots,\n",
    )
    .unwrap();
    let (code, _, stderr) = jieneng(&[
        "import",
        "readings",
        "--config",
        config.to_str().unwrap(),
        csv.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    let file = csv.display().to_string();
    let expected = [
        format!("{file}:3: unknown meter `gas-2`"),
        format!("{file}:4: time `yesterday` is not RFC 3339 (e.g. 2026-11-01T09:00:00+08:00)"),
        format!("{file}:5: unknown quantity `gas`"),
        format!("{file}:6: gas-1: gas_m3 is a register total and cannot be negative (-4)"),
        format!("{file}:7: value `lots` is not a number"),
        format!("{file}: 5 error(s); nothing was imported"),
    ];
    assert_eq!(stderr.lines().collect::<Vec<_>>(), expected);
    let (_, stdout, _) = jieneng(&[
        "consumption",
        "--config",
        config.to_str().unwrap(),
        "--meter",
        "gas-1",
        "--from",
        "2026-10",
        "--to",
        "2026-11",
        "--step",
        "1mo",
    ]);
    assert!(stdout.contains("\"missing\""), "nothing imported: {stdout}");
}

#[test]
fn good_readings_are_imported_and_counted_as_manual() {
    let dir = tempfile::tempdir().unwrap();
    let config = site(dir.path());
    let csv = dir.path().join("good.csv");
    std::fs::write(
        &csv,
        "meter,time,quantity,value,note\n\
         gas-1,2026-09-01T00:00:00+08:00,gas_m3,1000,read by 王师傅\n\
         gas-1,2026-10-01T00:00:00+08:00,gas_m3,1250.5,\n\
         gas-1,2026-11-01T00:00:00+08:00,gas_m3,1600,\n",
    )
    .unwrap();
    let (code, stdout, stderr) = jieneng(&[
        "import",
        "readings",
        "--config",
        config.to_str().unwrap(),
        csv.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("imported 3 readings"));
    let (code, stdout, _) = jieneng(&[
        "consumption",
        "--config",
        config.to_str().unwrap(),
        "--meter",
        "gas-1",
        "--from",
        "2026-09",
        "--to",
        "2026-11",
        "--step",
        "1mo",
        "--format",
        "csv",
    ]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "start,end,consumption,quality");
    assert_eq!(
        lines[1],
        "2026-08-31T16:00:00+00:00,2026-09-30T16:00:00+00:00,250.5,manual"
    );
    assert_eq!(
        lines[2],
        "2026-09-30T16:00:00+00:00,2026-10-31T16:00:00+00:00,349.5,manual"
    );
}
