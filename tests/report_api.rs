//! The committee's monthly report as the committee gets it: the same figures as the ledger's
//! indicators and the ratings, as JSON, a printable Chinese PDF (its text read back with
//! pdftotext when installed), Excel and HTML; the CLI writes the same files.

mod common;

use std::process::Command;

use axum::http::StatusCode;
use common::{call, get, post};
use jieneng::auth::Role;
use serde_json::json;
use tower::ServiceExt;

const CONFIG: &str = r#"
[site]
name = "测试学院"
timezone = "Asia/Shanghai"
data_dir = "DATA"

[[units]]
id = "org"
name = "测试学院"
kind = "organisation"
floor_area_m2 = 2000
occupants = 100

[[units]]
id = "b1"
name = "一号楼"
kind = "building"
parent = "org"
floor_area_m2 = 1500
occupants = 80

[[meters]]
id = "b1-e"
name = "一号楼电表"
unit = "b1"
category = "01000"
read_by_hand = "energy_import_kwh"

[[quotas]]
unit = "b1"
category = "01000"
annual = 36500
allocation = "days"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monthly_report_agrees_with_the_ledger_in_every_format() {
    let common::Started { dir, config, rt } = common::start(CONFIG);
    let state = rt.app_state();
    let engineer = common::as_role(&state, Role::Engineer);
    let committee = common::as_role(&state, Role::Committee);
    // 1,000 kWh in October 2025, 1,100 in October 2026.
    let r = |t: &str, v: f64| json!({"meter": "b1-e", "time": t, "quantity": "energy_import_kwh", "value": v});
    let readings = json!([
        r("2025-10-01T00:00:00+08:00", 0.0),
        r("2025-11-01T00:00:00+08:00", 1000.0),
        r("2026-10-01T00:00:00+08:00", 5000.0),
        r("2026-11-01T00:00:00+08:00", 6100.0),
    ]);
    assert_eq!(
        call(&engineer, post("/api/v1/readings", readings)).await.0,
        StatusCode::CREATED
    );

    let (status, report) = call(&committee, get("/api/v1/reports/monthly/2026-10")).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["month"], "2026-10");
    let org = &report["units"][0];
    assert_eq!(org["unit"], "org");
    // 1,100 kWh × 0.1229 = 135.19 kgce; last year 122.9; change +10.00%.
    assert_eq!(org["kgce"], "135.19", "{org}");
    assert_eq!(org["last_year_kgce"], "122.9");
    assert_eq!(org["change_percent"], "10");
    assert_eq!(report["units"][1]["name"], "一号楼");
    let (_, ratings) = call(&committee, get("/api/v1/ratings/2026-10")).await;
    assert_eq!(report["ratings"], ratings);
    assert_eq!(report["quotas"][0]["used"], "1100");

    // Files.
    let fetch = |uri: &'static str| {
        let app = committee.clone();
        async move {
            let res = app.oneshot(get(uri)).await.unwrap();
            let status = res.status();
            (
                status,
                axum::body::to_bytes(res.into_body(), 1 << 24)
                    .await
                    .unwrap()
                    .to_vec(),
            )
        }
    };
    let (status, html) = fetch("/api/v1/reports/monthly/2026-10.html").await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(html).unwrap();
    assert!(
        html.contains("节能工作月报") && html.contains("一号楼") && html.contains("135.19"),
        "{html}"
    );
    // When it was made, in the site's time zone.
    assert!(html.contains("(UTC+08:00)"), "{html}");
    let (_, english) = fetch("/api/v1/reports/monthly/2026-10.html?lang=en").await;
    assert!(
        String::from_utf8(english)
            .unwrap()
            .contains("Monthly energy-saving report")
    );
    let (status, xlsx) = fetch("/api/v1/reports/monthly/2026-10.xlsx").await;
    assert_eq!(status, StatusCode::OK);
    assert!(xlsx.starts_with(b"PK"));
    let (status, pdf) = fetch("/api/v1/reports/monthly/2026-10.pdf").await;
    assert_eq!(status, StatusCode::OK);
    assert!(pdf.starts_with(b"%PDF"));
    let (status, _) = fetch("/api/v1/reports/monthly/2026-10.doc").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = fetch("/api/v1/reports/monthly/2026-13").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // The CLI writes the PDF too; its text is Chinese and carries the figures.
    let out_pdf = dir.path().join("report.pdf");
    let out = Command::new(env!("CARGO_BIN_EXE_jieneng"))
        .args([
            "report", "monthly", "--month", "2026-10", "--format", "pdf", "--config",
        ])
        .arg(&config)
        .arg("--out")
        .arg(&out_pdf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    match Command::new("pdftotext").arg(&out_pdf).arg("-").output() {
        Ok(text) if text.status.success() => {
            let text = String::from_utf8_lossy(&text.stdout).replace([' ', '\n'], "");
            for expected in [
                "节能工作月报",
                "测试学院",
                "一号楼",
                "135",
                "考核评价",
                "定额执行",
            ] {
                assert!(
                    text.contains(expected),
                    "`{expected}` not in the PDF text: {text}"
                );
            }
        }
        _ => eprintln!("pdftotext is not installed: the PDF's text was not checked"),
    }
}
