//! `/metrics` after some collection, readings and requests: every family the operations
//! guide lists is there, with values that follow from what the test did.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use jieneng::quantity::Quantity;
use jieneng::reading::{Reading, ReadingQuality};
use jieneng::runtime::Runtime;
use jieneng::site::Site;

/// The value of the sample `name{labels}` (labels as written, in order), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn reading(meter: &str, quantity: &str, value: f64) -> Reading {
    Reading {
        meter: Arc::from(meter),
        quantity: Quantity::named(quantity),
        time: Utc::now() - chrono::Duration::seconds(10),
        value,
        quality: ReadingQuality::Measured,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_family_is_exported_with_plausible_values() {
    let dir = tempfile::tempdir().unwrap();
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead); // nothing listens there: the poller's connects fail
    let influx_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = format!(
        "[site]\nname = \"t\"\ndata_dir = \"{data}\"\n\
         [influx]\nurl = \"http://127.0.0.1:{influx_port}\"\norg = \"o\"\nbucket = \"b\"\nflush_ms = 100\nspool_dir = \"{spool}\"\n\
         [[units]]\nid = \"o\"\nname = \"o\"\nkind = \"organisation\"\n\
         [[connections]]\nid = \"gw\"\nurl = \"tcp://127.0.0.1:{dead_port}\"\n\
         [[meters]]\nid = \"polled\"\nname = \"p\"\nunit = \"o\"\ncategory = \"01000\"\nconnection = \"gw\"\nprofile = \"eastron-sdm120\"\nslave_id = 1\n\
         [[meters]]\nid = \"m1\"\nname = \"m1\"\nunit = \"o\"\ncategory = \"01000\"\nread_by_hand = \"energy_import_kwh\"\n",
        data = dir.path().join("data").display(),
        spool = dir.path().join("spool").display(),
    );
    let path = dir.path().join("jieneng.toml");
    std::fs::write(&path, config).unwrap();
    let mut rt = Runtime::start(Site::load(&path).unwrap_or_else(|e| panic!("{e}"))).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    rt.serve_http(listener);

    // Readings: three good ones, one for a meter nobody configured, one negative register.
    let rejected = rt
        .ingest
        .accept(vec![
            reading("m1", "energy_import_kwh", 10.0),
            reading("m1", "power_kw", 1.5),
            reading("polled", "power_kw", 2.5),
            reading("ghost", "power_kw", 1.0),
            reading("m1", "water_m3", -4.0),
        ])
        .await
        .unwrap();
    assert_eq!(rejected.len(), 2);
    rt.ingest.flush().await.unwrap();

    // Requests: three meter pages through the API (401 without a token), one unknown path.
    let http = reqwest::Client::new();
    for id in ["m1", "polled", "nope"] {
        let r = http
            .get(format!("{base}/api/v1/meters/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    assert!(
        http.get(format!("{base}/no/such/page"))
            .send()
            .await
            .unwrap()
            .status()
            .is_client_error()
    );
    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // The poller has tried its gateway and the sink its server by now.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let res = http.get(format!("{base}/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let v =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));

    // Build and process.
    assert_eq!(
        v(&format!(
            "jieneng_build_info{{version=\"{}\"}}",
            env!("CARGO_PKG_VERSION")
        )),
        1.0
    );
    let started = v("jieneng_start_time_seconds");
    assert!((Utc::now().timestamp() as f64 - started).abs() < 600.0);
    // Collectors: the dead gateway.
    assert!(v("jieneng_bus_connect_failures_total{connection=\"gw\"}") >= 1.0);
    // Ingest.
    assert_eq!(v("jieneng_ingest_accepted_readings_total"), 3.0);
    assert_eq!(
        v("jieneng_ingest_rejected_readings_total{reason=\"unknown_meter\"}"),
        1.0
    );
    assert_eq!(
        v("jieneng_ingest_rejected_readings_total{reason=\"negative_register\"}"),
        1.0
    );
    // Store.
    assert_eq!(v("jieneng_store_queue_readings"), 0.0);
    assert_eq!(
        v("jieneng_store_written_readings_total{kind=\"register\"}"),
        1.0
    );
    assert_eq!(
        v("jieneng_store_written_readings_total{kind=\"telemetry\"}"),
        2.0
    );
    assert!(v("jieneng_store_commit_seconds_count") >= 1.0);
    assert!(v("jieneng_store_commit_seconds_sum") > 0.0);
    assert_eq!(v("jieneng_store_write_failures_total"), 0.0);
    let db_bytes = v("jieneng_store_file_bytes{file=\"db\"}");
    assert!(db_bytes >= 4096.0, "{db_bytes}");
    let wal_bytes = v("jieneng_store_file_bytes{file=\"wal\"}");
    assert!(wal_bytes > 0.0, "{wal_bytes}");
    // The InfluxDB spool: nobody answers, so the batch waits on disk.
    assert!(v("jieneng_influx_spool_bytes") > 0.0);
    assert!(v("jieneng_influx_spool_segments") >= 1.0);
    assert!(v("jieneng_influx_write_failures_total") >= 1.0);
    assert_eq!(v("jieneng_influx_written_batches_total"), 0.0);
    assert_eq!(v("jieneng_influx_rejected_batches_total"), 0.0);
    // HTTP: by route template, method and status class; latency by route.
    assert_eq!(
        v(
            "jieneng_http_requests_total{route=\"/api/v1/meters/{id}\",method=\"GET\",status=\"4xx\"}"
        ),
        3.0
    );
    assert_eq!(
        v("jieneng_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"4xx\"}"),
        1.0
    );
    assert_eq!(
        v("jieneng_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"2xx\"}"),
        1.0
    );
    assert_eq!(
        v("jieneng_http_request_seconds_count{route=\"/api/v1/meters/{id}\"}"),
        3.0
    );
    assert!(v("jieneng_http_request_seconds_bucket{le=\"30.0\",route=\"/healthz\"}") >= 1.0);
    // Config: loaded at start, no reload yet.
    assert!(v("jieneng_config_last_reload_success_timestamp_seconds") >= started);
    // Meters by status (from the live state).
    assert_eq!(v("jieneng_meters{status=\"manual\"}"), 1.0);
    // No raw paths as labels.
    assert!(!text.contains("/api/v1/meters/nope"), "{text}");
    rt.shutdown().await;
}
