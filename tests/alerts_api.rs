//! Alerts as engineers meet them: raised once by the detectors, seen again without a second
//! alert, acknowledged and resolved through the API, cleared when the condition goes away.

mod common;

use axum::http::StatusCode;
use chrono::Utc;
use common::{call, get, post};
use jieneng::alerting::round;
use jieneng::config::Site;
use jieneng::rules::evaluate::Observations;
use jieneng::runtime::Runtime;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_meter_raises_one_alert_that_can_be_acknowledged_and_clears() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[site]\nname = \"t\"\ndata_dir = \"{}\"\n[[units]]\nid = \"o\"\nname = \"o\"\nkind = \"organisation\"\n\
         [[meters]]\nid = \"e1\"\nname = \"电表\"\nunit = \"o\"\ncategory = \"01000\"\nread_by_hand = \"energy_import_kwh\"\n",
        dir.path().join("data").display()
    );
    std::fs::write(dir.path().join("jieneng.toml"), config).unwrap();
    let rt = Runtime::start(Site::load(&dir.path().join("jieneng.toml")).unwrap()).unwrap();
    let state = rt.app_state();
    let app = jieneng::http::router(state.clone());
    let offline = Observations {
        meters: vec![("e1".into(), true, Some("no answer".into()))],
        bad_payloads: vec![],
    };
    for _ in 0..2 {
        let (s, seen) = (state.clone(), offline.clone());
        tokio::task::spawn_blocking(move || round(&s, &seen, Utc::now()).unwrap())
            .await
            .unwrap();
    }
    let (status, alerts) = call(&app, get("/api/v1/alerts")).await;
    assert_eq!(status, StatusCode::OK);
    let list = alerts.as_array().unwrap();
    let offline_alerts: Vec<_> = list
        .iter()
        .filter(|a| a["kind"] == "meter_offline")
        .collect();
    assert_eq!(offline_alerts.len(), 1, "seen twice, raised once: {alerts}");
    let alert = offline_alerts[0];
    assert_eq!(alert["count"], 2);
    assert_eq!(alert["subject"], "e1");
    let id = alert["id"].as_i64().unwrap();

    let (status, body) = call(
        &app,
        post(
            &format!("/api/v1/alerts/{id}/acknowledge"),
            serde_json::json!({"by": "王工", "note": "已派人检查"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "acknowledged");
    assert_eq!(body["acknowledged_by"], "王工");
    let (status, _) = call(
        &app,
        post(
            &format!("/api/v1/alerts/{id}/acknowledge"),
            serde_json::json!({"by": ""}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(
        &app,
        post("/api/v1/alerts/999/resolve", serde_json::json!({"by": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The meter answers again: the alert clears by itself.
    let online = Observations {
        meters: vec![("e1".into(), false, None)],
        bad_payloads: vec![],
    };
    let s = state.clone();
    tokio::task::spawn_blocking(move || round(&s, &online, Utc::now()).unwrap())
        .await
        .unwrap();
    let (_, open) = call(&app, get("/api/v1/alerts")).await;
    assert!(
        open.as_array()
            .unwrap()
            .iter()
            .all(|a| a["kind"] != "meter_offline"),
        "{open}"
    );
    let (_, all) = call(&app, get("/api/v1/alerts?since=2026-01-01")).await;
    let cleared = all
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(cleared["status"], "resolved");
    assert_eq!(cleared["resolved_by"], "system");
    rt.shutdown().await;
}
