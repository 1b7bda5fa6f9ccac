//! Ingest: the one way into storage. Validates readings, keeps the latest value per meter and
//! quantity (the live state behind `/api/v1/meters`), and hands batches to the store writer.
//! Nothing here knows Modbus or MQTT; collectors report readings and per-meter status.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use thiserror::Error;
use tokio::sync::mpsc;

use crate::quantity::Quantity;
use crate::reading::Reading;
use crate::site::{MeterSource, Site};
use crate::store::writer::StoreMsg;

/// Communication state of a meter, as the live API shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MeterStatus {
    /// Not read yet since start.
    Waiting,
    Online,
    /// No answer (timeout, connection refused).
    Offline,
    /// Answers, but wrongly (exception, garbage, undecodable values).
    Error,
    /// Read by hand; no communication expected.
    Manual,
}

#[derive(Debug, Clone, Serialize)]
pub struct MeterLive {
    pub status: MeterStatus,
    /// Why the status is what it is (the last error), if anything is wrong.
    pub detail: Option<String>,
    pub last_seen: Option<DateTime<Utc>>,
    pub values: BTreeMap<Quantity, f64>,
    pub value_times: BTreeMap<Quantity, DateTime<Utc>>,
}

/// One new value, as the live stream (`GET /api/v1/live`) sends it.
#[derive(Debug, Clone, Serialize)]
pub struct LiveUpdate {
    #[serde(serialize_with = "text")]
    pub meter: Arc<str>,
    pub quantity: Quantity,
    pub time: DateTime<Utc>,
    pub value: f64,
}

fn text<S: serde::Serializer>(s: &Arc<str>, out: S) -> Result<S::Ok, S::Error> {
    out.serialize_str(s)
}

/// Latest values and status per meter, shared by collectors (writers) and HTTP (readers);
/// every new value is also broadcast to live subscribers (a slow one skips, never blocks).
#[derive(Debug)]
pub struct LiveState {
    meters: RwLock<HashMap<Arc<str>, MeterLive>>,
    updates: tokio::sync::broadcast::Sender<LiveUpdate>,
}

impl LiveState {
    pub fn for_site(site: &Site) -> LiveState {
        let meters = site
            .meters
            .iter()
            .map(|m| {
                let status = match m.source {
                    MeterSource::Manual { .. } => MeterStatus::Manual,
                    MeterSource::Modbus { .. }
                    | MeterSource::Line { .. }
                    | MeterSource::Mqtt { .. } => MeterStatus::Waiting,
                };
                let live = MeterLive {
                    status,
                    detail: None,
                    last_seen: None,
                    values: BTreeMap::new(),
                    value_times: BTreeMap::new(),
                };
                (Arc::from(m.id.as_str()), live)
            })
            .collect();
        LiveState {
            meters: RwLock::new(meters),
            updates: tokio::sync::broadcast::channel(4096).0,
        }
    }

    /// Follows a reloaded config: meters new to it start `Waiting` (or `Manual`), meters no
    /// longer in it are forgotten, the others keep their values and status (unless they went
    /// from read by hand to communicating, or back: they start again).
    pub fn sync_meters(&self, site: &Site) {
        let fresh = Self::for_site(site)
            .meters
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        let mut meters = self.meters.write().unwrap_or_else(|e| e.into_inner());
        meters.retain(|id, _| fresh.contains_key(id));
        for (id, live) in fresh {
            let manual = live.status == MeterStatus::Manual;
            match meters.get_mut(&id) {
                Some(m) if (m.status == MeterStatus::Manual) != manual => *m = live,
                Some(_) => {}
                None => {
                    meters.insert(id, live);
                }
            }
        }
    }

    /// New values from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<LiveUpdate> {
        self.updates.subscribe()
    }

    pub fn get(&self, meter: &str) -> Option<MeterLive> {
        self.meters
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(meter)
            .cloned()
    }

    pub fn set_status(&self, meter: &str, status: MeterStatus, detail: Option<String>) {
        let mut meters = self.meters.write().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = meters.get_mut(meter) {
            m.status = status;
            m.detail = detail;
        }
    }

    /// Shows readings entered by hand (stored directly, all or nothing) as the latest values.
    pub fn record_manual(&self, readings: &[Reading]) {
        self.record(readings);
    }

    fn record(&self, readings: &[Reading]) {
        let mut meters = self.meters.write().unwrap_or_else(|e| e.into_inner());
        for r in readings {
            let Some(m) = meters.get_mut(&*r.meter) else {
                continue;
            };
            if m.value_times.get(&r.quantity).is_some_and(|t| *t > r.time) {
                continue; // an older reading (backfill, late import) does not replace a newer one
            }
            m.values.insert(r.quantity, r.value);
            m.value_times.insert(r.quantity, r.time);
            if m.last_seen.is_none_or(|t| t < r.time) {
                m.last_seen = Some(r.time);
            }
            if self.updates.receiver_count() > 0 {
                // Only fails without subscribers.
                let _ = self.updates.send(LiveUpdate {
                    meter: r.meter.clone(),
                    quantity: r.quantity,
                    time: r.time,
                    value: r.value,
                });
            }
        }
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum IngestError {
    #[error("unknown meter `{0}`")]
    UnknownMeter(String),
    #[error("{meter}: {quantity} value {value} is not a finite number")]
    NotFinite {
        meter: String,
        quantity: Quantity,
        value: f64,
    },
    #[error("{meter}: {quantity} is a register total and cannot be negative ({value})")]
    NegativeRegister {
        meter: String,
        quantity: Quantity,
        value: f64,
    },
    #[error("{meter}: {quantity} = {value} is beyond any register (at most 10^15)")]
    RegisterTooLarge {
        meter: String,
        quantity: Quantity,
        value: f64,
    },
    #[error("{meter}: time {time} is in the future")]
    Future { meter: String, time: DateTime<Utc> },
    #[error("the store has shut down")]
    Closed,
}

impl IngestError {
    /// A short name for the reason, as `/metrics` counts rejections.
    pub fn reason(&self) -> &'static str {
        match self {
            IngestError::UnknownMeter(_) => "unknown_meter",
            IngestError::NotFinite { .. } => "not_finite",
            IngestError::NegativeRegister { .. } => "negative_register",
            IngestError::RegisterTooLarge { .. } => "register_too_large",
            IngestError::Future { .. } => "future",
            IngestError::Closed => "closed",
        }
    }
}

/// Checks one reading; pure apart from the clock passed in.
/// The site's meter ids, as `validate` takes them.
pub fn known_meters(site: &Site) -> HashMap<Arc<str>, ()> {
    site.meters
        .iter()
        .map(|m| (Arc::from(m.id.as_str()), ()))
        .collect()
}

pub fn validate(
    r: &Reading,
    known: &HashMap<Arc<str>, ()>,
    now: DateTime<Utc>,
) -> Result<(), IngestError> {
    if !known.contains_key(&*r.meter) {
        return Err(IngestError::UnknownMeter(r.meter.to_string()));
    }
    if !r.value.is_finite() {
        return Err(IngestError::NotFinite {
            meter: r.meter.to_string(),
            quantity: r.quantity,
            value: r.value,
        });
    }
    if r.quantity.is_cumulative() && r.value < 0.0 {
        return Err(IngestError::NegativeRegister {
            meter: r.meter.to_string(),
            quantity: r.quantity,
            value: r.value,
        });
    }
    // Real registers hold at most 9 to 12 digits; beyond 10^15 it is garbage, and sums of it
    // would overflow exact decimal arithmetic.
    if r.quantity.is_cumulative() && r.value > 1e15 {
        return Err(IngestError::RegisterTooLarge {
            meter: r.meter.to_string(),
            quantity: r.quantity,
            value: r.value,
        });
    }
    if r.time > now + Duration::minutes(5) {
        return Err(IngestError::Future {
            meter: r.meter.to_string(),
            time: r.time,
        });
    }
    Ok(())
}

/// A consumer of accepted readings besides the store (the InfluxDB sink).
pub type ReadingSink = mpsc::Sender<Arc<Vec<Reading>>>;

/// The entry point for every reading. Cheap to clone.
#[derive(Clone)]
pub struct Ingest {
    known: Arc<HashMap<Arc<str>, ()>>,
    live: Arc<LiveState>,
    store: mpsc::Sender<StoreMsg>,
    /// Further consumers of every accepted reading (the InfluxDB sink).
    sinks: Vec<ReadingSink>,
    /// Where accepted and rejected readings are counted (`/metrics`).
    health: Option<Arc<crate::health::Health>>,
}

impl Ingest {
    pub fn new(site: &Site, live: Arc<LiveState>, store: mpsc::Sender<StoreMsg>) -> Ingest {
        Self::with_sinks(site, live, store, Vec::new())
    }

    pub fn with_sinks(
        site: &Site,
        live: Arc<LiveState>,
        store: mpsc::Sender<StoreMsg>,
        sinks: Vec<ReadingSink>,
    ) -> Ingest {
        Ingest {
            known: Arc::new(known_meters(site)),
            live,
            store,
            sinks,
            health: None,
        }
    }

    /// Counts accepted and rejected readings, and the store's queue, in `health`.
    pub fn with_health(mut self, health: Arc<crate::health::Health>) -> Ingest {
        self.health = Some(health);
        self
    }

    /// The same ingest (store queue, sinks, live state, counters) for the meters of `site`:
    /// what collectors started after a config reload use.
    pub fn for_site(&self, site: &Site) -> Ingest {
        Ingest {
            known: Arc::new(known_meters(site)),
            ..self.clone()
        }
    }

    /// Queues accepted readings for the store, then for every other sink.
    async fn send(&self, readings: Vec<Reading>) -> Result<(), IngestError> {
        let copy = (!self.sinks.is_empty()).then(|| Arc::new(readings.clone()));
        let n = readings.len();
        if let Some(h) = &self.health {
            h.ingest_accepted(n);
        }
        if self.store.send(StoreMsg::Batch(readings)).await.is_err() {
            if let Some(h) = &self.health {
                h.ingest_unqueued(n);
            }
            return Err(IngestError::Closed);
        }
        if let Some(copy) = copy {
            for sink in &self.sinks {
                // A closed sink (shutting down) must not stop the store path.
                let _ = sink.send(copy.clone()).await;
            }
        }
        Ok(())
    }

    pub fn live(&self) -> &Arc<LiveState> {
        &self.live
    }

    /// Accepts the valid readings of a batch from a collector, returning the rejected ones with
    /// the reason. Accepted readings are queued for the store (waiting if it is behind).
    pub async fn accept(
        &self,
        readings: Vec<Reading>,
    ) -> Result<Vec<(Reading, IngestError)>, IngestError> {
        let now = Utc::now();
        let (good, bad): (Vec<_>, Vec<_>) = readings
            .into_iter()
            .map(|r| {
                let v = validate(&r, &self.known, now);
                (r, v)
            })
            .partition(|(_, v)| v.is_ok());
        let good: Vec<Reading> = good.into_iter().map(|(r, _)| r).collect();
        let rejected: Vec<(Reading, IngestError)> = bad
            .into_iter()
            .filter_map(|(r, v)| v.err().map(|e| (r, e)))
            .collect();
        if let Some(h) = &self.health {
            for (_, e) in &rejected {
                h.ingest_rejected(e.reason());
            }
        }
        if !good.is_empty() {
            self.live.record(&good);
            self.send(good).await?;
        }
        Ok(rejected)
    }

    /// Accepts a batch only if every reading is valid (imports and the API: all or nothing).
    pub async fn accept_all(&self, readings: Vec<Reading>) -> Result<usize, IngestError> {
        let now = Utc::now();
        for r in &readings {
            if let Err(e) = validate(r, &self.known, now) {
                if let Some(h) = &self.health {
                    h.ingest_rejected(e.reason());
                }
                return Err(e);
            }
        }
        let n = readings.len();
        self.live.record(&readings);
        self.send(readings).await?;
        Ok(n)
    }

    /// Updates the live values only (readings a collector does not store, such as a register
    /// read between two energy boundaries).
    pub fn observe(&self, readings: &[Reading]) {
        self.live.record(readings);
    }

    /// Asks the store to say when every reading accepted before the call is committed; the
    /// answer arrives on the returned channel (without waiting for it here).
    pub async fn request_flush(&self) -> Result<tokio::sync::oneshot::Receiver<()>, IngestError> {
        let (done, committed) = tokio::sync::oneshot::channel();
        self.store
            .send(StoreMsg::Flush(done))
            .await
            .map_err(|_| IngestError::Closed)?;
        Ok(committed)
    }

    /// Waits until every reading accepted before the call is committed to the store.
    pub async fn flush(&self) -> Result<(), IngestError> {
        let (done, committed) = tokio::sync::oneshot::channel();
        self.store
            .send(StoreMsg::Flush(done))
            .await
            .map_err(|_| IngestError::Closed)?;
        committed.await.map_err(|_| IngestError::Closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reading::ReadingQuality;

    fn reading(meter: &str, q: &str, value: f64) -> Reading {
        Reading {
            meter: Arc::from(meter),
            quantity: Quantity::named(q),
            time: Utc::now(),
            value,
            quality: ReadingQuality::Measured,
        }
    }

    #[test]
    fn validation_explains_each_rejection() {
        let known: HashMap<Arc<str>, ()> = [(Arc::from("m1"), ())].into_iter().collect();
        let now = Utc::now();
        assert_eq!(
            validate(&reading("m1", "power_kw", -3.0), &known, now),
            Ok(())
        );
        assert_eq!(
            validate(&reading("m2", "power_kw", 1.0), &known, now),
            Err(IngestError::UnknownMeter("m2".into()))
        );
        assert!(matches!(
            validate(&reading("m1", "energy_import_kwh", -1.0), &known, now),
            Err(IngestError::NegativeRegister { .. })
        ));
        assert!(matches!(
            validate(&reading("m1", "energy_import_kwh", 5e28), &known, now),
            Err(IngestError::RegisterTooLarge { .. })
        ));
        assert!(matches!(
            validate(&reading("m1", "power_kw", f64::NAN), &known, now),
            Err(IngestError::NotFinite { .. })
        ));
        let mut late = reading("m1", "power_kw", 1.0);
        late.time = now + Duration::hours(1);
        assert!(matches!(
            validate(&late, &known, now),
            Err(IngestError::Future { .. })
        ));
    }
}
