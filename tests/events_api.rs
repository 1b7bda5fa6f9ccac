//! Recording a meter replacement turns an excluded drop into counted consumption.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{TimeZone, Utc};
use common::{call, post};
use jieneng::quantity::Quantity;
use jieneng::reading::{Reading, ReadingQuality};
use jieneng::runtime::Runtime;
use jieneng::site::Site;
use tower::ServiceExt;

async fn get_json(app: &axum::Router, uri: &str) -> serde_json::Value {
    let res = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{uri}");
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replacement_event_joins_the_old_and_new_register() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[site]\nname = \"t\"\ndata_dir = \"{}\"\n[[units]]\nid = \"o\"\nname = \"o\"\nkind = \"organisation\"\n\
         [[meters]]\nid = \"e1\"\nname = \"电表\"\nunit = \"o\"\ncategory = \"01000\"\nread_by_hand = \"energy_import_kwh\"\n",
        dir.path().join("data").display()
    );
    std::fs::write(dir.path().join("jieneng.toml"), config).unwrap();
    let rt = Runtime::start(Site::load(&dir.path().join("jieneng.toml")).unwrap()).unwrap();
    let tz = chrono_tz::Asia::Shanghai;
    let day = |d: u32| {
        tz.with_ymd_and_hms(2026, 10, d, 0, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    };
    let reading = |d: u32, v: f64| Reading {
        meter: Arc::from("e1"),
        quantity: Quantity::named("energy_import_kwh"),
        time: day(d),
        value: v,
        quality: ReadingQuality::Manual,
    };
    // The meter was swapped on the 2nd: the old one stopped at 1210, the new one started at 0.
    rt.ingest
        .accept_all(vec![
            reading(1, 1000.0),
            reading(2, 1200.0),
            reading(3, 5.0),
            reading(4, 55.0),
        ])
        .await
        .unwrap();
    rt.ingest.flush().await.unwrap();
    let app = common::as_role(&rt.app_state(), jieneng::auth::Role::Admin);
    let uri = "/api/v1/meters/e1/consumption?from=2026-10-01&to=2026-10-04&step=1d";
    let before = get_json(&app, uri).await;
    assert_eq!(before[1]["quality"], "invalid", "{before}");
    assert_eq!(before[1]["consumption"], "0");

    let event = serde_json::json!({
        "kind": "replacement", "time": "2026-10-02T10:00:00+08:00",
        "old_final": "1210", "new_initial": "0", "note": "表计损坏更换"
    });
    let res = app
        .clone()
        .oneshot(
            Request::post("/api/v1/meters/e1/events")
                .header("content-type", "application/json")
                .body(Body::from(event.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let after = get_json(&app, uri).await;
    assert_eq!(after[0]["consumption"], "200");
    assert_eq!(
        after[1]["consumption"], "15",
        "10 on the old meter and 5 on the new: {after}"
    );
    assert_eq!(after[1]["quality"], "manual");
    assert_eq!(after[2]["consumption"], "50");

    // Bad events are refused with the reason.
    let bad = serde_json::json!({"kind": "replacement", "time": "2026-10-02T10:00:00+08:00", "old_final": "1210", "new_initial": "0", "note": ""});
    let res = app
        .clone()
        .oneshot(
            Request::post("/api/v1/meters/e1/events")
                .header("content-type", "application/json")
                .body(Body::from(bad.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = app
        .clone()
        .oneshot(
            Request::post("/api/v1/meters/e1/events")
                .header("content-type", "application/json")
                .body(Body::from("{\"kind\":\"swap\"}"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // Readings entered by hand through the API: all or nothing.
    let post = |body: serde_json::Value| {
        let app = app.clone();
        async move {
            app.oneshot(
                Request::post("/api/v1/readings")
                    .header("content-type", "application/json")
                    .body(Body::from(body.to_string()))
                    .unwrap(),
            )
            .await
            .unwrap()
        }
    };
    let bad = serde_json::json!([
        {"meter": "e1", "time": "2026-10-05T00:00:00+08:00", "quantity": "energy_import_kwh", "value": 80},
        {"meter": "nope", "time": "2026-10-05T00:00:00+08:00", "quantity": "energy_import_kwh", "value": 1}
    ]);
    let res = post(bad).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let text = String::from_utf8(
        axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(text.contains("reading 1: unknown meter `nope`"), "{text}");
    let none = get_json(
        &app,
        "/api/v1/meters/e1/consumption?from=2026-10-04&to=2026-10-05&step=1d",
    )
    .await;
    assert_eq!(
        none[0]["quality"], "missing",
        "nothing of the bad batch was stored"
    );
    let good = serde_json::json!([{"meter": "e1", "time": "2026-10-05T00:00:00+08:00", "quantity": "energy_import_kwh", "value": 80, "note": "月底抄表"}]);
    assert_eq!(post(good).await.status(), StatusCode::CREATED);
    let day = get_json(
        &app,
        "/api/v1/meters/e1/consumption?from=2026-10-04&to=2026-10-05&step=1d",
    )
    .await;
    assert_eq!(day[0]["consumption"], "25");
    rt.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrections_through_the_api_are_audited_and_change_consumption() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[site]\nname = \"t\"\ndata_dir = \"{}\"\n[[units]]\nid = \"o\"\nname = \"o\"\nkind = \"organisation\"\noccupants = 10\n\
         [[meters]]\nid = \"e1\"\nname = \"电表\"\nunit = \"o\"\ncategory = \"01000\"\nread_by_hand = \"energy_import_kwh\"\n",
        dir.path().join("data").display()
    );
    std::fs::write(dir.path().join("jieneng.toml"), config).unwrap();
    let rt = Runtime::start(Site::load(&dir.path().join("jieneng.toml")).unwrap()).unwrap();
    let app = common::as_role(&rt.app_state(), jieneng::auth::Role::Admin);
    let readings = serde_json::json!([
        {"meter": "e1", "time": "2026-10-01T00:00:00+08:00", "quantity": "energy_import_kwh", "value": 100},
        {"meter": "e1", "time": "2026-10-02T00:00:00+08:00", "quantity": "energy_import_kwh", "value": 150},
        {"meter": "e1", "time": "2026-10-03T00:00:00+08:00", "quantity": "energy_import_kwh", "value": 9999},
        {"meter": "e1", "time": "2026-10-04T00:00:00+08:00", "quantity": "energy_import_kwh", "value": 250}
    ]);
    assert_eq!(
        call(&app, post("/api/v1/readings", readings)).await.0,
        StatusCode::CREATED
    );
    let uri = "/api/v1/meters/e1/consumption?from=2026-10-01&to=2026-10-04&step=1d";
    let unit_uri =
        "/api/v1/units/o/consumption?category=01000&from=2026-10-01&to=2026-10-04&step=1d";
    assert_eq!(get_json(&app, unit_uri).await, get_json(&app, uri).await);

    // The reading on the 3rd was a typo: strike it out, with who and why.
    let c = "/api/v1/meters/e1/corrections";
    let (status, outcome) = call(&app, post(c, serde_json::json!({"kind": "strike_out", "time": "2026-10-03T00:00:00+08:00", "note": "抄错位数"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{outcome}");
    assert_eq!(outcome["reissue"], serde_json::json!([]));
    let days = get_json(&app, uri).await;
    assert_eq!(days[1]["consumption"], "50", "{days}");
    assert_eq!(days[2]["consumption"], "50", "{days}");

    // Set the 1st's consumption outright, as an estimate.
    let (status, _) = call(&app, post(c, serde_json::json!({"kind": "interval", "start": "2026-09-30T16:00:00Z", "end": "2026-10-01T16:00:00Z", "consumption": "40", "estimated": true, "note": "表计故障，按同期估算"}))).await;
    assert_eq!(status, StatusCode::CREATED);
    let days = get_json(&app, uri).await;
    assert_eq!(days[0]["consumption"], "40");
    assert_eq!(days[0]["quality"], "estimated");

    // Refused: no who or why, an interval off the 15-minute grid, a reading that is not there.
    let (status, body) = call(&app, post(c, serde_json::json!({"kind": "reading", "time": "2026-10-02T00:00:00+08:00", "value": "1", "note": ""}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = call(&app, post(c, serde_json::json!({"kind": "interval", "start": "2026-10-01T00:05:00Z", "end": "2026-10-01T01:00:00Z", "consumption": "1", "note": "n"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("15-minute"),
        "{body}"
    );
    let (status, body) = call(&app, post(c, serde_json::json!({"kind": "reading", "time": "2026-10-05T00:00:00+08:00", "value": "1", "note": "n"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    let audit = get_json(&app, "/api/v1/meters/e1/audit").await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["interval.estimate", "reading.strike_out", "readings.enter"]
    );
    assert_eq!(audit[1]["who"], "test-admin");
    assert_eq!(audit[1]["before"]["value"], 9999.0);
    assert_eq!(audit[1]["after"]["status"], "struck_out");

    let ind = get_json(
        &app,
        "/api/v1/units/o/indicators?from=2026-10-01&to=2026-10-04",
    )
    .await;
    // 140 kWh × 0.1229 kgce/kWh = 17.206 kgce, for 10 people.
    assert_eq!(ind["total_kgce"], "17.206", "{ind}");
    assert_eq!(ind["kgce_per_person"], "1.721");
    rt.shutdown().await;
}
