//! The MQTT client: one task per broker. It subscribes with a persistent session at QoS 1,
//! decodes each message with its subscription's payload format, hands the readings to ingest,
//! and acknowledges the message only once the store has committed them, so the broker
//! redelivers anything not yet stored (a crash or kill -9 loses no message).
//! Commits are awaited in a pipeline — one store flush in flight, covering every message taken
//! in before it — so acks trail the messages by one store transaction.
//!
//! Cumulative registers arrive with every message (every few seconds); they are stored once
//! per energy interval — the first reading after each boundary — like the Modbus collector
//! does, while the live values follow every message.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use super::payload::decode;
use super::topic::fill;
use crate::config::mqtt::Broker;
use crate::config::payload::PayloadKind;
use crate::health::Health;
use crate::ingest::{Ingest, MeterStatus};
use crate::quantity::Quantity;
use crate::reading::{Reading, ReadingQuality};
use crate::site::{MeterSource, Site};

/// Turns messages into readings. Pure apart from the clock; shared by the v3.1.1 and v5 paths.
pub struct Processor {
    broker: Broker,
    /// MQTT name → meter id, for this broker's meters.
    meters: HashMap<String, (Arc<str>, u32)>,
    tz: chrono_tz::Tz,
    /// Energy interval index of the last stored register reading, per meter and quantity.
    stored_slot: HashMap<(Arc<str>, Quantity), i64>,
    /// Receive time given to the last message without a timestamp, per meter: messages
    /// delivered in a burst (a broker replaying its queue) get distinct, increasing times
    /// instead of collapsing into one.
    last_receive_time: HashMap<Arc<str>, chrono::DateTime<Utc>>,
}

/// What one message gave.
#[derive(Debug, Default)]
pub struct Processed {
    /// To store (and show).
    pub store: Vec<Reading>,
    /// To show only (registers between two energy boundaries).
    pub live_only: Vec<Reading>,
    pub problem: Option<String>,
}

impl Processor {
    pub fn new(site: &Site, broker: &Broker) -> Processor {
        let meters = site
            .meters
            .iter()
            .filter_map(|m| match &m.source {
                MeterSource::Mqtt { connection, name } if *connection == broker.id => Some((
                    name.clone(),
                    (Arc::from(m.id.as_str()), m.energy_interval_min),
                )),
                _ => None,
            })
            .collect();
        Processor {
            broker: broker.clone(),
            meters,
            tz: site.timezone,
            stored_slot: HashMap::new(),
            last_receive_time: HashMap::new(),
        }
    }

    pub fn process(&mut self, topic: &str, payload: &[u8]) -> Processed {
        let mut out = Processed::default();
        let Some((sub, captures)) = self
            .broker
            .subscriptions
            .iter()
            .find_map(|s| s.topic.matches(topic).map(|c| (s, c)))
        else {
            out.problem = Some("topic matches no subscription".into());
            return out;
        };
        let decoded = decode(&sub.format, payload, &captures, self.tz);
        let mut problems = decoded.problems;
        let topic_meter = if matches!(sub.format.kind, PayloadKind::Batch(_)) {
            None
        } else {
            match fill(&sub.meter, &captures) {
                Ok(m) => Some(m),
                Err(e) => {
                    out.problem = Some(e);
                    return out;
                }
            }
        };
        let now = Utc::now();
        let mut stamped: HashMap<Arc<str>, chrono::DateTime<Utc>> = HashMap::new();
        for d in decoded.values {
            let Some(name) = d.meter.as_ref().or(topic_meter.as_ref()) else {
                continue;
            };
            let Some((meter, interval_min)) = self.meters.get(name) else {
                problems.push(format!("unknown meter `{name}` (not in the config)"));
                continue;
            };
            let time = match d.time {
                Some(t) => t,
                None => *stamped.entry(meter.clone()).or_insert_with(|| {
                    let t = self.last_receive_time.get(meter).map_or(now, |last| {
                        now.max(*last + chrono::Duration::milliseconds(1))
                    });
                    self.last_receive_time.insert(meter.clone(), t);
                    t
                }),
            };
            let reading = Reading {
                meter: meter.clone(),
                quantity: d.quantity,
                time,
                value: d.value,
                quality: ReadingQuality::Measured,
            };
            if d.quantity.is_cumulative() {
                let slot = time.timestamp().div_euclid(*interval_min as i64 * 60);
                let key = (meter.clone(), d.quantity);
                if self.stored_slot.get(&key).is_some_and(|s| *s >= slot) {
                    out.live_only.push(reading);
                    continue;
                }
                self.stored_slot.insert(key, slot);
            }
            out.store.push(reading);
        }
        problems.dedup();
        if !problems.is_empty() {
            out.problem = Some(problems.join("; "));
        }
        out
    }
}

/// Starts one task per broker.
pub fn spawn_all(
    site: &Site,
    ingest: Ingest,
    health: Arc<Health>,
    cancel: CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    site.brokers
        .iter()
        .map(|b| spawn_one(site, b, ingest.clone(), health.clone(), cancel.clone()))
        .collect()
}

/// Starts the client of one broker.
pub fn spawn_one(
    site: &Site,
    broker: &Broker,
    ingest: Ingest,
    health: Arc<Health>,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let processor = Processor::new(site, broker);
    tokio::spawn(run(broker.clone(), processor, ingest, health, cancel))
}

/// Hands a message's readings to ingest and updates statuses; returns false when ingest closed.
async fn take_in(
    topic: &str,
    payload: &[u8],
    processor: &mut Processor,
    ingest: &Ingest,
    health: &Health,
    broker: &str,
) -> bool {
    let p = processor.process(topic, payload);
    let count = p.store.len() + p.live_only.len();
    health.input(
        broker,
        topic,
        count,
        p.problem.as_deref().map(|r| (r, payload)),
    );
    if let Some(problem) = &p.problem {
        tracing::debug!(broker, topic, problem = %problem, "bad MQTT message");
    }
    let mut seen: Vec<Arc<str>> = p
        .store
        .iter()
        .chain(&p.live_only)
        .map(|r| r.meter.clone())
        .collect();
    seen.dedup();
    ingest.observe(&p.live_only);
    if !p.store.is_empty() {
        match ingest.accept(p.store).await {
            Ok(rejected) => {
                for (r, e) in rejected {
                    tracing::warn!(meter = %r.meter, error = %e, "reading rejected");
                }
            }
            Err(_) => return false,
        }
    }
    for m in seen {
        ingest.live().set_status(&m, MeterStatus::Online, None);
    }
    true
}

/// The session loop, the same for MQTT 3.1.1 and 5 (whose client types differ): poll events,
/// subscribe on every connection, take messages in, acknowledge them once their readings are
/// committed, reconnect with back-off. `Event`, `Packet` and `QoS` are the caller's imports.
macro_rules! session_loop {
    ($client:ident, $events:ident, $broker:ident, $processor:ident, $ingest:ident, $health:ident, $cancel:ident, $topic_of:expr) => {{
        let mut backoff = Duration::from_millis(500);
        // Taken in, their readings not yet known to be committed.
        let mut uncommitted = std::collections::VecDeque::new();
        // Committed, to acknowledge.
        let mut unacked = std::collections::VecDeque::new();
        // The store flush in flight: how many of `uncommitted` (the oldest) it covers.
        let mut flush: Option<(usize, tokio::sync::oneshot::Receiver<()>)> = None;
        loop {
            if flush.is_none() && !uncommitted.is_empty() {
                match $ingest.request_flush().await {
                    Ok(rx) => flush = Some((uncommitted.len(), rx)),
                    Err(_) => break, // the store has shut down
                }
            }
            let event = tokio::select! {
                _ = $cancel.cancelled() => break,
                done = async { (&mut flush.as_mut().expect("guarded").1).await }, if flush.is_some() => {
                    let (covered, _) = flush.take().expect("guarded");
                    if done.is_err() {
                        break; // the store has shut down
                    }
                    unacked.extend(uncommitted.drain(..covered));
                    while let Some(p) = unacked.front() {
                        if $client.try_ack(p).is_err() {
                            break;
                        }
                        unacked.pop_front();
                    }
                    continue;
                }
                e = $events.poll() => e,
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    backoff = Duration::from_millis(500);
                    $health.connected(&$broker.id);
                    tracing::info!(broker = %$broker.id, session_present = ack.session_present, "MQTT connected");
                    for s in &$broker.subscriptions {
                        let qos = if s.qos == 0 { QoS::AtMostOnce } else { QoS::AtLeastOnce };
                        // Never wait on the client's request queue: only this task drains it
                        // (by polling the event loop), so waiting could stall forever.
                        if let Err(e) = $client.try_subscribe(s.filter(), qos) {
                            tracing::error!(broker = %$broker.id, error = %e, "MQTT subscribe failed");
                        }
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let topic: String = $topic_of(&p);
                    if !take_in(&topic, &p.payload, &mut $processor, &$ingest, &$health, &$broker.id).await {
                        break;
                    }
                    uncommitted.push_back(p);
                }
                Ok(_) => {}
                Err(e) => {
                    // Messages not acknowledged before the connection broke are redelivered.
                    uncommitted.clear();
                    unacked.clear();
                    flush = None;
                    $health.connect_failed(&$broker.id);
                    tracing::warn!(broker = %$broker.id, error = %e, retry_in_ms = backoff.as_millis() as u64, "MQTT connection lost");
                    tokio::select! {
                        _ = $cancel.cancelled() => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
            while let Some(p) = unacked.front() {
                if $client.try_ack(p).is_err() {
                    break;
                }
                unacked.pop_front();
            }
        }
        // Stopping: the store is still running (it drains after the collectors), so what was
        // taken in gets committed; acknowledge it, or the broker sends it all again next time.
        if !uncommitted.is_empty()
            && let Ok(committed) = $ingest.request_flush().await
            && let Ok(Ok(())) = tokio::time::timeout(Duration::from_secs(5), committed).await
        {
            unacked.extend(uncommitted.drain(..));
        }
        // The event loop sends what is queued (acks, then the disconnect) only while polled;
        // whatever is not acknowledged in time the broker sends again.
        let mut disconnecting = false;
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            loop {
                while let Some(p) = unacked.front() {
                    if $client.try_ack(p).is_err() {
                        break;
                    }
                    unacked.pop_front();
                }
                if unacked.is_empty() && !disconnecting {
                    disconnecting = $client.try_disconnect().is_ok();
                }
                match $events.poll().await {
                    Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
    }};
}

/// Plain TCP, or TLS with the broker's CA (system roots without one). Logs why TLS cannot be set up.
fn transport(broker: &Broker) -> Result<rumqttc::Transport, ()> {
    if !broker.tls {
        return Ok(rumqttc::Transport::Tcp);
    }
    tls_config(broker)
        .map(rumqttc::Transport::tls_with_config)
        .map_err(|e| {
            tracing::error!(broker = %broker.id, error = %e, "MQTT TLS setup failed");
        })
}

fn tls_config(broker: &Broker) -> Result<rumqttc::TlsConfiguration, String> {
    match &broker.ca_file {
        Some(path) => {
            let ca =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Ok(rumqttc::TlsConfiguration::Simple {
                ca,
                alpn: None,
                client_auth: None,
            })
        }
        None => Ok(rumqttc::TlsConfiguration::default()),
    }
}

/// The options MQTT 3.1.1 and 5 set alike: keep-alive, acks after the store commits,
/// credentials, transport (TLS or not). A macro because the two versions' `MqttOptions` have
/// the same setters but no common trait. `Err` when the transport cannot be set up (logged).
macro_rules! shared_options {
    ($opts:ident, $broker:ident) => {{
        $opts
            .set_keep_alive($broker.keep_alive)
            .set_manual_acks(true);
        if let Some(user) = &$broker.username {
            $opts.set_credentials(user, $broker.password.as_ref().map_or("", |p| p.expose()));
        }
        transport(&$broker).map(|t| {
            $opts.set_transport(t);
        })
    }};
}

async fn run(
    broker: Broker,
    mut processor: Processor,
    ingest: Ingest,
    health: Arc<Health>,
    cancel: CancellationToken,
) {
    if broker.v5 {
        run_v5(broker, processor, ingest, health, cancel).await;
        return;
    }
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let mut opts = MqttOptions::new(&broker.client_id, &broker.host, broker.port);
    opts.set_clean_session(broker.clean_session)
        .set_max_packet_size(1 << 20, 1 << 20)
        .set_inflight(100);
    if shared_options!(opts, broker).is_err() {
        return;
    }
    let (client, mut events) = AsyncClient::new(opts, 1024);
    session_loop!(
        client,
        events,
        broker,
        processor,
        ingest,
        health,
        cancel,
        |p: &rumqttc::Publish| p.topic.clone()
    );
}

async fn run_v5(
    broker: Broker,
    mut processor: Processor,
    ingest: Ingest,
    health: Arc<Health>,
    cancel: CancellationToken,
) {
    use rumqttc::v5::mqttbytes::QoS;
    use rumqttc::v5::mqttbytes::v5::Packet;
    use rumqttc::v5::{AsyncClient, Event, MqttOptions};
    let mut opts = MqttOptions::new(&broker.client_id, &broker.host, broker.port);
    opts.set_clean_start(broker.clean_session);
    if !broker.clean_session {
        // A persistent session in MQTT 5 also needs an expiry; a week covers long outages.
        opts.set_session_expiry_interval(Some(7 * 24 * 3600));
    }
    if shared_options!(opts, broker).is_err() {
        return;
    }
    let (client, mut events) = AsyncClient::new(opts, 1024);
    session_loop!(
        client,
        events,
        broker,
        processor,
        ingest,
        health,
        cancel,
        |p: &rumqttc::v5::mqttbytes::v5::Publish| String::from_utf8_lossy(&p.topic).into_owned()
    );
}
