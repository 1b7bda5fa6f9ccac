//! Billing over HTTP and the CLI, as finance uses it: the month's statements as JSON, CSV,
//! Excel and PDF; issuing; payments (API and CSV import) with clear refusals; what is
//! outstanding and what was recovered. The CLI and the API give the same figures.

mod common;

use std::process::Command;

use axum::http::StatusCode;
use common::{call, get, post};
use rust_decimal::Decimal;
use serde_json::json;
use tower::ServiceExt;

const CONFIG: &str = r#"
[site]
name = "测试学院"
timezone = "Asia/Shanghai"
data_dir = "DATA"

[[units]]
id = "org"
name = "学院"
kind = "organisation"

[[meters]]
id = "shop-e"
name = "超市电表"
unit = "org"
category = "01000"
read_by_hand = "energy_import_kwh"

[[meters]]
id = "shop-w"
name = "超市水表"
unit = "org"
category = "02000"
read_by_hand = "water_m3"

[billing]
issuer = "测试学院后勤处"
number_prefix = "CS"

[[tariffs]]
id = "elec"
name = "一般工商业电价"
[[tariffs.versions]]
from = "2026-01-01"
price = "0.6512"

[[tariffs]]
id = "water"
name = "非居民用水"
[[tariffs.versions]]
from = "2026-01-01"
price = "3.45"
sewage_fee = "0.95"

[[tenants]]
id = "shop"
name = "校园超市"
kind = "shop"
contract = "HT-1"
meters = [{ meter = "shop-e", tariff = "elec" }, { meter = "shop-w", tariff = "water" }]
"#;

fn dec(v: &serde_json::Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("{v} is not a decimal string"))
        .parse()
        .unwrap()
}

async fn raw(app: &axum::Router, uri: &str) -> (StatusCode, String, Vec<u8>) {
    let res = app.clone().oneshot(get(uri)).await.unwrap();
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .unwrap();
    (status, ct, bytes.to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finance_bills_issues_and_records_payments() {
    let common::Started { dir, config, rt } = common::start(CONFIG);
    let state = rt.app_state();
    let app = common::as_role(&state, jieneng::auth::Role::Finance);
    let engineer = common::as_role(&state, jieneng::auth::Role::Engineer);
    let anonymous = jieneng::http::router(state.clone());
    // Read by hand on 1 October and 1 November: 1234.5 kWh and 56.7 m³ in the month.
    let r = |m: &str, q: &str, t: &str, v: f64| json!({"meter": m, "time": t, "quantity": q, "value": v});
    let readings = json!([
        r(
            "shop-e",
            "energy_import_kwh",
            "2026-10-01T00:00:00+08:00",
            1000.0
        ),
        r(
            "shop-e",
            "energy_import_kwh",
            "2026-11-01T00:00:00+08:00",
            2234.5
        ),
        r("shop-w", "water_m3", "2026-10-01T00:00:00+08:00", 100.0),
        r("shop-w", "water_m3", "2026-11-01T00:00:00+08:00", 156.7),
    ]);
    assert_eq!(
        call(&app, post("/api/v1/readings", readings.clone()))
            .await
            .0,
        StatusCode::FORBIDDEN,
        "finance does not enter readings"
    );
    let (status, body) = call(&engineer, post("/api/v1/readings", readings)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Statements are for finance and admins only.
    assert_eq!(
        call(&anonymous, get("/api/v1/billing/2026-10/statements"))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&engineer, get("/api/v1/billing/2026-10/statements.xlsx"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );

    let (status, body) = call(&app, get("/api/v1/billing/2026-10/statements")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s = &body["statements"][0];
    assert_eq!(
        (
            s["tenant"].as_str(),
            s["period"].as_str(),
            s["status"].as_str()
        ),
        (Some("shop"), Some("2026-10"), Some("draft"))
    );
    let lines = s["lines"].as_array().unwrap();
    // 1234.5 × 0.6512 = 803.9064 → 803.91; 56.7 × 3.45 = 195.615 → 195.62; × 0.95 = 53.865 → 53.87.
    let got: Vec<(&str, Decimal, Decimal, Decimal)> = lines
        .iter()
        .map(|l| {
            (
                l["description"].as_str().unwrap(),
                dec(&l["quantity"]),
                dec(&l["price"]),
                dec(&l["amount"]),
            )
        })
        .collect();
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    assert_eq!(
        got,
        vec![
            ("电费", d("1234.50"), d("0.6512"), d("803.91")),
            ("水费", d("56.70"), d("3.45"), d("195.62")),
            ("污水处理费", d("56.70"), d("0.95"), d("53.87")),
        ]
    );
    for l in lines {
        assert_eq!(
            dec(&l["amount"]),
            (dec(&l["quantity"]) * dec(&l["price"]))
                .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        );
        assert!(l["meter"].is_string() && l["unit"].is_string());
    }
    assert_eq!(dec(&s["total"]), d("1053.40"));
    let m = &s["meters"][0];
    assert_eq!(
        (m["start"]["value"].as_str(), m["start"]["quality"].as_str()),
        (Some("1000.00"), Some("manual")),
        "a reading at two places where the register's resolution is not known"
    );
    assert_eq!(m["start"]["local_time"], "2026-10-01 00:00");

    // Files: Excel, PDF and CSV.
    let (status, ct, bytes) = raw(&app, "/api/v1/billing/2026-10/statements.xlsx").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.contains("spreadsheetml"), "{ct}");
    assert!(bytes.starts_with(b"PK"));
    let (status, ct, bytes) = raw(&app, "/api/v1/billing/2026-10/statements.pdf").await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/pdf"));
    assert!(bytes.starts_with(b"%PDF"));
    let (_, _, csv_api) = raw(&app, "/api/v1/billing/2026-10/statements.csv").await;
    let csv_api = String::from_utf8(csv_api).unwrap();
    assert!(
        csv_api.contains("CS-202610-shop,shop,校园超市,2026-10,shop-e,电费"),
        "{csv_api}"
    );

    // Bad requests name what is wrong.
    let (status, body) = call(&app, get("/api/v1/billing/2026-13/statements")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("2026-13"),
        "{body}"
    );
    let (status, _) = call(&app, get("/api/v1/billing/2026-10/statements?tenant=nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = call(
        &app,
        post("/api/v1/billing/2026-10/issue", json!({"issued_by": ""})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Issue; issuing again changes nothing.
    let (status, body) = call(&app, post("/api/v1/billing/2026-10/issue", json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["issued"][0]["outcome"], "issued");
    let (_, body) = call(&app, post("/api/v1/billing/2026-10/issue", json!({}))).await;
    assert_eq!(body["issued"][0]["outcome"], "unchanged");

    // A month nothing was read in is no statement: not issued (never a 0.00 settled as paid),
    // with the meters concerned named, over the API and from the command line.
    let (status, body) = call(&app, post("/api/v1/billing/2026-08/issue", json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["issued"][0]["outcome"], "no_data", "{body}");
    assert_eq!(body["issued"][0]["no_data"], json!(["shop-e", "shop-w"]));
    let (_, body) = call(&app, get("/api/v1/billing/2026-08/statements")).await;
    assert_eq!(body["statements"][0]["status"], "needs_review", "{body}");
    let out = Command::new(env!("CARGO_BIN_EXE_jieneng"))
        .args(["bill", "--month", "2026-08", "--issue", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("not issued, no readings in the period from shop-e, shop-w"),
        "{err}"
    );

    // Payments: refusals, then one over the API and one from a CSV file through the CLI.
    let pay = |statement: &str, amount: &str| json!({"statement": statement, "amount": amount, "paid_on": "2026-11-10", "method": "转账"});
    let (status, body) = call(
        &app,
        post("/api/v1/billing/payments", pay("CS-202610-nope", "1")),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = call(
        &app,
        post("/api/v1/billing/payments", pay("CS-202610-shop", "1.005")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = call(
        &app,
        post("/api/v1/billing/payments", pay("CS-202610-shop", "-5")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = call(
        &app,
        post("/api/v1/billing/payments", pay("CS-202610-shop", "500.00")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let exe = env!("CARGO_BIN_EXE_jieneng");
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "statement,amount,paid_on\nCS-202610-shop,100,2026-11-11\nCS-202610-shop,x,2026-11-11\n",
    )
    .unwrap();
    let out = Command::new(exe)
        .args(["import", "payments", "--config"])
        .arg(&config)
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.csv:3: amount `x`") && err.contains("nothing was recorded"),
        "{err}"
    );
    let good = dir.path().join("good.csv");
    std::fs::write(
        &good,
        "statement,amount,paid_on,method,reference\nCS-202610-shop,300.40,2026-11-12,银行,B77\n",
    )
    .unwrap();
    let out = Command::new(exe)
        .args(["import", "payments", "--config"])
        .arg(&config)
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (_, body) = call(&app, get("/api/v1/billing/outstanding")).await;
    assert_eq!(dec(&body["outstanding"]), d("253.00"), "{body}");
    let (_, body) = call(&app, get("/api/v1/billing/payments")).await;
    assert_eq!(
        body["payments"].as_array().unwrap().len(),
        2,
        "the bad file recorded nothing"
    );
    // Recorded under the signed-in account over the API, the OS account from the CLI.
    let mut by: Vec<String> = body["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["recorded_by"].as_str().unwrap().to_string())
        .collect();
    by.sort();
    assert!(
        by[0].starts_with("cli:") && by[0] != "cli:unknown",
        "{by:?}"
    );
    assert_eq!(by[1], "test-finance");
    let (_, body) = call(&app, get("/api/v1/billing/recovery?year=2026")).await;
    assert_eq!(
        (dec(&body["billed"]), dec(&body["recovered"])),
        (d("1053.40"), d("800.40"))
    );
    assert_eq!(dec(&body["months"][10]["recovered"]), d("800.40"));

    // The CLI gives the same statements as the API, now issued and partly paid.
    let out = Command::new(exe)
        .args(["bill", "--month", "2026-10", "--format", "json", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (_, api) = call(&app, get("/api/v1/billing/2026-10/statements")).await;
    assert_eq!(cli, api);
    assert_eq!(api["statements"][0]["status"], "partly_paid");
    let out = Command::new(exe)
        .args(["bill", "--month", "2026-10", "--format", "pdf", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--out"));
}
