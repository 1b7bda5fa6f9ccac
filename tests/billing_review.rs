//! Statements finance can defend on dirty field data: a statement resting on bridged
//! readings, missing stretches or an unexplained register drop is held for review and issued
//! only after a finance account accepts it with a reason (or the data is put right); rooms'
//! opening balances of free quota; arrears beside the statement; the year's recovery per
//! tenant. Over the API as finance works, and from the command line.

mod common;

use std::process::Command;

use axum::http::StatusCode;
use common::{call, get, post};
use jieneng::auth::Role;
use rust_decimal::Decimal;
use serde_json::{Value, json};

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
id = "can-e"
name = "一食堂电表"
unit = "org"
category = "01000"
read_by_hand = "energy_import_kwh"

[[meters]]
id = "can-g"
name = "一食堂燃气表"
unit = "org"
category = "03000"
read_by_hand = "gas_m3"

[[meters]]
id = "room-e"
name = "3号楼301室电表"
unit = "org"
category = "01000"
read_by_hand = "energy_import_kwh"

[billing]
issuer = "测试学院后勤处"
number_prefix = "CS"

[[tariffs]]
id = "elec"
name = "电价"
[[tariffs.versions]]
from = "2026-01-01"
price = "0.60"

[[tariffs]]
id = "gas"
name = "燃气价"
[[tariffs.versions]]
from = "2026-01-01"
price = "3.00"

[[tenants]]
id = "canteen"
name = "一食堂"
kind = "canteen"
meters = [{ meter = "can-e", tariff = "elec" }, { meter = "can-g", tariff = "gas" }]

[[tenants]]
id = "room301"
name = "3号楼301室"
kind = "dormitory_room"
occupants = 4
meters = [{ meter = "room-e", tariff = "elec" }]
free_quota = { per_person = "10", carry_over = true }
"#;

fn r(meter: &str, q: &str, t: &str, v: f64) -> Value {
    json!({"meter": meter, "time": t, "quantity": q, "value": v})
}

fn dec(v: &Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("{v} is not a decimal string"))
        .parse()
        .unwrap()
}

fn statement<'a>(body: &'a Value, tenant: &str) -> &'a Value {
    body["statements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["tenant"] == tenant)
        .unwrap_or_else(|| panic!("no statement of {tenant} in {body}"))
}

fn outcome<'a>(body: &'a Value, tenant: &str) -> &'a Value {
    body["issued"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["tenant"] == tenant)
        .unwrap_or_else(|| panic!("no outcome for {tenant} in {body}"))
}

/// October read cleanly for the canteen's electricity and the room; the canteen's gas
/// reading of 1 October was missed (read on 1 September and 1 November only), so its October
/// figure is a straight line across two months.
fn october_readings() -> Value {
    json!([
        r(
            "can-e",
            "energy_import_kwh",
            "2026-10-01T00:00:00+08:00",
            1000.0
        ),
        r(
            "can-e",
            "energy_import_kwh",
            "2026-11-01T00:00:00+08:00",
            3000.0
        ),
        r("can-g", "gas_m3", "2026-09-01T00:00:00+08:00", 500.0),
        r("can-g", "gas_m3", "2026-11-01T00:00:00+08:00", 1110.0),
        r(
            "room-e",
            "energy_import_kwh",
            "2026-10-01T00:00:00+08:00",
            100.0
        ),
        r(
            "room-e",
            "energy_import_kwh",
            "2026-11-01T00:00:00+08:00",
            160.0
        ),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_on_bridged_readings_is_held_until_finance_accepts_it() {
    let common::Started { rt, dir: _dir, .. } = common::start(CONFIG);
    let state = rt.app_state();
    let finance = common::as_role(&state, Role::Finance);
    let engineer = common::as_role(&state, Role::Engineer);
    let (status, body) = call(&engineer, post("/api/v1/readings", october_readings())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The canteen is held, and says why; the room is a plain draft.
    let (_, body) = call(&finance, get("/api/v1/billing/2026-10/statements")).await;
    let canteen = statement(&body, "canteen");
    assert_eq!(canteen["status"], "needs_review", "{canteen}");
    let holds = canteen["holds"].as_array().unwrap();
    assert_eq!(holds.len(), 1, "{canteen}");
    assert_eq!(
        (holds[0]["meter"].as_str(), holds[0]["kind"].as_str()),
        (Some("can-g"), Some("doubtful"))
    );
    assert!(
        holds[0]["reason"]
            .as_str()
            .unwrap()
            .contains("100% 的用量为插值或估算"),
        "{holds:?}"
    );
    // The quality summary per meter: electricity read, gas bridged.
    let data = |m: usize| &canteen["meters"][m]["data"];
    assert_eq!(dec(&data(0)["manual"]), Decimal::from(2000));
    assert_eq!(dec(&data(0)["interpolated"]), Decimal::ZERO);
    assert_eq!(dec(&data(1)["interpolated"]), Decimal::from(310));
    assert_eq!(statement(&body, "room301")["status"], "draft");

    // Issuing leaves the held one out and names what holds it.
    let (status, body) = call(&finance, post("/api/v1/billing/2026-10/issue", json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(outcome(&body, "room301")["outcome"], "issued");
    let held = outcome(&body, "canteen");
    assert_eq!(held["outcome"], "needs_review", "{body}");
    assert_eq!(held["holds"][0]["kind"], "doubtful");

    // Accepting needs a reason, a finance account, a known tenant and a held statement.
    let accept = |b: Value| post("/api/v1/billing/2026-10/accept", b);
    for (bad, what) in [
        (json!({"tenant": "canteen"}), "reason"),
        (json!({"tenant": "canteen", "reason": "   "}), "reason"),
        (
            json!({"tenant": "canteen", "reason": "x".repeat(501)}),
            "500",
        ),
        (
            json!({"tenant": "room301", "reason": "ok"}),
            "not held for review",
        ),
        (
            json!({"tenant": "canteen", "reason": "ok", "by": "boss"}),
            "`by` is not accepted",
        ),
        (
            json!({"tenant": "canteen", "reason": "ok", "extra": 1}),
            "extra",
        ),
    ] {
        let (status, body) = call(&finance, accept(bad.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} → {body}");
        assert!(
            body["error"].as_str().unwrap_or_default().contains(what),
            "{bad} → {body}"
        );
    }
    let (status, _) = call(&finance, accept(json!({"tenant": "nope", "reason": "ok"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &engineer,
        accept(json!({"tenant": "canteen", "reason": "ok"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "engineers do not accept bills"
    );

    let reason = "燃气表10月未抄，按9-10月均摊，与食堂确认";
    let (status, body) = call(
        &finance,
        accept(json!({"tenant": "canteen", "reason": reason})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["accepted"][0]["acceptance"]["by"], "test-finance");

    // A change of the data after acceptance (a reading found later) needs a new look.
    let (status, body) = call(
        &engineer,
        post(
            "/api/v1/readings",
            json!([r("can-g", "gas_m3", "2026-10-20T00:00:00+08:00", 850.0)]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, body) = call(&finance, get("/api/v1/billing/2026-10/statements")).await;
    let canteen = statement(&body, "canteen");
    assert_eq!(canteen["status"], "needs_review", "{canteen}");
    assert!(canteen.get("accepted").is_none_or(Value::is_null));

    let (status, _) = call(
        &finance,
        accept(json!({"tenant": "canteen", "reason": reason})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, body) = call(&finance, post("/api/v1/billing/2026-10/issue", json!({}))).await;
    assert_eq!(outcome(&body, "canteen")["outcome"], "issued", "{body}");

    // The issued statement carries its quality summary, holds and acceptance.
    let (_, body) = call(&finance, get("/api/v1/billing/2026-10/statements")).await;
    let canteen = statement(&body, "canteen");
    assert_eq!(canteen["status"], "issued");
    assert_eq!(canteen["accepted"]["by"], "test-finance");
    assert_eq!(canteen["accepted"]["reason"], reason);
    assert_eq!(canteen["holds"][0]["kind"], "doubtful");
    assert!(dec(&canteen["meters"][1]["data"]["interpolated"]) > Decimal::ZERO);

    // Audited under the signed-in account, with the reason.
    let (_, audit) = call(&finance, get("/api/v1/audit")).await;
    let accepts: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "billing.accept")
        .collect();
    assert_eq!(accepts.len(), 2, "{audit}");
    assert!(accepts.iter().all(|e| e["who"] == "test-finance"
        && e["note"] == reason
        && e["target"] == "CS-202610-canteen"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unexplained_drop_holds_the_statement_until_someone_records_what_happened() {
    let common::Started { rt, dir: _dir, .. } = common::start(CONFIG);
    let state = rt.app_state();
    let finance = common::as_role(&state, Role::Finance);
    let engineer = common::as_role(&state, Role::Engineer);
    let readings = json!([
        r(
            "room-e",
            "energy_import_kwh",
            "2026-10-01T00:00:00+08:00",
            1000.0
        ),
        r(
            "room-e",
            "energy_import_kwh",
            "2026-10-15T00:00:00+08:00",
            1500.0
        ),
        r(
            "room-e",
            "energy_import_kwh",
            "2026-10-20T00:00:00+08:00",
            1490.0
        ),
        r(
            "room-e",
            "energy_import_kwh",
            "2026-11-01T00:00:00+08:00",
            1600.0
        ),
    ]);
    let (status, body) = call(&engineer, post("/api/v1/readings", readings)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, body) = call(
        &finance,
        get("/api/v1/billing/2026-10/statements?tenant=room301"),
    )
    .await;
    let room = statement(&body, "room301");
    assert_eq!(room["status"], "needs_review", "{room}");
    let kinds: Vec<&str> = room["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"drop") && kinds.contains(&"invalid"),
        "{room}"
    );
    let drop = room["holds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "drop")
        .unwrap();
    let text = drop["reason"].as_str().unwrap();
    assert!(
        text.contains("1500") && text.contains("1490") && text.contains("2026-10-20 00:00"),
        "{text}"
    );
    // The drop is no consumption: 500 before it, 110 after.
    assert_eq!(dec(&room["meters"][0]["metered"]), Decimal::from(610));
    let (_, body) = call(&finance, post("/api/v1/billing/2026-10/issue", json!({}))).await;
    assert_eq!(outcome(&body, "room301")["outcome"], "needs_review");

    // The engineer finds the register was reset to 1490 that morning: recorded, the hold goes.
    let (status, body) = call(
        &engineer,
        post(
            "/api/v1/meters/room-e/events",
            json!({"kind": "reset", "time": "2026-10-19T12:00:00+08:00", "new_value": "1490", "note": "表计清零后重设"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, body) = call(&finance, post("/api/v1/billing/2026-10/issue", json!({}))).await;
    assert_eq!(outcome(&body, "room301")["outcome"], "issued", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_balances_carry_a_rooms_quota_in_from_the_old_system() {
    let common::Started { dir, config, rt } = common::start(CONFIG);
    let state = rt.app_state();
    let finance = common::as_role(&state, Role::Finance);
    let engineer = common::as_role(&state, Role::Engineer);
    let (status, _) = call(&engineer, post("/api/v1/readings", october_readings())).await;
    assert_eq!(status, StatusCode::CREATED);
    // 60 kWh in October, 40 free: 20 billed at 0.60 = 12.00.
    let (_, body) = call(&finance, get("/api/v1/billing/2026-10/statements")).await;
    assert_eq!(
        dec(&statement(&body, "room301")["total"]),
        Decimal::from(12)
    );

    let open = |b: Value| post("/api/v1/billing/opening-balances", b);
    for (bad, what) in [
        (
            json!({"tenant": "nope", "month": "2026-10", "carried_in": "5"}),
            "tenant `nope`",
        ),
        (
            json!({"tenant": "canteen", "month": "2026-10", "carried_in": "5"}),
            "no free quota",
        ),
        (
            json!({"tenant": "room301", "month": "2026-13", "carried_in": "5"}),
            "month `2026-13`",
        ),
        (
            json!({"tenant": "room301", "month": "2026-10", "carried_in": "-1"}),
            "carried_in `-1`",
        ),
        (
            json!({"tenant": "room301", "month": "2026-10", "carried_in": "1.234"}),
            "two decimals",
        ),
        (
            json!({"tenant": "room301", "month": "2026-10", "carried_in": "abc"}),
            "not a number",
        ),
        (
            json!({"tenant": "room301", "month": "2026-10", "carried_in": "481"}),
            "more than a year",
        ),
        (
            json!({"tenant": "room301", "month": "2026-10", "carried_in": true}),
            "not a number",
        ),
        (
            json!({"tenant": "room301", "month": "2026-10", "carried_in": "5", "entered_by": "x"}),
            "`entered_by` is not accepted",
        ),
    ] {
        let (status, body) = call(&finance, open(bad.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} → {body}");
        assert!(
            body["error"].as_str().unwrap_or_default().contains(what),
            "{bad} → {body}"
        );
    }
    let (status, _) = call(
        &engineer,
        open(json!({"tenant": "room301", "month": "2026-10", "carried_in": "5"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // 15 kWh carried into October: 60 − 40 − 15 = 5 billed = 3.00.
    let (status, body) = call(
        &finance,
        open(json!({"tenant": "room301", "month": "2026-10", "carried_in": 15, "note": "旧系统9月结转"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, body) = call(&finance, get("/api/v1/billing/2026-10/statements")).await;
    let room = statement(&body, "room301");
    assert_eq!(dec(&room["total"]), Decimal::from(3), "{room}");
    assert_eq!(dec(&room["free_quota"]["carried_in"]), Decimal::from(15));
    assert_eq!(dec(&room["free_quota"]["used"]), Decimal::from(55));
    let (_, list) = call(&finance, get("/api/v1/billing/opening-balances")).await;
    assert_eq!(list["opening_balances"][0]["entered_by"], "test-finance");

    // Issue it; a corrected opening balance from the CSV flags it for re-issue.
    let (_, body) = call(&finance, post("/api/v1/billing/2026-10/issue", json!({}))).await;
    assert_eq!(outcome(&body, "room301")["outcome"], "issued");
    let csv = dir.path().join("openings.csv");
    let run = |text: &str| {
        std::fs::write(&csv, text).unwrap();
        Command::new(env!("CARGO_BIN_EXE_jieneng"))
            .args(["import", "opening-balances", "--by", "王会计", "--config"])
            .arg(&config)
            .arg(&csv)
            .output()
            .unwrap()
    };
    let out =
        run("tenant,month,carried_in\nroom301,2026-10,20\nroom301,2026-10,21\nnope,2026-10,1\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("openings.csv:3: tenant `room301` appears twice"),
        "{err}"
    );
    assert!(err.contains("openings.csv:4: tenant `nope`"), "{err}");
    assert!(err.contains("nothing was recorded"), "{err}");
    let out = run("tenant,month,carried_in,note\nroom301,2026-10,20,复核后更正\n");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("CS-202610-room301"), "{text}");
    let (_, body) = call(&finance, get("/api/v1/billing/2026-10/statements")).await;
    assert_eq!(statement(&body, "room301")["reissue_needed"], true);
    let (_, audit) = call(&finance, get("/api/v1/audit")).await;
    let who: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "billing.opening_balance")
        .map(|e| e["who"].as_str().unwrap())
        .collect();
    assert_eq!(who.len(), 2, "{audit}");
    assert!(who.contains(&"test-finance") && who.contains(&"王会计"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrears_stand_beside_the_statement_and_the_year_sums_per_tenant() {
    let common::Started { rt, dir: _dir, .. } = common::start(CONFIG);
    let state = rt.app_state();
    let finance = common::as_role(&state, Role::Finance);
    let engineer = common::as_role(&state, Role::Engineer);
    let readings = json!([
        r(
            "can-e",
            "energy_import_kwh",
            "2026-09-01T00:00:00+08:00",
            0.0
        ),
        r(
            "can-e",
            "energy_import_kwh",
            "2026-10-01T00:00:00+08:00",
            1000.0
        ),
        r(
            "can-e",
            "energy_import_kwh",
            "2026-11-01T00:00:00+08:00",
            3000.0
        ),
        r("can-g", "gas_m3", "2026-09-01T00:00:00+08:00", 0.0),
        r("can-g", "gas_m3", "2026-10-01T00:00:00+08:00", 100.0),
        r("can-g", "gas_m3", "2026-11-01T00:00:00+08:00", 300.0),
    ]);
    let (status, _) = call(&engineer, post("/api/v1/readings", readings)).await;
    assert_eq!(status, StatusCode::CREATED);
    // September: 1000 × 0.60 + 100 × 3 = 900.00, of which 400 paid.
    let (_, body) = call(
        &finance,
        post(
            "/api/v1/billing/2026-09/issue",
            json!({"tenant": "canteen"}),
        ),
    )
    .await;
    assert_eq!(outcome(&body, "canteen")["outcome"], "issued", "{body}");
    assert_eq!(dec(&outcome(&body, "canteen")["total"]), Decimal::from(900));
    let (status, body) = call(
        &finance,
        post(
            "/api/v1/billing/payments",
            json!({"statement": "CS-202609-canteen", "amount": "400", "paid_on": "2026-10-10"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, body) = call(
        &finance,
        get("/api/v1/billing/2026-10/statements?tenant=canteen"),
    )
    .await;
    let october = statement(&body, "canteen");
    assert_eq!(dec(&october["arrears"]), Decimal::from(500), "{october}");
    assert_eq!(
        dec(&october["total"]),
        Decimal::from(1800),
        "not in the total"
    );

    let (_, body) = call(
        &finance,
        post(
            "/api/v1/billing/2026-10/issue",
            json!({"tenant": "canteen"}),
        ),
    )
    .await;
    assert_eq!(outcome(&body, "canteen")["outcome"], "issued", "{body}");
    let (status, year) = call(&finance, get("/api/v1/billing/recovery?year=2026")).await;
    assert_eq!(status, StatusCode::OK);
    let canteen = year["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tenant"] == "canteen")
        .unwrap();
    assert_eq!(
        (
            dec(&canteen["billed"]),
            dec(&canteen["recovered"]),
            dec(&canteen["outstanding"])
        ),
        (Decimal::from(2700), Decimal::from(400), Decimal::from(2300))
    );
    assert_eq!(dec(&year["recovered"]), Decimal::from(400));
    let (status, _) = call(&finance, get("/api/v1/billing/recovery?year=0")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bill_issue_refuses_the_held_one_and_issues_it_after_a_finance_account_accepts() {
    let common::Started {
        config,
        rt,
        dir: _dir,
    } = common::start(CONFIG);
    let state = rt.app_state();
    let engineer = common::as_role(&state, Role::Engineer);
    let (status, _) = call(&engineer, post("/api/v1/readings", october_readings())).await;
    assert_eq!(status, StatusCode::CREATED);
    {
        let mut w = state.store.writer().unwrap();
        w.create_user("wang", "王会计", Role::Finance, None, "test")
            .unwrap();
        w.create_user("zhang", "张工", Role::Engineer, None, "test")
            .unwrap();
    }
    let bill = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_jieneng"))
            .args(["bill", "--month", "2026-10", "--issue", "--config"])
            .arg(&config)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = bill(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a held statement fails the run: {err}"
    );
    assert!(
        err.contains("CS-202610-room301 room301") && err.contains("issued"),
        "{err}"
    );
    assert!(
        err.contains(
            "CS-202610-canteen canteen: not issued, held for review: can-g: 100% 的用量为插值或估算"
        ),
        "{err}"
    );
    for (by, what) in [
        (None, "--accept needs --by"),
        (Some("zhang"), "a engineer account cannot accept"),
        (Some("nobody"), "no such account"),
    ] {
        let mut extra = vec!["--accept", "燃气表10月未抄"];
        if let Some(b) = by {
            extra.extend(["--by", b]);
        }
        let out = bill(&extra);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(what), "{by:?}: {err}");
    }
    let out = bill(&["--accept", "燃气表10月未抄，与食堂确认", "--by", "wang"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("CS-202610-canteen canteen: accepted by wang"),
        "{err}"
    );
    // 2000 kWh × 0.60 + 310 m³ × 3.00.
    assert!(
        err.contains("CS-202610-canteen canteen: 2130.00 yuan, issued"),
        "{err}"
    );
    let audit = state.store.reader().unwrap().audit(None, 100).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "billing.accept" && e.who == "wang"),
        "{audit:?}"
    );
}

mod properties {
    use super::CONFIG;
    use chrono::{Duration, NaiveDate, TimeZone, Utc};
    use jieneng::billing::book;
    use jieneng::energy::ledger::Ledger;
    use jieneng::quantity::Quantity;
    use jieneng::reading::{Reading, ReadingQuality};
    use jieneng::site::Site;
    use jieneng::store::SqliteStore;
    use jieneng::time::Month;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Whatever the readings (gaps, drops, a month missed), a statement is issued only
        /// with a clean quality summary, and a drop never becomes consumption.
        #[test]
        fn nothing_doubtful_is_issued_and_a_drop_is_never_billed(
            days in proptest::collection::btree_set(0u32..92, 1..8),
            steps in proptest::collection::vec(-300i32..400, 8),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let site = Site::from_str(
                &dir.path().join("site.toml"),
                &CONFIG.replace("DATA", &dir.path().display().to_string()),
            )
            .unwrap();
            let store = SqliteStore::open(&dir.path().join("jieneng.db")).unwrap();
            let start = chrono_tz::Asia::Shanghai
                .with_ymd_and_hms(2026, 9, 1, 0, 0, 0)
                .unwrap()
                .with_timezone(&Utc);
            let mut value = 1000i64;
            let mut readings = Vec::new();
            let mut rises = Decimal::ZERO;
            for (k, day) in days.iter().enumerate() {
                let step = i64::from(steps[k % steps.len()]);
                if k > 0 {
                    value += step;
                    rises += Decimal::from(step.max(0));
                }
                readings.push(Reading {
                    meter: "room-e".into(),
                    quantity: Quantity::named("energy_import_kwh"),
                    time: start + Duration::days(i64::from(*day)),
                    value: value as f64,
                    quality: ReadingQuality::Manual,
                });
            }
            store.writer().unwrap().write_batch(&readings).unwrap();
            let reader = store.reader().unwrap();
            let ledger = Ledger::new(&reader, &site);
            let mut writer = store.writer().unwrap();
            let today = NaiveDate::from_ymd_opt(2026, 12, 8).unwrap();
            let out = book::issue(
                &ledger,
                &reader,
                &site,
                &mut writer,
                Month::new(2026, 10).unwrap(),
                Some("room301"),
                "test",
                today,
            )
            .unwrap();
            let statements = book::month_statements(
                &ledger, &reader, &site, Month::new(2026, 10).unwrap(), Some("room301"), today,
            )
            .unwrap();
            let s = &statements[0];
            let m = &s.meters[0];
            prop_assert!(m.metered <= rises, "{} billed from rises of {}", m.metered, rises);
            if out[0].outcome == "issued" {
                prop_assert!(s.holds.is_empty(), "{:?}", s.holds);
                prop_assert!(m.data.missing_hours.is_zero() && m.data.invalid_hours.is_zero());
                prop_assert!(m.data.drops.is_empty());
                prop_assert!(m.data.doubtful_share() <= site.billing.review_threshold);
            } else {
                prop_assert!(matches!(out[0].outcome, "needs_review" | "no_data"), "{}", out[0].outcome);
                prop_assert!(!s.holds.is_empty());
            }
        }
    }
}
