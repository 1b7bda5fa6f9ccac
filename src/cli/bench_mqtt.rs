//! `jieneng bench mqtt`: messages per second from a local broker into the store, against the
//! broker's own ceiling on this machine (the same publisher with `mosquitto_sub` as the only
//! subscriber). Also line-protocol encoding and the InfluxDB spool's write and replay rates.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use rumqttc::{AsyncClient, MqttOptions, QoS};

use crate::energy::category::ELECTRICITY;
use crate::quantity::Quantity;
use crate::reading::{Reading, ReadingQuality};
use crate::runtime::Runtime;
use crate::site::Site;
use crate::store::influx::line::{MeterTags, encode};
use crate::store::influx::sink::gzip;
use crate::store::influx::spool::Spool;

#[derive(clap::Args, Clone)]
pub struct Args {
    /// Messages per run.
    #[arg(long, default_value_t = 200_000)]
    pub messages: usize,
    /// Meters the messages are spread over.
    #[arg(long, default_value_t = 2000)]
    pub meters: usize,
}

struct Broker(Option<std::process::Child>, u16);

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Mosquitto on a free port if it is installed, else the embedded broker.
fn start_broker(dir: &std::path::Path) -> anyhow::Result<(Broker, &'static str)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let conf = dir.join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 0\nuser root\n"
        ),
    )?;
    if let Ok(child) = std::process::Command::new("mosquitto")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if t.elapsed() > Duration::from_secs(10) {
                anyhow::bail!("mosquitto did not start");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        return Ok((Broker(Some(child), port), "mosquitto"));
    }
    Ok((
        Broker(None, crate::sim::broker::start_embedded_broker()?),
        "embedded rumqttd",
    ))
}

/// Publishes `n` canonical-JSON messages over `meters` topics at QoS 1, as fast as the broker
/// takes them; returns when the last one is handed to the client.
async fn publish(port: u16, n: usize, meters: usize) {
    let mut opts = MqttOptions::new(
        format!("bench-publisher-{}", std::process::id()),
        "127.0.0.1",
        port,
    );
    opts.set_keep_alive(Duration::from_secs(30))
        .set_inflight(1000);
    let (client, mut events) = AsyncClient::new(opts, 10_000);
    let poller = tokio::spawn(async move { while events.poll().await.is_ok() {} });
    let t0 = Utc::now().timestamp_millis() - 3_600_000;
    for i in 0..n {
        let payload = format!(
            r#"{{"time":{},"power_kw":{}.5}}"#,
            t0 + (i / meters) as i64,
            i % 100
        );
        let _ = client
            .publish(
                format!("bench/m{}", i % meters),
                QoS::AtLeastOnce,
                false,
                payload,
            )
            .await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    poller.abort();
}

async fn ceiling(port: u16, n: usize, meters: usize) -> anyhow::Result<f64> {
    let mut sub = tokio::process::Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-t",
            "bench/#",
            "-q",
            "1",
            "-C",
            &n.to_string(),
            "-i",
            "bench-ceiling",
        ])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| {
            anyhow::anyhow!("mosquitto_sub: {e} (install the mosquitto-clients package)")
        })?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t = Instant::now();
    tokio::spawn(publish(port, n, meters));
    tokio::time::timeout(Duration::from_secs(300), sub.wait()).await??;
    Ok(n as f64 / t.elapsed().as_secs_f64())
}

async fn jieneng_rate(
    port: u16,
    n: usize,
    meters: usize,
    dir: &std::path::Path,
) -> anyhow::Result<f64> {
    let mut c = format!(
        "[site]\nname = \"bench\"\ndata_dir = \"{}\"\n[[units]]\nid = \"o\"\nname = \"o\"\nkind = \"organisation\"\n\
         [[connections]]\nid = \"b\"\nurl = \"mqtt://127.0.0.1:{port}\"\nclient_id = \"bench-jieneng\"\nclean_session = true\n\
         [[connections.subscriptions]]\ntopic = \"bench/{{meter}}\"\nformat = \"jieneng-json\"\n",
        dir.join("data").display()
    );
    for m in 0..meters {
        c.push_str(&format!("[[meters]]\nid = \"m{m}\"\nname = \"m\"\nunit = \"o\"\ncategory = \"01000\"\nconnection = \"b\"\n"));
    }
    let path = dir.join("bench.toml");
    std::fs::write(&path, c)?;
    let rt = Runtime::start(Site::load(&path).map_err(|e| anyhow::anyhow!("{e}"))?)?;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let t = Instant::now();
    tokio::spawn(publish(port, n, meters));
    let reader = rt.store.reader()?;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let received: u64 = rt.health.inputs().iter().map(|s| s.messages).sum();
        if received as usize >= n || t.elapsed() > Duration::from_secs(300) {
            break;
        }
    }
    rt.ingest.flush().await?;
    let elapsed = t.elapsed().as_secs_f64();
    let (_, telemetry) = reader.counts()?;
    rt.shutdown().await;
    if (telemetry as usize) < n {
        anyhow::bail!("only {telemetry} of {n} readings stored");
    }
    Ok(n as f64 / elapsed)
}

fn line_protocol_and_spool(dir: &std::path::Path) -> anyhow::Result<(f64, f64, f64)> {
    let tags: std::collections::HashMap<Arc<str>, MeterTags> = (0..2000)
        .map(|i| {
            (
                Arc::from(format!("m{i}")),
                MeterTags {
                    unit: "u".into(),
                    building: "b".into(),
                    category: ELECTRICITY.into(),
                    extra: Arc::from(Vec::new()),
                },
            )
        })
        .collect();
    let meters: Vec<Arc<str>> = tags.keys().cloned().collect();
    let now = Utc::now();
    let readings: Vec<Reading> = (0..500_000)
        .map(|i| Reading {
            meter: meters[i % meters.len()].clone(),
            quantity: Quantity::named("power_kw"),
            time: now + chrono::Duration::milliseconds(i as i64),
            value: i as f64 * 0.5,
            quality: ReadingQuality::Measured,
        })
        .collect();
    let t = Instant::now();
    let mut batches = Vec::new();
    for chunk in readings.chunks(5000) {
        let mut out = Vec::new();
        encode(chunk, &tags, &mut out);
        batches.push(out);
    }
    let encode_rate = readings.len() as f64 / t.elapsed().as_secs_f64();
    let mut spool = Spool::open(&dir.join("spool"), u64::MAX)?;
    let t = Instant::now();
    for b in &batches {
        spool.append(&gzip(b))?;
    }
    let write_rate = readings.len() as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    while let Some(r) = spool.peek()? {
        spool.commit(&r)?;
    }
    let replay_rate = readings.len() as f64 / t.elapsed().as_secs_f64();
    Ok((encode_rate, write_rate, replay_rate))
}

pub async fn bench_mqtt(args: Args) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("jieneng-bench-mqtt-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (broker, kind) = start_broker(&dir)?;
    let ceiling = ceiling(broker.1, args.messages, args.meters).await?;
    let rate = jieneng_rate(broker.1, args.messages, args.meters, &dir).await?;
    drop(broker);
    let (encode_rate, spool_write, spool_replay) = line_protocol_and_spool(&dir)?;
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "mqtt: {} QoS 1 messages over {} topics through {kind}",
        args.messages, args.meters
    );
    println!("  broker ceiling (mosquitto_sub as the only subscriber): {ceiling:.0} msg/s");
    println!("  jieneng, decoded and stored: {rate:.0} msg/s");
    println!(
        "  line protocol encoding: {encode_rate:.0} readings/s; spool write {spool_write:.0} readings/s (gzip, fsync per 5,000-line batch); spool replay {spool_replay:.0} readings/s"
    );
    println!(
        "mqtt_msgs_per_s={rate:.0} target=30000 ceiling_msgs_per_s={ceiling:.0} ratio={:.2} target_ratio=0.80",
        rate / ceiling
    );
    Ok(())
}
