//! Against an independent Modbus server (pymodbus), over Modbus TCP and RTU framing over TCP:
//! `jieneng probe` and the collector decode exactly what the golden files say. Runs when
//! JIENENG_IT_PYMODBUS=1 (CI installs pymodbus); otherwise it says it was skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jieneng::quantity::Quantity;
use jieneng::runtime::Runtime;
use jieneng::site::Site;

/// Every built-in profile: each golden file becomes one unit of the server, so every word and
/// byte order the profiles use is exercised end to end.
fn all_profiles() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("devices"))
        .unwrap()
        .filter_map(|e| {
            let path = e.ok()?.path();
            let toml = path.extension().is_some_and(|x| x == "toml");
            toml.then(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()))?
        })
        .collect();
    names.sort();
    names
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn enabled() -> bool {
    if std::env::var("JIENENG_IT_PYMODBUS").is_ok_and(|v| v == "1") {
        return true;
    }
    eprintln!("skipped: set JIENENG_IT_PYMODBUS=1 to run against pymodbus");
    false
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server(framing: &str, profiles: &[String]) -> (Server, u16) {
    let port = free_port();
    let mut cmd = Command::new("python3");
    cmd.arg(root().join("tests/peers/pymodbus_server.py"))
        .arg(port.to_string())
        .arg(framing);
    for p in profiles {
        cmd.arg(root().join(format!("tests/devices/{p}.toml")));
    }
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with pymodbus");
    let mut server = Server(child);
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!(
                "pymodbus exited with {status} (run tests/peers/pymodbus_server.py by hand to see why)"
            );
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "pymodbus did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, port)
}

fn expected(profile: &str) -> BTreeMap<String, f64> {
    let text =
        std::fs::read_to_string(root().join(format!("tests/devices/{profile}.toml"))).unwrap();
    let golden: toml::Table = toml::from_str(&text).unwrap();
    golden["expected"]
        .as_table()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_float().or(v.as_integer().map(|i| i as f64)).unwrap(),
            )
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1e-9)
}

fn probe(url: &str, unit: usize, profile: &str) -> BTreeMap<String, f64> {
    let out = Command::new(env!("CARGO_BIN_EXE_jieneng"))
        .args([
            "probe",
            "--url",
            url,
            "--unit",
            &unit.to_string(),
            "--profile",
            profile,
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "probe {profile} at {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn probe_decodes_every_profile_from_pymodbus_over_tcp_and_rtu_over_tcp() {
    if !enabled() {
        return;
    }
    let profiles = all_profiles();
    let (_tcp, tcp_port) = start_server("tcp", &profiles);
    let (_rtu, rtu_port) = start_server("rtu", &profiles);
    for url in [
        format!("tcp://127.0.0.1:{tcp_port}"),
        format!("rtu-tcp://127.0.0.1:{rtu_port}"),
    ] {
        for (i, profile) in profiles.iter().enumerate() {
            let got = probe(&url, i + 1, profile);
            let want = expected(profile);
            assert_eq!(
                got.keys().collect::<Vec<_>>(),
                want.keys().collect::<Vec<_>>(),
                "{profile} at {url}"
            );
            for (q, v) in &want {
                assert!(
                    close(got[q], *v),
                    "{profile} {q} at {url}: probe {} vs golden {v}",
                    got[q]
                );
            }
        }
    }
}

#[test]
fn scan_finds_the_units_that_answer() {
    if !enabled() {
        return;
    }
    let profiles: Vec<String> = all_profiles().into_iter().take(3).collect();
    let (_rtu, port) = start_server("rtu", &profiles);
    let out = Command::new(env!("CARGO_BIN_EXE_jieneng"))
        .args([
            "scan",
            "--url",
            &format!("rtu-tcp://127.0.0.1:{port}"),
            "--units",
            "1-6",
            "--timeout-ms",
            "200",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n2\n3\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_reads_pymodbus_and_a_dead_unit_does_not_stall_the_bus() {
    if !enabled() {
        return;
    }
    let profiles = all_profiles();
    let (_tcp, tcp_port) = start_server("tcp", &profiles);
    let (_rtu, rtu_port) = start_server("rtu", &profiles);
    let dir = tempfile::tempdir().unwrap();
    let mut config = format!(
        "[site]\nname = \"peer\"\ndata_dir = \"{}\"\n[[units]]\nid = \"o\"\nname = \"o\"\nkind = \"organisation\"\n\
         [[connections]]\nid = \"tcp\"\nurl = \"tcp://127.0.0.1:{tcp_port}\"\ntimeout_ms = 300\n\
         [[connections]]\nid = \"rtu\"\nurl = \"rtu-tcp://127.0.0.1:{rtu_port}\"\ntimeout_ms = 300\n",
        dir.path().display()
    );
    let meter = |id: &str, p: &str, conn: &str, unit: usize| {
        format!(
            "[[meters]]\nid = \"{id}\"\nname = \"{id}\"\nunit = \"o\"\ncategory = \"01000\"\nprofile = \"{p}\"\nconnection = \"{conn}\"\nslave_id = {unit}\nlive_interval_s = 1\n"
        )
    };
    for (i, p) in profiles.iter().enumerate() {
        config.push_str(&meter(&format!("tcp-{p}"), p, "tcp", i + 1));
        config.push_str(&meter(&format!("rtu-{p}"), p, "rtu", i + 1));
    }
    // A unit nobody answers for, on the RTU bus.
    config.push_str(&meter("rtu-dead", "eastron-sdm630", "rtu", 200));
    let path = dir.path().join("jieneng.toml");
    std::fs::write(&path, config).unwrap();
    let started = chrono::Utc::now();
    let rt = Runtime::start(Site::load(Path::new(&path)).unwrap()).unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    for p in &profiles {
        for id in [format!("tcp-{p}"), format!("rtu-{p}")] {
            let live = rt.live.get(&id).unwrap();
            assert_eq!(
                format!("{:?}", live.status),
                "Online",
                "{id}: {:?}",
                live.detail
            );
            for (q, v) in expected(p) {
                let got = *live.values.get(&Quantity::named(&q)).unwrap_or_else(|| {
                    panic!("{id}: no {q} collected; have {:?}", live.values.keys())
                });
                assert!(close(got, v), "{id} {q}: collected {got} vs golden {v}");
            }
        }
    }
    let dead = rt.live.get("rtu-dead").unwrap();
    assert_eq!(format!("{:?}", dead.status), "Offline");
    assert!(
        dead.detail
            .as_deref()
            .unwrap_or("")
            .contains("no answer within 300 ms"),
        "{:?}",
        dead.detail
    );
    let health = rt.health.device_health("rtu-dead", "rtu");
    assert!(
        health.errors.get("timeout").copied().unwrap_or(0) >= 2,
        "{health:?}"
    );
    let store = rt.store.clone();
    rt.shutdown().await;

    // The live meters on the RTU bus kept their 1-second schedule despite the dead unit.
    let reader = store.reader().unwrap();
    for p in &profiles {
        let Some(q) = ["power_kw", "voltage_l1_v", "flow_m3h"]
            .iter()
            .map(|q| Quantity::named(q))
            .find(|q| expected(p).contains_key(q.name()))
        else {
            continue;
        };
        let times: Vec<_> = reader
            .readings(&format!("rtu-{p}"), q, started, chrono::Utc::now())
            .unwrap()
            .into_iter()
            .map(|r| r.time)
            .collect();
        assert!(
            times.len() >= 4,
            "rtu-{p}: {} readings of {q} in 6 s",
            times.len()
        );
        let worst = times
            .windows(2)
            .map(|w| (w[1] - w[0]).num_milliseconds())
            .max()
            .unwrap();
        assert!(worst < 2_000, "rtu-{p}: {worst} ms between polls");
    }
}

/// Serial RTU: pymodbus on one end of a pseudo-terminal pair (socat), jieneng on the other.
#[test]
fn probe_reads_pymodbus_over_a_serial_line() {
    if !enabled() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (ours, theirs) = (dir.path().join("ttyA"), dir.path().join("ttyB"));
    let socat = Server(
        Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", ours.display()))
            .arg(format!("pty,raw,echo=0,link={}", theirs.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("socat"),
    );
    let t = Instant::now();
    while !(ours.exists() && theirs.exists()) {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "socat made no pty pair"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let profiles = vec!["chint-dtsu666".to_string(), "eastron-sdm120".to_string()];
    let mut cmd = Command::new("python3");
    cmd.arg(root().join("tests/peers/pymodbus_server.py"))
        .arg(&theirs)
        .arg("serial");
    for p in &profiles {
        cmd.arg(root().join(format!("tests/devices/{p}.toml")));
    }
    let _server = Server(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_secs(2));
    let url = format!("rtu://{}?baud=9600", ours.display());
    for (i, p) in profiles.iter().enumerate() {
        let got = probe(&url, i + 1, p);
        for (q, v) in expected(p) {
            assert!(close(got[&q], v), "{p} {q} over serial: {} vs {v}", got[&q]);
        }
    }
    drop(socat);
}

#[test]
fn scan_finds_the_pymodbus_units_over_tcp_and_rtu_over_tcp() {
    if !enabled() {
        return;
    }
    let profiles: Vec<String> = all_profiles().into_iter().take(3).collect();
    let (_tcp, tcp_port) = start_server("tcp", &profiles);
    let (_rtu, rtu_port) = start_server("rtu", &profiles);
    for url in [
        format!("tcp://127.0.0.1:{tcp_port}"),
        format!("rtu-tcp://127.0.0.1:{rtu_port}"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_jieneng"))
            .args([
                "scan",
                "--url",
                &url,
                "--units",
                "1-6",
                "--timeout-ms",
                "200",
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n2\n3\n", "{url}");
    }
}
