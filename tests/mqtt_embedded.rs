//! The MQTT collector against an embedded broker (no services needed): every payload format
//! yields exactly the readings its messages carry; bad messages are counted with their reason
//! and never stop the good ones.

use std::time::Duration;

use chrono::{DurationRound, Utc};
use jieneng::quantity::Quantity;
use jieneng::runtime::Runtime;
use jieneng::site::Site;
use rumqttc::{AsyncClient, MqttOptions, QoS};

const N: usize = 40;

fn config(dir: &std::path::Path, port: u16) -> String {
    let mut c = format!(
        r#"[site]
name = "mqtt test"
data_dir = "{}"
[[units]]
id = "o"
name = "o"
kind = "organisation"
[[connections]]
id = "broker"
url = "mqtt://127.0.0.1:{port}"
client_id = "jieneng-test-collector"
[[connections.subscriptions]]
topic = "tele/{{meter}}/SENSOR"
format = "tasmota"
[[connections.subscriptions]]
topic = "zigbee2mqtt/{{meter}}"
format = "zigbee2mqtt-plug"
[[connections.subscriptions]]
topic = "meters/{{meter}}/{{quantity}}"
format = "number"
[[connections.subscriptions]]
topic = "json/{{meter}}"
format = "jieneng-json"
[[connections.subscriptions]]
topic = "gw/{{gateway}}"
format = "jieneng-batch"
[[connections.subscriptions]]
topic = "shelly/{{meter}}/status/em:0"
format = "shelly-pro3em"
"#,
        dir.display()
    );
    let mut meter = |id: &str, name: &str| {
        c.push_str(&format!(
            "[[meters]]\nid = \"{id}\"\nname = \"{id}\"\nunit = \"o\"\ncategory = \"01000\"\nconnection = \"broker\"\nmqtt_name = \"{name}\"\n"
        ));
    };
    meter("plug-tasmota", "tasmota_1");
    meter("shelly", "pro3em");
    meter("number", "n1");
    meter("json", "j1");
    meter("batch-a", "batch-a");
    meter("batch-b", "batch-b");
    for i in 0..N {
        meter(&format!("zigbee-{i}"), &format!("zb_{i}"));
    }
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_payload_format_yields_exactly_its_readings() {
    let port = jieneng::sim::broker::start_embedded_broker().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jieneng.toml");
    std::fs::write(&path, config(dir.path(), port)).unwrap();
    let rt = Runtime::start(Site::load(&path).unwrap()).unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await; // connected and subscribed

    let mut opts = MqttOptions::new("test-publisher", "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut events) = AsyncClient::new(opts, 10_000);
    tokio::spawn(async move { while events.poll().await.is_ok() {} });
    // An hour ago, on the hour: inside the telemetry retention window whatever the date, and on
    // the 15-minute grid (the register thinning below counts intervals).
    let t0 = Utc::now()
        .duration_trunc(chrono::Duration::hours(1))
        .unwrap()
        - chrono::Duration::hours(1);
    for i in 0..N {
        let t = t0 + chrono::Duration::seconds(i as i64 * 60);
        let local = t
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .format("%Y-%m-%dT%H:%M:%S");
        let publish = |topic: String, payload: String| {
            let client = client.clone();
            async move {
                client
                    .publish(topic, QoS::AtLeastOnce, false, payload)
                    .await
                    .unwrap()
            }
        };
        publish(
            "tele/tasmota_1/SENSOR".into(),
            format!(
                r#"{{"Time":"{local}","ENERGY":{{"Total":{},"Power":{}}}}}"#,
                100 + i,
                1000 + i
            ),
        )
        .await;
        publish(
            format!("zigbee2mqtt/zb_{i}"),
            format!(r#"{{"power":{},"energy":{}}}"#, 10 + i, 5 + i),
        )
        .await;
        publish("meters/n1/power_kw".into(), format!("{}.5", i)).await;
        publish(
            "json/j1".into(),
            format!(r#"{{"time":"{}","power_kw":{i}}}"#, t.to_rfc3339()),
        )
        .await;
        publish(
            "gw/g1".into(),
            format!(
                r#"{{"readings":[{{"meter":"batch-a","quantity":"flow_m3h","value":{i},"time":"{0}"}},{{"meter":"batch-b","quantity":"flow_m3h","value":{i},"time":"{0}"}}]}}"#,
                t.to_rfc3339()
            ),
        )
        .await;
    }
    // Bad messages: not JSON, a wrong value, an unknown meter.
    client
        .publish(
            "tele/tasmota_1/SENSOR",
            QoS::AtLeastOnce,
            false,
            "\u{1}\u{2}not json",
        )
        .await
        .unwrap();
    client
        .publish("json/j1", QoS::AtLeastOnce, false, r#"{"power_kw":"lots"}"#)
        .await
        .unwrap();
    client
        .publish(
            "zigbee2mqtt/nobody",
            QoS::AtLeastOnce,
            false,
            r#"{"power":1}"#,
        )
        .await
        .unwrap();
    // A good message after the bad ones still counts.
    client
        .publish(
            "shelly/pro3em/status/em:0",
            QoS::AtLeastOnce,
            false,
            r#"{"id":0,"total_act_power":1500}"#,
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;

    let health = rt.health.clone();
    let live = rt.live.get("shelly").unwrap();
    assert_eq!(live.values.get(&Quantity::named("power_kw")), Some(&1.5));
    let store = rt.store.clone();
    rt.shutdown().await;

    let reader = store.reader().unwrap();
    let all = |m: &str, q: &str| {
        reader
            .readings(
                m,
                Quantity::named(q),
                t0 - chrono::Duration::days(1),
                Utc::now(),
            )
            .unwrap()
    };
    assert_eq!(all("plug-tasmota", "power_kw").len(), N, "tasmota power");
    // Registers are stored once per 15-minute interval: 40 minutes of messages → 3 intervals.
    assert_eq!(
        all("plug-tasmota", "energy_import_kwh").len(),
        3,
        "tasmota energy thinned to the energy grid"
    );
    assert_eq!(all("plug-tasmota", "power_kw")[5].value, 1.005);
    assert_eq!(all("number", "power_kw").len(), N, "number format");
    assert_eq!(all("json", "power_kw").len(), N, "canonical JSON");
    assert_eq!(all("batch-a", "flow_m3h").len(), N, "batch, meter a");
    assert_eq!(all("batch-b", "flow_m3h").len(), N, "batch, meter b");
    let zigbee: usize = (0..N)
        .map(|i| all(&format!("zigbee-{i}"), "power_kw").len())
        .sum();
    assert_eq!(zigbee, N, "zigbee plugs");

    let inputs = health.inputs();
    let bad = |topic: &str| {
        inputs
            .iter()
            .find(|s| s.topic == topic)
            .unwrap_or_else(|| panic!("no stats for {topic}"))
            .clone()
    };
    let tasmota = bad("tele/tasmota_1/SENSOR");
    assert_eq!((tasmota.messages, tasmota.bad), (N as u64 + 1, 1));
    let sample = tasmota.last_bad.unwrap();
    assert!(sample.reason.starts_with("not JSON"), "{}", sample.reason);
    assert!(sample.sample.contains("not json"));
    assert!(
        bad("json/j1")
            .last_bad
            .unwrap()
            .reason
            .contains("power_kw is not a number")
    );
    assert!(
        bad("zigbee2mqtt/nobody")
            .last_bad
            .unwrap()
            .reason
            .contains("unknown meter `nobody`")
    );
}
