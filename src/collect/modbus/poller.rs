//! One task per bus (a TCP connection or gateway): it owns the connection, so exactly one
//! request is in flight, and runs every device's schedule on it.
//!
//! - Live quantities are read every `live_interval`, staggered across the bus.
//! - Cumulative registers are read at each wall-clock energy boundary (every 15 min by
//!   default); the reading carries the time the answer arrived.
//! - A device that fails twice in a row is marked offline and retried with exponential
//!   back-off, so a dead device costs one timeout per back-off period and the rest of the bus
//!   keeps its schedule.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use tokio::time::Instant;
use tokio_modbus::ExceptionCode;
use tokio_util::sync::CancellationToken;

use super::decode::decode_block;
use super::plan::{ReadBlock, plan_reads};
use super::transport::{Bus, ReadError};
use crate::config::Profile;
use crate::health::Health;
use crate::ingest::{Ingest, MeterStatus};
use crate::reading::{Reading, ReadingQuality};
use crate::site::{Connection, MeterSource, Site};

const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How long a device that answered "busy" is left alone.
const BUSY_PAUSE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PollKind {
    Energy,
    Live,
}

/// A meter on a bus, with its read plans and its failure state.
pub struct Device {
    pub meter: Arc<str>,
    pub slave: u8,
    pub profile: Arc<Profile>,
    live_plan: Vec<ReadBlock>,
    energy_plan: Vec<ReadBlock>,
    pub live_interval: Duration,
    energy_interval_min: u32,
    timeout: Duration,
    /// Attempts before the device is marked offline and left to back-off.
    tries: u32,
    failures: u32,
    /// When a device in back-off is probed next.
    retry_at: Option<Instant>,
    /// Read plans without fill gaps, after the meter refused a read spanning unmapped registers.
    strict: bool,
}

impl Device {
    pub fn new(
        meter: &str,
        slave: u8,
        profile: Arc<Profile>,
        conn: &Connection,
        timeout_ms: Option<u64>,
        live_interval: Duration,
        energy_interval_min: u32,
    ) -> Device {
        let timeout =
            Duration::from_millis(timeout_ms.or(conn.timeout_ms).unwrap_or(profile.timeout_ms));
        let mut d = Device {
            meter: Arc::from(meter),
            slave,
            profile,
            live_plan: vec![],
            energy_plan: vec![],
            live_interval,
            energy_interval_min,
            timeout,
            tries: conn.tries,
            failures: 0,
            retry_at: None,
            strict: false,
        };
        d.replan();
        d
    }

    fn replan(&mut self) {
        let fill = if self.strict {
            0
        } else {
            self.profile.max_fill
        };
        let specs = &self.profile.registers;
        self.live_plan = plan_reads(
            specs,
            |s| !s.quantity.is_cumulative(),
            self.profile.max_block,
            fill,
        );
        self.energy_plan = plan_reads(
            specs,
            |s| s.quantity.is_cumulative(),
            self.profile.max_block,
            fill,
        );
    }

    /// Requests one poll of this kind takes.
    pub fn plan(&self, kind: PollKind) -> &[ReadBlock] {
        match kind {
            PollKind::Live => &self.live_plan,
            PollKind::Energy => &self.energy_plan,
        }
    }

    /// Back-off after `tries` failures: the live interval (at least 5 s) doubling per further
    /// failure, up to 5 minutes.
    fn backoff(&self) -> Duration {
        let base = self.live_interval.max(Duration::from_secs(5));
        let doublings = self.failures.saturating_sub(self.tries).min(8);
        (base * 2u32.pow(doublings)).min(MAX_BACKOFF)
    }

    /// Whether the device is left alone right now (offline and waiting for its next probe).
    pub fn backing_off(&self, now: Instant) -> bool {
        self.retry_at.is_some_and(|t| t > now)
    }

    /// Updates the failure state after a poll; returns when to poll this kind again.
    fn after(&mut self, outcome: &Outcome, kind: PollKind, due: Instant, now: Instant) -> Instant {
        match outcome {
            Outcome::Replanned => now,
            Outcome::Busy => now + BUSY_PAUSE,
            Outcome::Failed { .. } if self.failures < self.tries => now, // retry at once
            Outcome::Failed { .. } => {
                let at = now + self.backoff();
                self.retry_at = Some(at);
                match kind {
                    PollKind::Live => at,
                    PollKind::Energy => {
                        instant_at(next_boundary(Utc::now(), self.energy_interval_min)).max(at)
                    }
                }
            }
            Outcome::Done | Outcome::Skipped => {
                match kind {
                    // Keep the cadence; if the bus fell behind, catch up without bursts.
                    PollKind::Live => (due + self.live_interval).max(now),
                    PollKind::Energy => {
                        instant_at(next_boundary(Utc::now(), self.energy_interval_min))
                    }
                }
            }
        }
    }
}

/// The next wall-clock boundary of an `interval_min`-minute grid after `now`.
pub fn next_boundary(now: DateTime<Utc>, interval_min: u32) -> DateTime<Utc> {
    let step = interval_min.max(1) as i64 * 60;
    let secs = now.timestamp();
    let next = (secs.div_euclid(step) + 1) * step;
    DateTime::from_timestamp(next, 0)
        .unwrap_or(now)
        .with_nanosecond(0)
        .unwrap_or(now)
}

fn instant_at(t: DateTime<Utc>) -> Instant {
    let ahead = (t - Utc::now()).to_std().unwrap_or_default();
    Instant::now() + ahead
}

/// The devices on one connection.
pub fn devices_of(site: &Site, conn: &Connection) -> Vec<Device> {
    site.meters
        .iter()
        .filter_map(|m| match &m.source {
            MeterSource::Modbus {
                connection,
                profile,
                slave_id,
                timeout_ms,
            } if *connection == conn.id => Some(Device::new(
                &m.id,
                *slave_id,
                profile.clone(),
                conn,
                *timeout_ms,
                m.live_interval,
                m.energy_interval_min,
            )),
            _ => None,
        })
        .collect()
}

/// Starts one poller task per connection that has meters.
pub fn spawn_all(
    site: &Site,
    ingest: Ingest,
    health: Arc<Health>,
    cancel: CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    site.connections
        .iter()
        .filter_map(|conn| spawn_one(site, conn, ingest.clone(), health.clone(), cancel.clone()))
        .collect()
}

/// Starts the poller of one connection, if it has meters.
pub fn spawn_one(
    site: &Site,
    conn: &Connection,
    ingest: Ingest,
    health: Arc<Health>,
    cancel: CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    let devices = devices_of(site, conn);
    if devices.is_empty() {
        return None;
    }
    Some(tokio::spawn(run_bus(
        conn.clone(),
        devices,
        ingest,
        health,
        cancel,
    )))
}

/// Opens the bus if it is closed; on failure every device on it is marked offline.
async fn ensure_open<'a>(
    bus: &'a mut Option<Bus>,
    conn: &Connection,
    devices: &[Device],
    ingest: &Ingest,
    health: &Health,
) -> Option<&'a mut Bus> {
    if bus.is_none() {
        match Bus::open(
            &conn.url,
            Duration::from_secs(3),
            Duration::from_millis(conn.connect_delay_ms),
        )
        .await
        {
            Ok(b) => {
                health.connected(&conn.id);
                *bus = Some(b);
            }
            Err(e) => {
                health.connect_failed(&conn.id);
                tracing::warn!(connection = %conn.id, error = %e, "bus unreachable");
                for d in devices {
                    ingest
                        .live()
                        .set_status(&d.meter, MeterStatus::Offline, Some(e.clone()));
                }
                return None;
            }
        }
    }
    bus.as_mut()
}

/// The scheduler of one bus: polls are taken in due order, one at a time.
pub async fn run_bus(
    conn: Connection,
    mut devices: Vec<Device>,
    ingest: Ingest,
    health: Arc<Health>,
    cancel: CancellationToken,
) {
    let mut queue: BinaryHeap<Reverse<(Instant, PollKind, usize)>> = BinaryHeap::new();
    let n = devices.len() as u32;
    let start = Instant::now();
    for (i, d) in devices.iter().enumerate() {
        // Stagger live polls across the interval instead of firing all at once.
        queue.push(Reverse((
            start + d.live_interval * i as u32 / n,
            PollKind::Live,
            i,
        )));
        if !d.energy_plan.is_empty() {
            // Read the registers once at start, then on every boundary.
            queue.push(Reverse((start, PollKind::Energy, i)));
        }
    }
    let mut bus: Option<Bus> = None;
    let mut connect_backoff = Duration::from_millis(500);
    while let Some(Reverse((due, kind, i))) = queue.pop() {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep_until(due) => {}
        }
        let Some(open) = ensure_open(&mut bus, &conn, &devices, &ingest, &health).await else {
            queue.push(Reverse((Instant::now() + connect_backoff, kind, i)));
            connect_backoff = (connect_backoff * 2).min(Duration::from_secs(30));
            continue;
        };
        connect_backoff = Duration::from_millis(500);
        let device = &mut devices[i];
        let outcome = if kind == PollKind::Energy && device.backing_off(Instant::now()) {
            Outcome::Skipped // an offline device costs one probe per back-off period, no more
        } else {
            poll_device(open, device, kind, &ingest, &health, &conn.id).await
        };
        if outcome == (Outcome::Failed { reconnect: true })
            && let Some(b) = bus.take()
        {
            b.close().await;
        }
        let next = device.after(&outcome, kind, due, Instant::now());
        queue.push(Reverse((next, kind, i)));
        if conn.pause_ms > 0 {
            tokio::time::sleep(Duration::from_millis(conn.pause_ms)).await;
        }
    }
    if let Some(b) = bus.take() {
        b.close().await;
    }
}

/// One pass over every device of a bus, live and energy reads, honouring back-off: the
/// benchmark's poll cycle. Returns the number of requests made.
pub async fn poll_cycle(
    conn: &Connection,
    bus: &mut Option<Bus>,
    devices: &mut [Device],
    ingest: &Ingest,
    health: &Health,
) -> usize {
    let mut requests = 0;
    for i in 0..devices.len() {
        for kind in [PollKind::Energy, PollKind::Live] {
            loop {
                let now = Instant::now();
                if devices[i].backing_off(now) {
                    break;
                }
                let Some(open) = ensure_open(bus, conn, devices, ingest, health).await else {
                    return requests;
                };
                let d = &mut devices[i];
                requests += d.plan(kind).len();
                let outcome = poll_device(open, d, kind, ingest, health, &conn.id).await;
                if outcome == (Outcome::Failed { reconnect: true })
                    && let Some(b) = bus.take()
                {
                    b.close().await;
                }
                let retry_now = d.after(&outcome, kind, now, Instant::now()) <= Instant::now();
                if !retry_now || outcome == Outcome::Busy {
                    break;
                }
            }
        }
    }
    requests
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Not polled: the device is offline and waiting for its next probe.
    Skipped,
    /// The read failed; `reconnect` when the connection may hold a late reply.
    Failed {
        reconnect: bool,
    },
    /// The device asked to be left alone for a moment.
    Busy,
    /// The read plan changed; poll again at once with the new one.
    Replanned,
}

/// Polls one device once: every block of the plan, then the readings go to ingest.
async fn poll_device(
    bus: &mut Bus,
    d: &mut Device,
    kind: PollKind,
    ingest: &Ingest,
    health: &Health,
    connection: &str,
) -> Outcome {
    let plan = d.plan(kind).to_vec();
    let mut readings = Vec::new();
    let mut problems = Vec::new();
    for block in &plan {
        let sent = Instant::now();
        match bus.read(d.slave, block, d.timeout).await {
            Ok((words, stats)) => {
                health.request_ok(
                    &d.meter,
                    connection,
                    sent.elapsed().as_secs_f64(),
                    Utc::now(),
                );
                health.garbage_bytes(connection, stats.garbage_bytes);
                let time = Utc::now();
                for (quantity, value) in decode_block(&words, block, &d.profile.registers) {
                    match value {
                        Ok(value) => readings.push(Reading {
                            meter: d.meter.clone(),
                            quantity,
                            time,
                            value,
                            quality: ReadingQuality::Measured,
                        }),
                        Err(e) => {
                            health.error(&d.meter, connection, "decode");
                            problems.push(format!("{quantity}: {e}"));
                        }
                    }
                }
            }
            Err(ReadError::Exception(ExceptionCode::IllegalDataAddress))
                if block.has_gaps(&d.profile.registers) && !d.strict =>
            {
                health.request_failed(&d.meter, connection, "exception");
                // The meter refuses reads across unmapped registers: read mapped ones only.
                tracing::info!(meter = %d.meter, "meter refuses reads across gaps; reading registers separately");
                d.strict = true;
                d.replan();
                return Outcome::Replanned;
            }
            Err(ReadError::Exception(
                ExceptionCode::ServerDeviceBusy | ExceptionCode::Acknowledge,
            )) => {
                health.request_failed(&d.meter, connection, "busy");
                return Outcome::Busy;
            }
            Err(e) => {
                health.request_failed(&d.meter, connection, e.kind());
                if d.failures > 0 {
                    health.retry(&d.meter, connection);
                }
                d.failures += 1;
                let detail = describe(&e, block, &d.profile);
                let status = match e {
                    // A gateway answering "target device failed to respond" means the meter
                    // behind it is silent.
                    ReadError::Timeout(_)
                    | ReadError::Transport(_)
                    | ReadError::Exception(
                        ExceptionCode::GatewayPathUnavailable | ExceptionCode::GatewayTargetDevice,
                    ) => MeterStatus::Offline,
                    _ => MeterStatus::Error,
                };
                if d.failures >= d.tries {
                    tracing::warn!(meter = %d.meter, slave = d.slave, error = %detail, "meter not answering properly");
                    ingest.live().set_status(&d.meter, status, Some(detail));
                }
                if !readings.is_empty() {
                    let _ = ingest.accept(readings).await;
                }
                return Outcome::Failed {
                    reconnect: e.poisons_connection(),
                };
            }
        }
    }
    if d.failures > 0 {
        health.retry(&d.meter, connection);
    }
    d.failures = 0;
    d.retry_at = None;
    match ingest.accept(readings).await {
        Ok(rejected) => {
            for (r, e) in rejected {
                tracing::warn!(meter = %r.meter, quantity = %r.quantity, error = %e, "reading rejected");
                problems.push(e.to_string());
            }
        }
        Err(e) => tracing::error!(error = %e, "ingest closed"),
    }
    let (status, detail) = if problems.is_empty() {
        (MeterStatus::Online, None)
    } else {
        (MeterStatus::Error, Some(problems.join("; ")))
    };
    ingest.live().set_status(&d.meter, status, detail);
    Outcome::Done
}

/// A message that tells the engineer where to look.
pub fn describe(e: &ReadError, block: &ReadBlock, profile: &Profile) -> String {
    let range = format!(
        "function {} registers {}..{}",
        block.function.code(),
        block.address,
        block.address as u32 + block.count as u32 - 1
    );
    match e {
        ReadError::Exception(ExceptionCode::IllegalDataAddress) => {
            let names: Vec<_> = block
                .registers
                .iter()
                .map(|&i| profile.registers[i].quantity.name())
                .collect();
            format!(
                "Modbus exception: illegal data address reading {range}; check the profile `{}` addresses of {}",
                profile.name,
                names.join(", ")
            )
        }
        ReadError::Exception(ExceptionCode::ServerDeviceBusy) => {
            format!("device busy reading {range}; will retry")
        }
        other => format!("{other} ({range})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn energy_boundaries_are_on_the_wall_clock_grid() {
        let t = Utc.with_ymd_and_hms(2026, 11, 28, 4, 7, 31).unwrap();
        assert_eq!(
            next_boundary(t, 15),
            Utc.with_ymd_and_hms(2026, 11, 28, 4, 15, 0).unwrap()
        );
        let on = Utc.with_ymd_and_hms(2026, 11, 28, 4, 15, 0).unwrap();
        assert_eq!(
            next_boundary(on, 15),
            Utc.with_ymd_and_hms(2026, 11, 28, 4, 30, 0).unwrap()
        );
        assert_eq!(
            next_boundary(t, 60),
            Utc.with_ymd_and_hms(2026, 11, 28, 5, 0, 0).unwrap()
        );
    }
}
