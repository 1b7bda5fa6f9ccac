//! Alerts as engineers meet them: raised once by the detectors, seen again without a second
//! alert, acknowledged and resolved through the API, cleared when the condition goes away.

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use chrono::{DateTime, Duration, TimeZone, Timelike, Utc};
use common::{call, get, post};
use jieneng::alerting::round;
use jieneng::quantity::Quantity;
use jieneng::reading::{Reading, ReadingQuality};
use jieneng::rules::evaluate::Observations;
use jieneng::runtime::Runtime;
use jieneng::site::Site;

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
    let app = common::as_role(&state, jieneng::auth::Role::Admin);
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
    // The overview counts it among the open alerts, and the alerts page lists it.
    let page = |uri: &'static str| {
        let app = app.clone();
        async move {
            let res = tower::ServiceExt::oneshot(app, get(uri)).await.unwrap();
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 22)
                .await
                .unwrap();
            String::from_utf8(bytes.to_vec()).unwrap()
        }
    };
    let overview = page("/").await;
    assert!(
        overview.contains("未解决告警") && overview.contains(r#"<span class="bad">0</span> / 1"#),
        "one open warning, no critical: {overview}"
    );
    let alerts_page = page("/alerts").await;
    assert!(
        alerts_page.contains("表计离线") || alerts_page.contains("e1"),
        "{alerts_page}"
    );

    let (status, body) = call(
        &app,
        post(
            &format!("/api/v1/alerts/{id}/acknowledge"),
            serde_json::json!({"note": "已派人检查"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "acknowledged");
    assert_eq!(body["acknowledged_by"], "test-admin");
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
        post("/api/v1/alerts/999/resolve", serde_json::json!({})),
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

/// Minimum night flow against each meter's own nights: two dormitories that always use water at
/// night (3 m³/h from 0:00 to 5:00, 6 by day), one of them with a cistern running 1.5 m³/h since
/// two nights before the night judged, and a new meter with five days of a small steady flow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn water_leaks_stand_out_from_each_meters_usual_night_flow() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = format!(
        "[site]\nname = \"t\"\ndata_dir = \"{}\"\n[[units]]\nid = \"o\"\nname = \"o\"\nkind = \"organisation\"\n",
        dir.path().join("data").display()
    );
    for id in ["dorm-a", "dorm-b", "new"] {
        config.push_str(&format!(
            "[[meters]]\nid = \"{id}\"\nname = \"水表\"\nunit = \"o\"\ncategory = \"02000\"\nread_by_hand = \"water_m3\"\n"
        ));
    }
    std::fs::write(dir.path().join("jieneng.toml"), config).unwrap();
    let rt = Runtime::start(Site::load(&dir.path().join("jieneng.toml")).unwrap()).unwrap();
    let tz = chrono_tz::Asia::Shanghai;
    let local = |y, mo, d, h| tz.with_ymd_and_hms(y, mo, d, h, 0, 0).unwrap().to_utc();
    let now = local(2026, 11, 10, 8);
    let leak_from = local(2026, 11, 8, 0);
    // Register readings every 15 minutes: 70 days for the dormitories, 5 for the new meter.
    let series = |id: &str, from: DateTime<Utc>, rate: &dyn Fn(DateTime<Utc>) -> f64| {
        let (mut t, mut v, mut out) = (from, 100.0, Vec::new());
        while t <= now {
            out.push(Reading {
                meter: Arc::from(id),
                quantity: Quantity::named("water_m3"),
                time: t,
                value: v,
                quality: ReadingQuality::Measured,
            });
            v += rate(t) / 4.0;
            t += Duration::minutes(15);
        }
        out
    };
    let dorm = |t: DateTime<Utc>| match t.with_timezone(&tz).hour() {
        0..5 => 3.0,
        _ => 6.0,
    };
    let leaking = |t: DateTime<Utc>| dorm(t) + if t >= leak_from { 1.5 } else { 0.0 };
    let mut readings = series("dorm-a", now - Duration::days(70), &dorm);
    readings.extend(series("dorm-b", now - Duration::days(70), &leaking));
    readings.extend(series("new", local(2026, 11, 5, 0), &|_| 0.02));
    rt.store.writer().unwrap().write_batch(&readings).unwrap();

    let state = rt.app_state();
    let alerts = tokio::task::spawn_blocking(move || round(&state, &Observations::default(), now))
        .await
        .unwrap()
        .unwrap();
    let leaks: Vec<_> = alerts
        .iter()
        .filter(|a| a.kind == jieneng::rules::alert::AlertKind::WaterLeak)
        .collect();
    let subjects: Vec<&str> = leaks.iter().map(|a| a.subject.as_str()).collect();
    assert_eq!(subjects, ["dorm-b", "new"], "{alerts:?}");
    // The usual night minimum comes from the 56 nights before the one judged (two of them
    // leaking): 3, and the threshold 3 + 30% = 3.9.
    let b = leaks[0];
    assert_eq!(b.value, Some("4.5".parse().unwrap()));
    assert_eq!(b.threshold, Some("3.9".parse().unwrap()));
    assert!(
        b.message_zh
            .contains("常规夜间最小流量 3 m³/h（此前 56 晚夜间最小流量的第 25 百分位）"),
        "{}",
        b.message_zh
    );
    // Five nights of history, too few to compare with: the absolute rule alone.
    assert!(
        leaks[1].message_en.contains("only 5 nights"),
        "{}",
        leaks[1].message_en
    );
    rt.shutdown().await;
}
