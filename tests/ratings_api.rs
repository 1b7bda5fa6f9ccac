//! A month's ratings computed by hand: a building with a quota, a canteen without one (and
//! without floor area or occupants), committee points entered through the API, and the same
//! ratings from `jieneng rate`.

mod common;

use axum::http::StatusCode;
use common::{call, get, post};

const CONFIG: &str = r#"
[site]
name = "测试学院"
data_dir = "DATA"

[[units]]
id = "org"
name = "学院"
kind = "organisation"
floor_area_m2 = 1000
occupants = 100

[[units]]
id = "b1"
name = "一号楼"
kind = "building"
parent = "org"
floor_area_m2 = 500
occupants = 10

[[units]]
id = "c1"
name = "食堂"
kind = "canteen"
parent = "org"

[[meters]]
id = "b1-e"
name = "一号楼电表"
unit = "b1"
category = "01000"
read_by_hand = "energy_import_kwh"

[[meters]]
id = "c1-e"
name = "食堂电表"
unit = "c1"
category = "01000"
read_by_hand = "energy_import_kwh"

[[quotas]]
unit = "b1"
category = "01000"
annual = 36500
allocation = "days"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ratings_show_each_item_and_match_the_hand_computed_scores() {
    let common::Started {
        dir: _dir,
        config,
        rt,
    } = common::start(CONFIG);
    let app = common::as_role(&rt.app_state(), jieneng::auth::Role::Admin);
    let r = |m: &str, t: &str, v: f64| serde_json::json!({"meter": m, "time": t, "quantity": "energy_import_kwh", "value": v});
    // Read on the 1st of each month: b1 4,000 kWh in October 2025, 6,000 over the eleven
    // months after, 3,100 in October 2026; c1 1,000, then 1,000, then 1,100.
    let mut list = vec![
        r("b1-e", "2025-10-01T00:00:00+08:00", 0.0),
        r("c1-e", "2025-10-01T00:00:00+08:00", 0.0),
        r("b1-e", "2026-11-01T00:00:00+08:00", 13100.0),
        r("c1-e", "2026-11-01T00:00:00+08:00", 3100.0),
    ];
    for k in 0..=11 {
        let (y, m) = if k < 2 { (2025, 11 + k) } else { (2026, k - 1) };
        let t = format!("{y}-{m:02}-01T00:00:00+08:00");
        list.push(r("b1-e", &t, 4000.0 + 6000.0 * f64::from(k) / 11.0));
        list.push(r("c1-e", &t, 1000.0 + 1000.0 * f64::from(k) / 11.0));
    }
    let readings = serde_json::Value::Array(list);
    assert_eq!(
        call(&app, post("/api/v1/readings", readings)).await.0,
        StatusCode::CREATED
    );
    let (status, _) = call(
        &app,
        post(
            "/api/v1/ratings/2026-10/committee",
            serde_json::json!({"unit": "c1", "points": 90, "note": "后厨节能措施到位"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = call(
        &app,
        post(
            "/api/v1/ratings/2026-10/committee",
            serde_json::json!({"unit": "c1", "points": 120, "note": "x"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (status, ratings) = call(&app, get("/api/v1/ratings/2026-10")).await;
    assert_eq!(status, StatusCode::OK, "{ratings}");
    let list = ratings.as_array().unwrap();
    assert_eq!(list.len(), 2);
    // b1: quota 3,100/3,100 → 80; reduction 22.5% − 2% → 100; 9,100 kWh × 0.1229 over the
    // last 12 months = 2.2368 kgce/m² (0.469 of the peer) → 100 and 111.84 kgce/person
    // (1.088) → 71.43; completeness 100; no alerts → 100; no committee points (left out).
    // Weights 30, 20, 15, 15, 10, 5 of 95: 25.26 + 21.05 + 15.79 + 11.28 + 10.53 + 5.26.
    let b1 = &list[0];
    assert_eq!(b1["unit"], "b1");
    assert_eq!(b1["rank"], 1);
    assert_eq!(b1["score"], "89.17", "{b1}");
    assert_eq!(b1["grade"], "良好");
    let item = |r: &serde_json::Value, key: &str| {
        r["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["key"] == key)
            .unwrap()
            .clone()
    };
    assert_eq!(item(b1, "quota")["input"], "1");
    assert_eq!(item(b1, "quota")["score"], "80");
    assert_eq!(item(b1, "intensity_person")["score"], "71.43");
    assert_eq!(item(b1, "committee")["score"], serde_json::Value::Null);
    // c1: no quota, no area, no occupants: left out. Use up 10% on last year → −12 points
    // against the target → 0; completeness and alarms 100; committee 90. Weights 20, 10, 5,
    // 5 of 40: 0 + 25 + 12.5 + 11.25.
    let c1 = &list[1];
    assert_eq!(c1["score"], "48.75", "{c1}");
    assert_eq!(c1["grade"], "不合格");
    assert!(
        item(c1, "quota")["explanation"]
            .as_str()
            .unwrap()
            .contains("未设定额")
    );
    assert_eq!(item(c1, "committee")["input"], "90");
    // Every reason comes in English too, for the English pages and report.
    let b1_quota = item(b1, "quota");
    assert!(
        b1_quota["explanation"].as_str().unwrap().contains("定额"),
        "{b1_quota}"
    );
    assert!(
        b1_quota["explanation_en"]
            .as_str()
            .unwrap()
            .contains("quota"),
        "{b1_quota}"
    );
    assert!(
        item(c1, "year_on_year")["explanation_en"]
            .as_str()
            .unwrap()
            .contains("saving"),
        "{c1}"
    );
    // The office-building check needs the building's class, and says its values are unconfirmed.
    let (status, check) = call(&app, get("/api/v1/units/b1/intensity-check?year=2026")).await;
    assert_eq!(status, StatusCode::OK, "{check}");
    assert_eq!(check["confirmed"], false);
    assert!(
        check["note"].as_str().unwrap().contains("office_class"),
        "{check}"
    );
    assert!(
        check["source"].as_str().unwrap().contains("未经核实"),
        "{check}"
    );
    rt.shutdown().await;

    // The command line gives the same, as CSV.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jieneng"))
        .args(["rate", "--config"])
        .arg(&config)
        .args(["--month", "2026-10", "--format", "csv"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1 + 2 * 7, "{text}");
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .starts_with("1,b1,一号楼,89.17,良好,quota"),
        "{text}"
    );
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_jieneng"))
        .args(["rate", "--config"])
        .arg(&config)
        .args(["--month", "October"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("YYYY-MM"));
}
