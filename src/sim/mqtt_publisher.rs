//! Simulated MQTT meters: publish what the demo's MQTT meters would, in their own payload
//! formats (Shelly Pro 3EM, Tasmota, Zigbee2MQTT, a batch gateway), at QoS 1.

use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::campus::DemoMeter;
use crate::quantity::Quantity;

fn v(m: &DemoMeter, q: &str, t: DateTime<Utc>) -> f64 {
    m.sim.value(Quantity::named(q), t)
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// The (topic, payload) messages one meter publishes at `t`. Batch meters return their item.
pub fn messages(m: &DemoMeter, t: DateTime<Utc>, tz: Tz) -> Vec<(String, Value)> {
    let Some(mq) = &m.mqtt else { return vec![] };
    match mq.format {
        "tasmota" => vec![(
            format!("tele/{}/SENSOR", mq.name),
            json!({
                "Time": t.with_timezone(&tz).format("%Y-%m-%dT%H:%M:%S").to_string(),
                "ENERGY": {
                    "Total": round(v(m, "energy_import_kwh", t), 3),
                    "Power": round(v(m, "power_kw", t) * 1000.0, 0),
                    "ApparentPower": round(v(m, "apparent_power_kva", t) * 1000.0, 0),
                    "ReactivePower": round(v(m, "reactive_power_kvar", t) * 1000.0, 0),
                    "Factor": round(v(m, "power_factor", t), 2),
                    "Voltage": round(v(m, "voltage_l1_v", t), 0),
                    "Current": round(v(m, "current_l1_a", t), 3),
                }
            }),
        )],
        "shelly-pro3em" => vec![
            (
                format!("{}/status/em:0", mq.name),
                json!({
                    "id": 0,
                    "a_current": round(v(m, "current_l1_a", t), 3), "a_voltage": round(v(m, "voltage_l1_v", t), 1),
                    "a_act_power": round(v(m, "power_l1_kw", t) * 1000.0, 1),
                    "b_current": round(v(m, "current_l2_a", t), 3), "b_voltage": round(v(m, "voltage_l2_v", t), 1),
                    "b_act_power": round(v(m, "power_l2_kw", t) * 1000.0, 1),
                    "c_current": round(v(m, "current_l3_a", t), 3), "c_voltage": round(v(m, "voltage_l3_v", t), 1),
                    "c_act_power": round(v(m, "power_l3_kw", t) * 1000.0, 1),
                    "total_act_power": round(v(m, "power_kw", t) * 1000.0, 1),
                    "total_aprt_power": round(v(m, "apparent_power_kva", t) * 1000.0, 1),
                }),
            ),
            (
                format!("{}/status/emdata:0", mq.name),
                json!({"id": 0, "total_act": round(v(m, "energy_import_kwh", t) * 1000.0, 2), "total_act_ret": 0.0}),
            ),
        ],
        "zigbee2mqtt-plug" => vec![(
            format!("zigbee2mqtt/{}", mq.name),
            json!({
                "state": "ON",
                "linkquality": 120,
                "power": round(v(m, "power_kw", t) * 1000.0, 1),
                "energy": round(v(m, "energy_import_kwh", t), 2),
                "voltage": round(v(m, "voltage_l1_v", t), 0),
                "current": round(v(m, "current_l1_a", t), 2),
            }),
        )],
        "jieneng-batch" => {
            let time = t.to_rfc3339_opts(SecondsFormat::Secs, true);
            vec![(
                String::new(),
                json!([
                    {"meter": mq.name, "quantity": "water_m3", "value": round(v(m, "water_m3", t), 3), "time": time},
                    {"meter": mq.name, "quantity": "flow_m3h", "value": round(v(m, "flow_m3h", t), 3), "time": time},
                ]),
            )]
        }
        _ => vec![],
    }
}

/// Publishes every `interval` until cancelled.
pub async fn run(
    meters: Vec<DemoMeter>,
    host: String,
    port: u16,
    interval: Duration,
    tz: Tz,
    cancel: CancellationToken,
) {
    let mut opts = MqttOptions::new(
        format!("jieneng-demo-meters-{}", std::process::id()),
        host,
        port,
    );
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut events) = AsyncClient::new(opts, 1024);
    let loop_cancel = cancel.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = loop_cancel.cancelled() => break,
                e = events.poll() => if e.is_err() { tokio::time::sleep(Duration::from_secs(1)).await },
            }
        }
    });
    let mut tick = tokio::time::interval(interval);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tick.tick() => {}
        }
        let now = Utc::now();
        let mut batch = Vec::new();
        for m in &meters {
            for (topic, payload) in messages(m, now, tz) {
                if topic.is_empty() {
                    if let Value::Array(items) = payload {
                        batch.extend(items);
                    }
                    continue;
                }
                let _ = client
                    .publish(topic, QoS::AtLeastOnce, false, payload.to_string())
                    .await;
            }
        }
        if !batch.is_empty() {
            let payload = json!({ "readings": batch }).to_string();
            let _ = client
                .publish(
                    "gateways/water-gw-1/readings",
                    QoS::AtLeastOnce,
                    false,
                    payload,
                )
                .await;
        }
    }
}
