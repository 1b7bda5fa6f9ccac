//! SIGHUP: `jieneng serve` re-reads its config. A valid one is applied without stopping
//! collection — only the collector whose connection or meters changed restarts, a new meter is
//! collected and shown — and what needs a restart is logged and left as it runs; an invalid one
//! is logged with FILE:LINE and changes nothing.

mod service;

use std::time::Duration;

use service::{Service, free_port, token};

fn simulator(port: u16, units: &str) -> std::process::Child {
    let child = std::process::Command::new(service::EXE)
        .args(["simulate", "--profile", "eastron-sdm120", "--units", units])
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "simulator did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

struct Killed(std::process::Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn config(data: &std::path::Path, listen: u16, gw1: u16, gw2: u16, extra: &str) -> String {
    format!(
        "[site]\nname = \"t\"\ndata_dir = \"{}\"\n[http]\nlisten = \"127.0.0.1:{listen}\"\n\
         [[units]]\nid = \"o\"\nname = \"o\"\nkind = \"organisation\"\n\
         [[connections]]\nid = \"gw1\"\nurl = \"tcp://127.0.0.1:{gw1}\"\n\
         [[connections]]\nid = \"gw2\"\nurl = \"tcp://127.0.0.1:{gw2}\"\n\
         [[meters]]\nid = \"a\"\nname = \"a\"\nunit = \"o\"\ncategory = \"01000\"\nconnection = \"gw1\"\nprofile = \"eastron-sdm120\"\nslave_id = 1\nlive_interval_s = 1\n\
         [[meters]]\nid = \"b\"\nname = \"b\"\nunit = \"o\"\ncategory = \"01000\"\nconnection = \"gw2\"\nprofile = \"eastron-sdm120\"\nslave_id = 1\nlive_interval_s = 1\n{extra}",
        data.display()
    )
}

async fn meter(base: &str, token: &str, id: &str) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .get(format!("{base}/api/v1/meters/{id}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or_default())
}

/// Waits until meter `id` has live values (10 s at most).
async fn collected(base: &str, token: &str, id: &str) -> serde_json::Value {
    let t = std::time::Instant::now();
    loop {
        let (status, body) = meter(base, token, id).await;
        if status == 200 && body["status"] == "online" {
            return body;
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "meter {id} not collected: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn metrics_text(base: &str) -> String {
    reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {series}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_a_valid_config_live_and_ignores_an_invalid_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (gw1, gw2, port) = (free_port(), free_port(), free_port());
    let _sim1 = Killed(simulator(gw1, "1"));
    let _sim2 = Killed(simulator(gw2, "1-2"));
    let path = dir.path().join("jieneng.toml");
    std::fs::write(&path, config(&data, port, gw1, gw2, "")).unwrap();
    let token = token(&path, "engineer");
    let log = dir.path().join("serve.log");
    let mut svc = Service::start(&path, port, &log, &[]);
    svc.ready().await;
    collected(&svc.base, &token, "a").await;
    collected(&svc.base, &token, "b").await;
    assert_eq!(meter(&svc.base, &token, "c").await.0, 404);

    // A new meter on gw2 and a hand-read one; the listen address changed too.
    let other_port = free_port();
    let added = "[[meters]]\nid = \"c\"\nname = \"c\"\nunit = \"o\"\ncategory = \"01000\"\nconnection = \"gw2\"\nprofile = \"eastron-sdm120\"\nslave_id = 2\nlive_interval_s = 1\n\
                 [[meters]]\nid = \"gas\"\nname = \"gas\"\nunit = \"o\"\ncategory = \"03000\"\nread_by_hand = \"gas_m3\"\n";
    std::fs::write(&path, config(&data, other_port, gw1, gw2, added)).unwrap();
    let requests_before = {
        let m = metrics_text(&svc.base).await;
        metric(&m, "jieneng_bus_connects_total{connection=\"gw1\"}")
    };
    svc.signal("HUP");
    let log_text = svc
        .wait_for_log("config reloaded", Duration::from_secs(30))
        .await;
    let line = log_text
        .lines()
        .find(|l| l.contains("config reloaded"))
        .unwrap();
    assert!(line.contains("meters_added=c,gas"), "{line}");
    assert!(line.contains("collectors_restarted=modbus:gw2"), "{line}");
    assert!(line.contains("collectors_unchanged=1"), "{line}");
    assert!(
        log_text.contains("applied only by a restart") && log_text.contains("http.listen"),
        "{log_text}"
    );
    // The meters added are in the audit log, before and after, as a config change.
    let audit: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/api/v1/audit", svc.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let change = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "config.meters" && a["note"] == "changed in the config file")
        .unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(change["before"].as_array().unwrap().len(), 2, "{change}");
    assert_eq!(change["after"].as_array().unwrap().len(), 4, "{change}");
    // Collected and shown without a restart, on the address it already had.
    let c = collected(&svc.base, &token, "c").await;
    assert_eq!(c["unit"], "o", "{c}");
    assert_eq!(meter(&svc.base, &token, "gas").await.0, 200);
    assert!(std::net::TcpStream::connect(("127.0.0.1", other_port)).is_err());
    // gw1 was left alone: it did not reconnect.
    let m = metrics_text(&svc.base).await;
    assert_eq!(
        metric(&m, "jieneng_bus_connects_total{connection=\"gw1\"}"),
        requests_before
    );
    assert_eq!(
        metric(&m, "jieneng_config_reloads_total{result=\"applied\"}"),
        1.0
    );

    // An invalid config: logged with its place, nothing changes.
    let broken = config(&data, other_port, gw1, gw2, added).replace(
        "unit = \"o\"\ncategory = \"03000\"",
        "unit = \"nowhere\"\ncategory = \"03000\"",
    );
    std::fs::write(&path, broken).unwrap();
    svc.signal("HUP");
    let log_text = svc
        .wait_for_log("config not reloaded", Duration::from_secs(30))
        .await;
    let problem = log_text
        .lines()
        .find(|l| l.contains("config reload refused"))
        .unwrap_or_else(|| panic!("{log_text}"));
    assert!(
        problem.contains(&format!("{}:", path.display())) && problem.contains("nowhere"),
        "{problem}"
    );
    assert!(svc.child.try_wait().unwrap().is_none(), "it stopped");
    collected(&svc.base, &token, "c").await;
    assert_eq!(meter(&svc.base, &token, "gas").await.0, 200);
    let m = metrics_text(&svc.base).await;
    assert_eq!(
        metric(&m, "jieneng_config_reloads_total{result=\"invalid\"}"),
        1.0
    );

    // And it still stops cleanly, a live page open or not.
    let live = reqwest::Client::new()
        .get(format!("{}/api/v1/live", svc.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    let status = svc.stop(Duration::from_secs(30));
    assert!(status.success(), "{status}");
    let log_text = svc.log_text();
    assert!(
        log_text.contains("every accepted reading is in the store"),
        "{log_text}"
    );
    drop(live);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_and_version() {
    let version = std::process::Command::new(service::EXE)
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("jieneng {}", env!("CARGO_PKG_VERSION"))
    );

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let path = dir.path().join("jieneng.toml");
    std::fs::write(&path, service::manual_site(dir.path(), port, 1)).unwrap();
    let log = dir.path().join("serve.log");
    let mut svc = Service::start(&path, port, &log, &["--log-json"]);
    svc.ready().await;
    svc.signal("HUP");
    svc.wait_for_log("config reloaded: no changes", Duration::from_secs(30))
        .await;
    assert!(svc.stop(Duration::from_secs(30)).success());
    let text = svc.log_text();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let serving = lines
        .iter()
        .find(|l| l["fields"]["message"] == "jieneng serving")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(serving["level"], "INFO");
    assert_eq!(serving["fields"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(serving["timestamp"].is_string());
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "stopped; every accepted reading is in the store")
    );
}
