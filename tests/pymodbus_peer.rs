//! Against an independent Modbus server (pymodbus), over Modbus TCP and RTU framing over TCP:
//! `jieneng probe` and the collector decode exactly what the golden files say. Runs when
//! JIENENG_IT_PYMODBUS=1 (CI installs pymodbus); otherwise it says it was skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jieneng::config::Site;
use jieneng::quantity::Quantity;
use jieneng::runtime::Runtime;

const TCP_UNITS: [&str; 3] = ["eastron-sdm630", "chint-dtsu666", "acrel-adl400"];
const RTU_UNITS: [&str; 2] = ["dynaflox-ultrad", "chint-ddsu666"];

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

fn start_server(framing: &str, profiles: &[&str]) -> (Server, u16) {
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
    let server = Server(child);
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
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
fn probe_decodes_pymodbus_over_tcp_and_rtu_over_tcp() {
    if !enabled() {
        return;
    }
    let (_tcp, tcp_port) = start_server("tcp", &TCP_UNITS);
    let (_rtu, rtu_port) = start_server("rtu", &RTU_UNITS);
    for (url, profiles) in [
        (format!("tcp://127.0.0.1:{tcp_port}"), &TCP_UNITS[..]),
        (format!("rtu-tcp://127.0.0.1:{rtu_port}"), &RTU_UNITS[..]),
    ] {
        for (i, profile) in profiles.iter().enumerate() {
            let got = probe(&url, i + 1, profile);
            let want = expected(profile);
            assert_eq!(
                got.keys().collect::<Vec<_>>(),
                want.keys().collect::<Vec<_>>(),
                "{profile}"
            );
            for (q, v) in &want {
                assert!(
                    close(got[q], *v),
                    "{profile} {q}: probe {} vs golden {v}",
                    got[q]
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_reads_pymodbus_into_the_store() {
    if !enabled() {
        return;
    }
    let (_tcp, tcp_port) = start_server("tcp", &TCP_UNITS);
    let (_rtu, rtu_port) = start_server("rtu", &RTU_UNITS);
    let dir = tempfile::tempdir().unwrap();
    let mut config = format!(
        "[site]\nname = \"peer\"\ndata_dir = \"{}\"\n[[units]]\nid = \"o\"\nname = \"o\"\nkind = \"organisation\"\n\
         [[connections]]\nid = \"tcp\"\nurl = \"tcp://127.0.0.1:{tcp_port}\"\n[[connections]]\nid = \"rtu\"\nurl = \"rtu-tcp://127.0.0.1:{rtu_port}\"\n",
        dir.path().display()
    );
    for (conn, profiles) in [("tcp", &TCP_UNITS[..]), ("rtu", &RTU_UNITS[..])] {
        for (i, p) in profiles.iter().enumerate() {
            config.push_str(&format!(
                "[[meters]]\nid = \"{p}\"\nname = \"{p}\"\nunit = \"o\"\ncategory = \"01000\"\nprofile = \"{p}\"\nconnection = \"{conn}\"\nslave_id = {}\nlive_interval_s = 1\n",
                i + 1
            ));
        }
    }
    let path = dir.path().join("jieneng.toml");
    std::fs::write(&path, config).unwrap();
    let rt = Runtime::start(Site::load(Path::new(&path)).unwrap()).unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    for p in TCP_UNITS.iter().chain(RTU_UNITS.iter()) {
        let live = rt.live.get(p).unwrap();
        assert_eq!(
            format!("{:?}", live.status),
            "Online",
            "{p}: {:?}",
            live.detail
        );
        for (q, v) in expected(p) {
            let got = *live
                .values
                .get(&Quantity::named(&q))
                .unwrap_or_else(|| panic!("{p}: no {q} collected; have {:?}", live.values.keys()));
            assert!(close(got, v), "{p} {q}: collected {got} vs golden {v}");
        }
    }
    let store = rt.store.clone();
    rt.shutdown().await;
    let latest = store
        .reader()
        .unwrap()
        .latest("acrel-adl400", Quantity::named("energy_import_kwh_valley"))
        .unwrap()
        .unwrap();
    assert!(close(
        latest.value,
        expected("acrel-adl400")["energy_import_kwh_valley"]
    ));
}
