//! The collector against the project's own simulator over loopback: healthy meters are read on
//! schedule and stored, while a dead meter, one answering exceptions, one answering garbage
//! values and a gateway answering garbage bytes each get a status that says why.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use jieneng::cli::simulate::sim_unit;
use jieneng::config::ProfileLibrary;
use jieneng::ingest::MeterStatus;
use jieneng::quantity::Quantity;
use jieneng::runtime::Runtime;
use jieneng::sim::modbus_server::{Fault, serve};
use jieneng::site::Site;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_modbus::ExceptionCode;
use tokio_util::sync::CancellationToken;

/// A "gateway" that answers every request with junk bytes.
async fn garbage_server(listener: TcpListener) {
    while let Ok((mut s, _)) = listener.accept().await {
        tokio::spawn(async move {
            let mut buf = [0u8; 256];
            while let Ok(n) = s.read(&mut buf).await {
                if n == 0
                    || s.write_all(&[0x13, 0x37, 0, 0, 0, 3, 0xFF, 0xEE, 0xDD])
                        .await
                        .is_err()
                {
                    break;
                }
            }
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthy_meters_keep_their_schedule_next_to_faulty_ones() {
    let lib = ProfileLibrary::builtin();
    let sdm630 = lib.get("eastron-sdm630").unwrap();
    let water = lib.get("dynaflox-ultrad").unwrap();
    let mut units = HashMap::new();
    units.insert(1, sim_unit(&sdm630, 1));
    units.insert(2, sim_unit(&water, 2));
    let mut exc = sim_unit(&sdm630, 3);
    exc.fault = Some(Fault::Exception(ExceptionCode::IllegalDataAddress));
    units.insert(3, exc);
    let mut garbage = sim_unit(&sdm630, 4);
    garbage.fault = Some(Fault::Garbage);
    units.insert(4, garbage);
    // Unit 5 is configured but nobody answers for it.
    let cancel = CancellationToken::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(serve(listener, units, cancel.clone()));
    let junk = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let junk_port = junk.local_addr().unwrap().port();
    tokio::spawn(garbage_server(junk));

    let dir = tempfile::tempdir().unwrap();
    let meter = |id: &str, profile: &str, conn: &str, slave: u8| {
        format!(
            "[[meters]]\nid = \"{id}\"\nname = \"{id}\"\nunit = \"b\"\ncategory = \"01000\"\nprofile = \"{profile}\"\nconnection = \"{conn}\"\nslave_id = {slave}\nlive_interval_s = 1\n"
        )
    };
    let config = format!(
        "[site]\nname = \"t\"\ndata_dir = \"{}\"\n[[units]]\nid = \"o\"\nname = \"o\"\nkind = \"organisation\"\n[[units]]\nid = \"b\"\nname = \"b\"\nkind = \"building\"\nparent = \"o\"\n\
         [[connections]]\nid = \"gw\"\nurl = \"tcp://127.0.0.1:{port}\"\ntimeout_ms = 300\n\
         [[connections]]\nid = \"junk\"\nurl = \"tcp://127.0.0.1:{junk_port}\"\ntimeout_ms = 300\n{}{}{}{}{}{}",
        dir.path().display(),
        meter("ok", "eastron-sdm630", "gw", 1),
        meter("water", "dynaflox-ultrad", "gw", 2),
        meter("exception", "eastron-sdm630", "gw", 3),
        meter("garbage", "eastron-sdm630", "gw", 4),
        meter("dead", "eastron-sdm630", "gw", 5),
        meter("junk", "eastron-sdm630", "junk", 1),
    );
    let path = dir.path().join("jieneng.toml");
    std::fs::write(&path, config).unwrap();
    let site = Site::load(&path).unwrap();
    let started = Utc::now();
    let rt = Runtime::start(site).unwrap();
    tokio::time::sleep(Duration::from_secs(7)).await;

    let status = |id: &str| rt.live.get(id).unwrap();
    let ok = status("ok");
    assert_eq!(ok.status, MeterStatus::Online, "{:?}", ok.detail);
    let v = ok.values[&Quantity::named("voltage_l1_v")];
    assert!((220.0..240.0).contains(&v), "voltage {v}");
    assert!(
        ok.values
            .contains_key(&Quantity::named("energy_import_kwh"))
    );
    assert_eq!(status("water").status, MeterStatus::Online);

    let exception = status("exception");
    assert_eq!(exception.status, MeterStatus::Error);
    assert!(
        exception
            .detail
            .as_deref()
            .unwrap()
            .contains("illegal data address"),
        "{:?}",
        exception.detail
    );
    let garbage = status("garbage");
    assert_eq!(garbage.status, MeterStatus::Error);
    assert!(
        garbage.detail.as_deref().unwrap().contains("not a number"),
        "{:?}",
        garbage.detail
    );
    let dead = status("dead");
    assert_eq!(dead.status, MeterStatus::Offline);
    assert!(
        dead.detail
            .as_deref()
            .unwrap()
            .contains("no answer within 300 ms"),
        "{:?}",
        dead.detail
    );
    let junk = status("junk");
    assert_eq!(junk.status, MeterStatus::Error, "{:?}", junk.detail);
    assert!(
        junk.detail.as_deref().unwrap().contains("garbled answer"),
        "{:?}",
        junk.detail
    );
    assert!(rt.health.device_health("junk", "junk").errors["garbage"] >= 1);
    assert!(rt.health.device_health("dead", "gw").errors["timeout"] >= 2);
    assert!(rt.health.device_health("ok", "gw").requests >= 5);

    let store = rt.store.clone();
    rt.shutdown().await;
    cancel.cancel();

    // The healthy meter was polled every second despite the dead one on the same bus.
    let power = store
        .reader()
        .unwrap()
        .readings("ok", Quantity::named("power_kw"), started, Utc::now())
        .unwrap();
    assert!(
        power.len() >= 5,
        "only {} power readings in 7 s",
        power.len()
    );
    let worst_gap = power
        .windows(2)
        .map(|w| (w[1].time - w[0].time).num_milliseconds())
        .max()
        .unwrap();
    assert!(
        worst_gap < 2_500,
        "a {worst_gap} ms gap between polls of a healthy meter"
    );
    let energy = store
        .reader()
        .unwrap()
        .readings(
            "ok",
            Quantity::named("energy_import_kwh"),
            started,
            Utc::now(),
        )
        .unwrap();
    assert!(!energy.is_empty(), "energy registers are read at start");
}

/// The same over RTU framing through a simulated RS-485 gateway with a 20 ms turnaround: the
/// dead unit costs its timeouts, then back-off keeps it out of the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rtu_gateway_with_a_dead_unit_keeps_the_others_on_schedule() {
    use jieneng::sim::modbus_server::{ServerOptions, serve_with};
    let lib = ProfileLibrary::builtin();
    let dtsu = lib.get("chint-dtsu666").unwrap();
    let mut units = HashMap::new();
    for u in 1..=4 {
        units.insert(u, sim_unit(&dtsu, u));
    }
    units.get_mut(&2).unwrap().fault = Some(Fault::Silent);
    let cancel = CancellationToken::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let options = ServerOptions {
        rtu_over_tcp: true,
        turnaround: Duration::from_millis(20),
        baud: None,
    };
    tokio::spawn(serve_with(listener, units, options, cancel.clone()));

    let dir = tempfile::tempdir().unwrap();
    let mut config = format!(
        "[site]\nname = \"t\"\ndata_dir = \"{}\"\n[[units]]\nid = \"o\"\nname = \"o\"\nkind = \"organisation\"\n\
         [[connections]]\nid = \"gw\"\nurl = \"rtu-tcp://127.0.0.1:{port}\"\ntimeout_ms = 250\n",
        dir.path().display()
    );
    for u in 1..=4 {
        config.push_str(&format!(
            "[[meters]]\nid = \"m{u}\"\nname = \"m{u}\"\nunit = \"o\"\ncategory = \"01000\"\nprofile = \"chint-dtsu666\"\nconnection = \"gw\"\nslave_id = {u}\nlive_interval_s = 1\nmultiplier = 40\n"
        ));
    }
    let path = dir.path().join("jieneng.toml");
    std::fs::write(&path, config).unwrap();
    let started = Utc::now();
    let rt = Runtime::start(Site::load(&path).unwrap()).unwrap();
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(rt.live.get("m2").unwrap().status, MeterStatus::Offline);
    // Two tries, then back-off: far fewer than one attempt per second.
    let dead = rt.health.device_health("m2", "gw");
    assert!(
        dead.requests <= 5,
        "the dead unit was asked {} times in 8 s",
        dead.requests
    );
    let store = rt.store.clone();
    rt.shutdown().await;
    cancel.cancel();
    for m in ["m1", "m3", "m4"] {
        let times: Vec<_> = store
            .reader()
            .unwrap()
            .readings(m, Quantity::named("power_kw"), started, Utc::now())
            .unwrap()
            .into_iter()
            .map(|r| r.time)
            .collect();
        assert!(times.len() >= 6, "{m}: {} polls in 8 s", times.len());
        let worst = times
            .windows(2)
            .map(|w| (w[1] - w[0]).num_milliseconds())
            .max()
            .unwrap();
        assert!(worst < 1_700, "{m}: {worst} ms between polls");
    }
}

/// `jieneng scan` lists the units that answer, and not the silent one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_lists_the_units_that_answer() {
    use jieneng::sim::modbus_server::{ServerOptions, serve_with};
    let lib = ProfileLibrary::builtin();
    let sdm = lib.get("eastron-sdm120").unwrap();
    let mut units = HashMap::new();
    for u in [1, 3, 7] {
        units.insert(u, sim_unit(&sdm, u));
    }
    units.get_mut(&3).unwrap().fault = Some(Fault::Silent);
    units.get_mut(&7).unwrap().fault = Some(Fault::Exception(ExceptionCode::IllegalFunction));
    let cancel = CancellationToken::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(serve_with(
        listener,
        units,
        ServerOptions {
            rtu_over_tcp: true,
            ..Default::default()
        },
        cancel.clone(),
    ));
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_jieneng"))
        .args([
            "scan",
            "--url",
            &format!("rtu-tcp://127.0.0.1:{port}"),
            "--units",
            "1-8",
            "--timeout-ms",
            "150",
        ])
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n7\n");
    cancel.cancel();
}
