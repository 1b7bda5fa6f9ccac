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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FileLabels {
    pub file: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VersionLabels {
    pub version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// The route's template (`/api/v1/meters/{id}`), `unmatched` for no route.
    pub route: String,
    pub method: String,
    /// `2xx`, `4xx` ...
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
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
    // DL/T 645 and CJ/T 188 lines (collect::line::LineError::kind).
    "noise",
    "truncated",
    "bad_checksum",
    "bad_end",
    "wrong_address",
    "bad_reply",
    "refused",
    "value",
];

fn response_histogram() -> Histogram {
    // 5 ms .. 10 s: meter turnaround is 5–300 ms, gateways add up to 700 ms.
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

fn commit_histogram() -> Histogram {
    // 0.5 ms .. 10 s: a batch commit is a few ms; seconds mean a slow disk or a big refresh.
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
    ])
}

fn http_histogram() -> Histogram {
    // 1 ms .. 30 s: JSON answers take milliseconds, reports and statements seconds.
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
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
    influx_spool_segments: Gauge,
    ingest_accepted: Counter,
    ingest_rejected: Family<ReasonLabels, Counter>,
    store_queue: Gauge,
    store_written: Family<KindLabels, Counter>,
    store_commit_seconds: Histogram,
    store_write_failures: Counter,
    store_file_bytes: Family<FileLabels, Gauge>,
    /// The database file, for its size at each scrape.
    database: std::sync::OnceLock<std::path::PathBuf>,
    http_requests: Family<HttpLabels, Counter>,
    http_seconds: Family<RouteLabels, Histogram, fn() -> Histogram>,
    config_reloads: Family<ResultLabels, Counter>,
    config_last_reload: Gauge,
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
            influx_spool_segments: Gauge::default(),
            ingest_accepted: Counter::default(),
            ingest_rejected: Family::default(),
            store_queue: Gauge::default(),
            store_written: Family::default(),
            store_commit_seconds: commit_histogram(),
            store_write_failures: Counter::default(),
            store_file_bytes: Family::default(),
            database: std::sync::OnceLock::new(),
            http_requests: Family::default(),
            http_seconds: Family::new_with_constructor(http_histogram as fn() -> Histogram),
            config_reloads: Family::default(),
            config_last_reload: Gauge::default(),
            registry: Registry::default(),
        };
        let build_info: Family<VersionLabels, Gauge> = Family::default();
        build_info
            .get_or_create(&VersionLabels {
                version: env!("CARGO_PKG_VERSION").to_string(),
            })
            .set(1);
        registry.register("build_info", "The running version (always 1)", build_info);
        let started: Gauge = Gauge::default();
        started.set(Utc::now().timestamp());
        registry.register(
            "start_time_seconds",
            "When the process started (Unix time)",
            started,
        );
        registry.register(
            "ingest_accepted_readings",
            "Readings from collectors accepted by ingest and queued for the store",
            h.ingest_accepted.clone(),
        );
        registry.register(
            "ingest_rejected_readings",
            "Readings from collectors refused by ingest, by reason",
            h.ingest_rejected.clone(),
        );
        registry.register(
            "store_queue_readings",
            "Accepted readings not yet committed to the store",
            h.store_queue.clone(),
        );
        registry.register(
            "store_written_readings",
            "Readings committed by the store writer, by kind (register, telemetry)",
            h.store_written.clone(),
        );
        registry.register(
            "store_commit_seconds",
            "Time per store writer transaction (one batch)",
            h.store_commit_seconds.clone(),
        );
        registry.register(
            "store_write_failures",
            "Failed store writes (the batch is kept and retried)",
            h.store_write_failures.clone(),
        );
        registry.register(
            "store_file_bytes",
            "Size of the database file and its write-ahead log",
            h.store_file_bytes.clone(),
        );
        registry.register(
            "influx_spool_segments",
            "Segment files in the InfluxDB spool",
            h.influx_spool_segments.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by route template, method and status class",
            h.http_requests.clone(),
        );
        registry.register(
            "http_request_seconds",
            "Time to answer an HTTP request (to the response head), by route template",
            h.http_seconds.clone(),
        );
        registry.register(
            "config_reloads",
            "Config reloads (SIGHUP) by result (applied, invalid)",
            h.config_reloads.clone(),
        );
        registry.register(
            "config_last_reload_success_timestamp_seconds",
            "When the config was last loaded successfully (start or reload; Unix time)",
            h.config_last_reload.clone(),
        );
        h.config_last_reload.set(Utc::now().timestamp());
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
    pub fn influx_spool_segments(&self, segments: usize) {
        self.influx_spool_segments.set(segments as i64);
    }

    /// Readings accepted by ingest, now queued for the store.
    pub fn ingest_accepted(&self, readings: usize) {
        self.ingest_accepted.inc_by(readings as u64);
        self.store_queue.inc_by(readings as i64);
    }
    /// Accepted readings not yet committed to the store.
    pub fn store_queue(&self) -> i64 {
        self.store_queue.get()
    }
    /// Readings that were counted as queued but could not be (the store had shut down).
    pub fn ingest_unqueued(&self, readings: usize) {
        self.store_queue.dec_by(readings as i64);
    }
    pub fn ingest_rejected(&self, reason: &str) {
        self.ingest_rejected
            .get_or_create(&ReasonLabels {
                reason: reason.to_string(),
            })
            .inc();
    }

    /// A committed batch of the store writer.
    pub fn store_committed(&self, registers: usize, telemetry: usize, seconds: f64) {
        for (kind, n) in [("register", registers), ("telemetry", telemetry)] {
            self.store_written
                .get_or_create(&KindLabels { kind: kind.into() })
                .inc_by(n as u64);
        }
        self.store_queue.dec_by((registers + telemetry) as i64);
        self.store_commit_seconds.observe(seconds);
    }
    pub fn store_write_failed(&self) {
        self.store_write_failures.inc();
    }
    /// The database file whose size `/metrics` reports.
    pub fn set_database(&self, path: &std::path::Path) {
        let _ = self.database.set(path.to_path_buf());
    }

    /// One answered HTTP request.
    pub fn http_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let status = match status {
            100..=599 => format!("{}xx", status / 100),
            _ => "other".into(),
        };
        self.http_requests
            .get_or_create(&HttpLabels {
                route: route.to_string(),
                method: method.to_string(),
                status,
            })
            .inc();
        self.http_seconds
            .get_or_create(&RouteLabels {
                route: route.to_string(),
            })
            .observe(seconds);
    }

    /// A config reload: `applied` or `invalid`.
    pub fn config_reload(&self, result: &str) {
        self.config_reloads
            .get_or_create(&ResultLabels {
                result: result.to_string(),
            })
            .inc();
        if result == "applied" {
            self.config_last_reload.set(Utc::now().timestamp());
        }
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
        if let Some(db) = self.database.get() {
            let mut wal = db.as_os_str().to_owned();
            wal.push("-wal");
            for (file, path) in [("db", db.clone()), ("wal", wal.into())] {
                let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
                self.store_file_bytes
                    .get_or_create(&FileLabels { file: file.into() })
                    .set(bytes as i64);
            }
        }
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
