//! `jieneng simulate --protocol dlt645|cjt188` read by `jieneng probe`, both as the binary
//! runs them: a gateway with three meters behind it, one of them dead. The live meters give
//! every quantity of their profile with plausible values; the dead one leaves the probe with
//! "no answer"; a register read twice, 2 s apart, does not go down.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use jieneng::config::line_profile::LineProfileLibrary;

struct Running(Child);

impl Drop for Running {
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

/// Starts the simulator with three meters, the second dead, and waits for its first line.
fn simulate(protocol: &str, profile: &str, dead: &str) -> (Running, String) {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_jieneng"))
        .args([
            "simulate",
            "--protocol",
            protocol,
            "--profile",
            profile,
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--units",
            "3",
            "--dead",
            dead,
            "--latency-ms",
            "5",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("jieneng simulate");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with("simulating") && line.contains(&format!("rtu-tcp://127.0.0.1:{port}")),
        "{line}"
    );
    (Running(child), format!("rtu-tcp://127.0.0.1:{port}"))
}

struct Probe {
    ok: bool,
    values: BTreeMap<String, f64>,
    stderr: String,
}

fn probe(protocol: &str, profile: &str, url: &str, address: &str, timeout_ms: u64) -> Probe {
    let out = Command::new(env!("CARGO_BIN_EXE_jieneng"))
        .args([
            "probe",
            "--protocol",
            protocol,
            "--profile",
            profile,
            "--url",
            url,
            "--address",
            address,
            "--timeout-ms",
            &timeout_ms.to_string(),
            "--json",
        ])
        .output()
        .unwrap();
    let raw: BTreeMap<String, String> = serde_json::from_slice(&out.stdout).unwrap_or_default();
    Probe {
        ok: out.status.success(),
        values: raw
            .into_iter()
            .map(|(q, v)| {
                let n = v.parse().unwrap_or_else(|_| panic!("{q} = {v}"));
                (q, n)
            })
            .collect(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every quantity the profile reads.
fn quantities(profile: &str) -> Vec<String> {
    let p = LineProfileLibrary::builtin().resolve(profile).unwrap();
    p.values
        .iter()
        .flat_map(|v| v.quantities())
        .map(|q| q.name().to_string())
        .collect()
}

fn live(protocol: &str, profile: &str, url: &str, address: &str) -> BTreeMap<String, f64> {
    let p = probe(protocol, profile, url, address, 1500);
    assert!(p.ok, "{address}: {}", p.stderr);
    for q in quantities(profile) {
        assert!(
            p.values.contains_key(&q),
            "{address}: {q} missing: {:?}\n{}",
            p.values,
            p.stderr
        );
    }
    assert!(!p.stderr.contains("warning"), "{}", p.stderr);
    p.values
}

fn dead(protocol: &str, profile: &str, url: &str, address: &str) {
    let p = probe(protocol, profile, url, address, 300);
    assert!(!p.ok && p.values.is_empty(), "{:?}", p.values);
    assert!(p.stderr.contains("no answer within 300 ms"), "{}", p.stderr);
}

#[test]
fn dlt645_three_phase_meters_behind_a_gateway() {
    let profile = "dlt645-2007-three-phase";
    let (_sim, url) = simulate("dlt645", profile, "000000000002");
    for address in ["000000000001", "000000000003"] {
        let v = live("dlt645", profile, &url, address);
        assert!(v["energy_import_kwh"] > 0.0, "{v:?}");
        for phase in ["voltage_l1_v", "voltage_l2_v", "voltage_l3_v"] {
            assert!((220.0..=240.0).contains(&v[phase]), "{phase}: {v:?}");
        }
        assert!(v["power_kw"] > 0.0 && v["power_factor"] > 0.5, "{v:?}");
        assert!((49.5..=50.5).contains(&v["frequency_hz"]), "{v:?}");
        let tariffs: f64 = [
            "energy_import_kwh_sharp",
            "energy_import_kwh_peak",
            "energy_import_kwh_flat",
            "energy_import_kwh_valley",
        ]
        .iter()
        .map(|q| v[*q])
        .sum();
        assert!(tariffs > 0.0 && tariffs <= v["energy_import_kwh"], "{v:?}");
    }
    dead("dlt645", profile, &url, "000000000002");
    // Nobody at this address: silence, as on a real bus.
    dead("dlt645", profile, &url, "000000000004");

    // The register, read twice 2 s apart, does not go down.
    let first = live("dlt645", profile, &url, "000000000001")["energy_import_kwh"];
    std::thread::sleep(Duration::from_secs(2));
    let second = live("dlt645", profile, &url, "000000000001")["energy_import_kwh"];
    assert!(second >= first, "{first} then {second}");
}

#[test]
fn cjt188_cold_water_meters_behind_a_gateway() {
    let profile = "cjt188-cold-water";
    let (_sim, url) = simulate("cjt188", profile, "00000000000002");
    for address in ["00000000000001", "00000000000003"] {
        let v = live("cjt188", profile, &url, address);
        assert!(v["water_m3"] > 0.0, "{v:?}");
    }
    dead("cjt188", profile, &url, "00000000000002");
    let first = live("cjt188", profile, &url, "00000000000003")["water_m3"];
    std::thread::sleep(Duration::from_secs(2));
    let second = live("cjt188", profile, &url, "00000000000003")["water_m3"];
    assert!(second >= first, "{first} then {second}");
}

#[test]
fn cjt188_heat_meters_behind_a_gateway() {
    let profile = "cjt188-heat";
    let (_sim, url) = simulate("cjt188", profile, "00000000000002");
    for address in ["00000000000001", "00000000000003"] {
        let v = live("cjt188", profile, &url, address);
        assert!(v["heat_gj"] > 0.0, "{v:?}");
        let (supply, back) = (v["supply_temp_c"], v["return_temp_c"]);
        assert!(
            (40.0..=90.0).contains(&supply) && (20.0..supply).contains(&back),
            "{v:?}"
        );
        assert!(v["heat_power_kw"] >= 0.0 && v["flow_m3h"] >= 0.0, "{v:?}");
    }
    dead("cjt188", profile, &url, "00000000000002");
    let first = live("cjt188", profile, &url, "00000000000001")["heat_gj"];
    std::thread::sleep(Duration::from_secs(2));
    let second = live("cjt188", profile, &url, "00000000000001")["heat_gj"];
    assert!(second >= first, "{first} then {second}");
}
