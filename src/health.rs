//! Communication health: per device and per bus counters, response times and the last
//! success. Protocol-neutral (collectors record, the HTTP layer reads), exported as Prometheus
//! text at `/metrics` and summarised per meter in `/api/v1/meters`.

use std::sync::atomic::AtomicU64;

use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use serde::Serialize;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeviceLabels {
    pub meter: String,
    pub connection: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub meter: String,
    pub connection: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BusLabels {
    pub connection: String,
}

/// Kinds of communication errors, as counted.
pub const ERROR_KINDS: &[&str] = &[
    "timeout",
    "exception",
    "busy",
    "garbage",
    "transport",
    "short_reply",
    "decode",
];

fn response_histogram() -> Histogram {
    // 5 ms .. 10 s: meter turnaround is 5–300 ms, gateways add up to 700 ms.
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

/// Messages from one input (an MQTT topic), with the last bad one and why it was bad.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InputStats {
    pub connection: String,
    pub topic: String,
    pub messages: u64,
    pub readings: u64,
    pub bad: u64,
    pub last_message: Option<DateTime<Utc>>,
    pub last_bad: Option<BadSample>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BadSample {
    pub time: DateTime<Utc>,
    pub reason: String,
    /// The start of the offending payload, as text.
    pub sample: String,
}

/// Distinct topics tracked one by one; beyond this they are summed under one entry.
const MAX_TOPICS: usize = 10_000;

#[derive(Debug)]
pub struct Health {
    registry: Registry,
    inputs: std::sync::Mutex<std::collections::HashMap<(String, String), InputStats>>,
    input_messages: Family<BusLabels, Counter>,
    input_bad: Family<BusLabels, Counter>,
    influx_bytes: Counter,
    influx_batches: Counter,
    influx_failures: Counter,
    influx_rejected: Counter,
    influx_dropped_lines: Counter,
    influx_spool_bytes: Gauge,
    influx_spool_max_bytes: Gauge,
    influx_write_seconds: Histogram,
    requests: Family<DeviceLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    retries: Family<DeviceLabels, Counter>,
    response_seconds: Family<DeviceLabels, Histogram, fn() -> Histogram>,
    response_ms_total: Family<DeviceLabels, Counter<f64, AtomicU64>>,
    last_response_ms: Family<DeviceLabels, Gauge<f64, AtomicU64>>,
    last_success: Family<DeviceLabels, Gauge>,
    bus_connects: Family<BusLabels, Counter>,
    bus_connect_failures: Family<BusLabels, Counter>,
    bus_garbage_bytes: Family<BusLabels, Counter>,
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

/// One device's health, as the meters API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceHealth {
    pub connection: String,
    pub requests: u64,
    pub errors: std::collections::BTreeMap<&'static str, u64>,
    pub retries: u64,
    pub last_success: Option<DateTime<Utc>>,
    pub response_ms_last: Option<f64>,
    pub response_ms_avg: Option<f64>,
}

impl Health {
    pub fn new() -> Health {
        let mut registry = Registry::with_prefix("jieneng");
        let h = Health {
            requests: Family::default(),
            errors: Family::default(),
            retries: Family::default(),
            response_seconds: Family::new_with_constructor(response_histogram as fn() -> Histogram),
            response_ms_total: Family::default(),
            last_response_ms: Family::default(),
            last_success: Family::default(),
            bus_connects: Family::default(),
            bus_connect_failures: Family::default(),
            bus_garbage_bytes: Family::default(),
            inputs: Default::default(),
            input_messages: Family::default(),
            input_bad: Family::default(),
            influx_bytes: Counter::default(),
            influx_batches: Counter::default(),
            influx_failures: Counter::default(),
            influx_rejected: Counter::default(),
            influx_dropped_lines: Counter::default(),
            influx_spool_bytes: Gauge::default(),
            influx_spool_max_bytes: Gauge::default(),
            influx_write_seconds: response_histogram(),
            registry: Registry::default(),
        };
        registry.register(
            "influx_written_bytes",
            "Compressed bytes written to the InfluxDB API",
            h.influx_bytes.clone(),
        );
        registry.register(
            "influx_written_batches",
            "Batches written to the InfluxDB API",
            h.influx_batches.clone(),
        );
        registry.register(
            "influx_write_failures",
            "Failed writes (kept and retried)",
            h.influx_failures.clone(),
        );
        registry.register(
            "influx_rejected_batches",
            "Batches the server refused (kept in spool/rejected)",
            h.influx_rejected.clone(),
        );
        registry.register(
            "influx_dropped_lines",
            "Lines not sent because the spool was full",
            h.influx_dropped_lines.clone(),
        );
        registry.register(
            "influx_spool_bytes",
            "Bytes waiting in the InfluxDB spool",
            h.influx_spool_bytes.clone(),
        );
        registry.register(
            "influx_spool_max_bytes",
            "Size limit of the InfluxDB spool",
            h.influx_spool_max_bytes.clone(),
        );
        registry.register(
            "influx_write_seconds",
            "Time per write to the InfluxDB API",
            h.influx_write_seconds.clone(),
        );
        registry.register(
            "input_messages",
            "Messages received per connection",
            h.input_messages.clone(),
        );
        registry.register(
            "input_bad_messages",
            "Messages that could not be used, per connection",
            h.input_bad.clone(),
        );
        registry.register(
            "device_requests",
            "Requests sent to a device",
            h.requests.clone(),
        );
        registry.register("device_errors", "Failed requests by kind", h.errors.clone());
        registry.register(
            "device_retries",
            "Requests repeated after a failure",
            h.retries.clone(),
        );
        registry.register(
            "device_response_seconds",
            "Time from request to answer",
            h.response_seconds.clone(),
        );
        registry.register(
            "device_last_success_timestamp_seconds",
            "Last successful read (Unix time)",
            h.last_success.clone(),
        );
        registry.register("bus_connects", "Connections opened", h.bus_connects.clone());
        registry.register(
            "bus_connect_failures",
            "Failed connection attempts",
            h.bus_connect_failures.clone(),
        );
        registry.register(
            "bus_garbage_bytes",
            "Received bytes that formed no valid frame",
            h.bus_garbage_bytes.clone(),
        );
        Health { registry, ..h }
    }

    fn device(meter: &str, connection: &str) -> DeviceLabels {
        DeviceLabels {
            meter: meter.to_string(),
            connection: connection.to_string(),
        }
    }

    pub fn request_ok(&self, meter: &str, connection: &str, elapsed_s: f64, at: DateTime<Utc>) {
        let l = Self::device(meter, connection);
        self.requests.get_or_create(&l).inc();
        self.response_seconds.get_or_create(&l).observe(elapsed_s);
        self.response_ms_total
            .get_or_create(&l)
            .inc_by(elapsed_s * 1000.0);
        self.last_response_ms
            .get_or_create(&l)
            .set(elapsed_s * 1000.0);
        self.last_success.get_or_create(&l).set(at.timestamp());
    }

    pub fn request_failed(&self, meter: &str, connection: &str, kind: &'static str) {
        self.requests
            .get_or_create(&Self::device(meter, connection))
            .inc();
        self.error(meter, connection, kind);
    }

    /// An error that did not fail the request (a value that could not be decoded).
    pub fn error(&self, meter: &str, connection: &str, kind: &'static str) {
        let l = ErrorLabels {
            meter: meter.to_string(),
            connection: connection.to_string(),
            kind: kind.to_string(),
        };
        self.errors.get_or_create(&l).inc();
    }

    pub fn retry(&self, meter: &str, connection: &str) {
        self.retries
            .get_or_create(&Self::device(meter, connection))
            .inc();
    }

    pub fn connected(&self, connection: &str) {
        self.bus_connects
            .get_or_create(&BusLabels {
                connection: connection.to_string(),
            })
            .inc();
    }

    pub fn connect_failed(&self, connection: &str) {
        self.bus_connect_failures
            .get_or_create(&BusLabels {
                connection: connection.to_string(),
            })
            .inc();
    }

    pub fn garbage_bytes(&self, connection: &str, bytes: u64) {
        if bytes > 0 {
            self.bus_garbage_bytes
                .get_or_create(&BusLabels {
                    connection: connection.to_string(),
                })
                .inc_by(bytes);
        }
    }

    fn input_entry<'a>(
        map: &'a mut std::collections::HashMap<(String, String), InputStats>,
        connection: &str,
        topic: &str,
    ) -> &'a mut InputStats {
        let topic = if map.len() >= MAX_TOPICS
            && !map.contains_key(&(connection.to_string(), topic.to_string()))
        {
            "(other topics)"
        } else {
            topic
        };
        map.entry((connection.to_string(), topic.to_string()))
            .or_insert_with(|| InputStats {
                connection: connection.to_string(),
                topic: topic.to_string(),
                ..Default::default()
            })
    }

    /// A message that yielded readings (and perhaps problems, counted as bad).
    pub fn input(
        &self,
        connection: &str,
        topic: &str,
        readings: usize,
        problem: Option<(&str, &[u8])>,
    ) {
        let now = Utc::now();
        let labels = BusLabels {
            connection: connection.to_string(),
        };
        self.input_messages.get_or_create(&labels).inc();
        let mut map = self.inputs.lock().unwrap_or_else(|e| e.into_inner());
        let e = Self::input_entry(&mut map, connection, topic);
        e.messages += 1;
        e.readings += readings as u64;
        e.last_message = Some(now);
        if let Some((reason, payload)) = problem {
            self.input_bad.get_or_create(&labels).inc();
            e.bad += 1;
            let sample: String =
                String::from_utf8_lossy(&payload[..payload.len().min(200)]).into_owned();
            e.last_bad = Some(BadSample {
                time: now,
                reason: reason.to_string(),
                sample,
            });
        }
    }

    pub fn influx_written(&self, bytes: u64, seconds: f64) {
        self.influx_bytes.inc_by(bytes);
        self.influx_batches.inc();
        self.influx_write_seconds.observe(seconds);
    }
    pub fn influx_failed(&self) {
        self.influx_failures.inc();
    }
    pub fn influx_rejected(&self) {
        self.influx_rejected.inc();
    }
    pub fn influx_dropped(&self, lines: u64) {
        self.influx_dropped_lines.inc_by(lines);
    }
    pub fn influx_spool(&self, pending: u64, max: u64) {
        self.influx_spool_bytes.set(pending as i64);
        self.influx_spool_max_bytes.set(max as i64);
    }

    /// Every input seen, busiest first.
    pub fn inputs(&self) -> Vec<InputStats> {
        let map = self.inputs.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<InputStats> = map.values().cloned().collect();
        v.sort_by(|a, b| b.messages.cmp(&a.messages).then(a.topic.cmp(&b.topic)));
        v
    }

    pub fn device_health(&self, meter: &str, connection: &str) -> DeviceHealth {
        let l = Self::device(meter, connection);
        let requests = self.requests.get_or_create(&l).get();
        let errors = ERROR_KINDS
            .iter()
            .filter_map(|k| {
                let el = ErrorLabels {
                    meter: meter.to_string(),
                    connection: connection.to_string(),
                    kind: k.to_string(),
                };
                let n = self.errors.get_or_create(&el).get();
                (n > 0).then_some((*k, n))
            })
            .collect();
        let failed: u64 = ERROR_KINDS
            .iter()
            .filter(|k| **k != "decode")
            .map(|k| {
                self.errors
                    .get_or_create(&ErrorLabels {
                        meter: meter.into(),
                        connection: connection.into(),
                        kind: k.to_string(),
                    })
                    .get()
            })
            .sum();
        let ok = requests.saturating_sub(failed);
        let last = self.last_success.get_or_create(&l).get();
        DeviceHealth {
            connection: connection.to_string(),
            requests,
            errors,
            retries: self.retries.get_or_create(&l).get(),
            last_success: (last > 0)
                .then(|| DateTime::from_timestamp(last, 0))
                .flatten(),
            response_ms_last: (ok > 0).then(|| self.last_response_ms.get_or_create(&l).get()),
            response_ms_avg: (ok > 0)
                .then(|| self.response_ms_total.get_or_create(&l).get() / ok as f64),
        }
    }

    /// Prometheus text exposition.
    pub fn encode(&self, out: &mut String) -> std::fmt::Result {
        prometheus_client::encoding::text::encode_registry(out, &self.registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_exports() {
        let h = Health::new();
        let t = Utc::now();
        h.request_ok("m1", "gw", 0.020, t);
        h.request_ok("m1", "gw", 0.040, t);
        h.request_failed("m1", "gw", "timeout");
        h.retry("m1", "gw");
        let d = h.device_health("m1", "gw");
        assert_eq!((d.requests, d.retries, d.errors["timeout"]), (3, 1, 1));
        assert!((d.response_ms_avg.unwrap() - 30.0).abs() < 1e-9);
        let mut text = String::new();
        h.encode(&mut text).unwrap();
        assert!(
            text.contains("jieneng_device_requests_total{meter=\"m1\",connection=\"gw\"} 3"),
            "{text}"
        );
        assert!(text.contains("jieneng_device_response_seconds_bucket"));
    }
}
