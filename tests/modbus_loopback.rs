//! The collector against the project's own simulator over loopback: healthy meters are read on
//! schedule and stored, while a dead meter, one answering exceptions, one answering garbage
//! values and a gateway answering garbage bytes each get a status that says why.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use jieneng::cli::simulate::sim_unit;
use jieneng::config::{ProfileLibrary, Site};
use jieneng::ingest::MeterStatus;
use jieneng::quantity::Quantity;
use jieneng::runtime::Runtime;
use jieneng::sim::modbus_server::{Fault, serve};
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
    assert_ne!(junk.status, MeterStatus::Online);
    assert!(junk.detail.is_some());

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
