//! The live stream the pages use: a subscriber to `/api/v1/live?meter=ID` gets a `reading`
//! event for each new value of that meter, and none for other meters.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use futures::StreamExt;
use jieneng::auth::Role;
use serde_json::json;
use tower::ServiceExt;

const CONFIG: &str = r#"
[site]
name = "t"
data_dir = "DATA"

[[units]]
id = "org"
name = "org"
kind = "organisation"

[[meters]]
id = "m1"
name = "电表1"
unit = "org"
category = "01000"
read_by_hand = "energy_import_kwh"

[[meters]]
id = "m2"
name = "电表2"
unit = "org"
category = "01000"
read_by_hand = "energy_import_kwh"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_readings_arrive_as_server_sent_events() {
    let common::Started {
        dir: _dir,
        config: _config,
        rt,
    } = common::start(CONFIG);
    let state = rt.app_state();
    let viewer = common::as_role(&state, Role::Viewer);
    let engineer = common::as_role(&state, Role::Engineer);

    let res = viewer
        .clone()
        .oneshot(common::get("/api/v1/live?meter=m1"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.into_body().into_data_stream();

    let r = |m: &str, v: f64| json!({"meter": m, "time": "2026-10-01T08:00:00+08:00", "quantity": "energy_import_kwh", "value": v});
    let (status, _) = common::call(
        &engineer,
        common::post("/api/v1/readings", json!([r("m2", 7.0), r("m1", 42.5)])),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    let chunk = tokio::time::timeout(Duration::from_secs(5), body.next())
        .await
        .expect("an event within 5 s")
        .unwrap()
        .unwrap();
    let text = String::from_utf8(chunk.to_vec()).unwrap();
    assert!(text.starts_with("event: reading\n"), "{text}");
    let data: serde_json::Value =
        serde_json::from_str(text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap()).unwrap();
    assert_eq!(
        (data["meter"].as_str(), data["value"].as_f64()),
        (Some("m1"), Some(42.5)),
        "m2's value is not sent"
    );
    assert_eq!(data["quantity"], "energy_import_kwh");

    let (status, _) = common::call(&viewer, common::get("/api/v1/live?meter=nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
