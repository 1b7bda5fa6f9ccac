//! One task per bus (a TCP connection, a gateway or a serial line): it owns the connection, so
//! exactly one request is in flight, and runs every device's schedule on it — Modbus devices,
//! and DL/T 645 and CJ/T 188 meters on their lines, with the same schedule, timeouts, tries
//! and back-off.
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

use rust_decimal::prelude::ToPrimitive;

use super::decode::decode_block;
use super::plan::{ReadBlock, plan_reads};
use super::transport::{Bus, ReadError};
use crate::collect::line::{self, LineError, Link};
use crate::config::Profile;
use crate::config::line_profile::{LineProfile, LineProtocol, LineValue};
use crate::health::Health;
use crate::ingest::{Ingest, MeterStatus};
use crate::quantity::Quantity;
use crate::reading::{Reading, ReadingQuality};
use crate::site::{BusProtocol, Connection, LineAddress, MeterSource, Site};

const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How long a device that answered "busy" is left alone.
const BUSY_PAUSE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PollKind {
    Energy,
    Live,
}

/// How a device is read: Modbus registers by plan, or a line protocol's values.
pub enum Target {
    Modbus(ModbusTarget),
    Line(LineTarget),
}

/// A Modbus device: its unit id, profile and read plans.
pub struct ModbusTarget {
    pub slave: u8,
    pub profile: Arc<Profile>,
    live_plan: Vec<ReadBlock>,
    energy_plan: Vec<ReadBlock>,
    /// Read plans without fill gaps, after the meter refused a read spanning unmapped registers.
    strict: bool,
}

/// A DL/T 645 or CJ/T 188 meter: its nameplate address and line profile.
pub struct LineTarget {
    pub address: LineAddress,
    pub profile: Arc<LineProfile>,
    /// CJ/T 188's sequence byte, counted up per request.
    ser: u8,
}

/// A meter on a bus, with how it is read and its failure state.
pub struct Device {
    pub meter: Arc<str>,
    pub target: Target,
    pub live_interval: Duration,
    energy_interval_min: u32,
    timeout: Duration,
    /// Attempts before the device is marked offline and left to back-off.
    tries: u32,
    failures: u32,
    /// When a device in back-off is probed next.
    retry_at: Option<Instant>,
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
        let mut target = ModbusTarget {
            slave,
            profile,
            live_plan: vec![],
            energy_plan: vec![],
            strict: false,
        };
        target.replan();
        Device {
            meter: Arc::from(meter),
            target: Target::Modbus(target),
            live_interval,
            energy_interval_min,
            timeout,
            tries: conn.tries,
            failures: 0,
            retry_at: None,
        }
    }

    /// A DL/T 645 or CJ/T 188 meter on a line.
    pub fn line(
        meter: &str,
        address: LineAddress,
        profile: Arc<LineProfile>,
        conn: &Connection,
        timeout_ms: Option<u64>,
        live_interval: Duration,
        energy_interval_min: u32,
    ) -> Device {
        let timeout =
            Duration::from_millis(timeout_ms.or(conn.timeout_ms).unwrap_or(profile.timeout_ms));
        Device {
            meter: Arc::from(meter),
            target: Target::Line(LineTarget {
                address,
                profile,
                ser: 0,
            }),
            live_interval,
            energy_interval_min,
            timeout,
            tries: conn.tries,
            failures: 0,
            retry_at: None,
        }
    }

    /// The Modbus unit id, for a Modbus device.
    pub fn slave(&self) -> Option<u8> {
        match &self.target {
            Target::Modbus(m) => Some(m.slave),
            Target::Line(_) => None,
        }
    }

    /// A Modbus device's reads of one poll of this kind (none for a line meter).
    pub fn modbus_plan(&self, kind: PollKind) -> &[ReadBlock] {
        match &self.target {
            Target::Modbus(m) => m.plan(kind),
            Target::Line(_) => &[],
        }
    }

    /// Requests one poll of this kind takes.
    pub fn requests(&self, kind: PollKind) -> usize {
        match &self.target {
            Target::Modbus(m) => m.plan(kind).len(),
            Target::Line(l) => l.values(kind).len(),
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

impl ModbusTarget {
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

    /// The reads of one poll of this kind.
    pub fn plan(&self, kind: PollKind) -> &[ReadBlock] {
        match kind {
            PollKind::Live => &self.live_plan,
            PollKind::Energy => &self.energy_plan,
        }
    }
}

impl LineTarget {
    /// The profile's values one poll of this kind reads: cumulative registers on energy
    /// polls, the rest on live ones.
    fn values(&self, kind: PollKind) -> Vec<&LineValue> {
        self.profile
            .values
            .iter()
            .filter(|v| {
                v.quantities()
                    .iter()
                    .any(|q| q.is_cumulative() == (kind == PollKind::Energy))
            })
            .collect()
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
            MeterSource::Line {
                connection,
                profile,
                address,
                timeout_ms,
            } if *connection == conn.id => Some(Device::line(
                &m.id,
                *address,
                profile.clone(),
                conn,
                *timeout_ms,
                m.live_interval,
                m.energy_interval_min,
            )),
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
        site.timezone,
        ingest,
        health,
        cancel,
    )))
}

/// An open bus: Modbus, or a line for DL/T 645 and CJ/T 188.
pub enum Wire {
    Modbus(Bus),
    Line(Link),
}

impl Wire {
    async fn open(conn: &Connection) -> Result<Wire, String> {
        let timeout = Duration::from_secs(3);
        let wire = match conn.protocol {
            BusProtocol::Modbus => Wire::Modbus(
                Bus::open(
                    &conn.url,
                    timeout,
                    Duration::from_millis(conn.connect_delay_ms),
                )
                .await?,
            ),
            BusProtocol::Dlt645 | BusProtocol::Cjt188 => {
                let link = Link::open(&conn.url, timeout).await?;
                if conn.connect_delay_ms > 0 {
                    tokio::time::sleep(Duration::from_millis(conn.connect_delay_ms)).await;
                }
                Wire::Line(link)
            }
        };
        Ok(wire)
    }

    pub async fn close(self) {
        match self {
            Wire::Modbus(b) => b.close().await,
            Wire::Line(l) => l.close().await,
        }
    }
}

/// Opens the bus if it is closed; on failure every device on it is marked offline.
async fn ensure_open<'a>(
    bus: &'a mut Option<Wire>,
    conn: &Connection,
    devices: &[Device],
    ingest: &Ingest,
    health: &Health,
) -> Option<&'a mut Wire> {
    if bus.is_none() {
        match Wire::open(conn).await {
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
    tz: chrono_tz::Tz,
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
        if d.requests(PollKind::Energy) > 0 {
            // Read the registers once at start, then on every boundary.
            queue.push(Reverse((start, PollKind::Energy, i)));
        }
    }
    let time_sync = conn
        .time_sync_hours
        .filter(|_| conn.protocol == BusProtocol::Dlt645)
        .map(|h| Duration::from_secs(u64::from(h) * 3600));
    let mut next_sync = time_sync.map(|_| start);
    let mut bus: Option<Wire> = None;
    let mut connect_backoff = Duration::from_millis(500);
    while let Some(Reverse((due, kind, i))) = queue.pop() {
        // The time broadcast takes its turn on the line like a poll.
        if let (Some(at), Some(every)) = (next_sync, time_sync)
            && at <= due
        {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep_until(at) => {}
            }
            if let Some(Wire::Line(link)) =
                ensure_open(&mut bus, &conn, &devices, &ingest, &health).await
            {
                broadcast_time(link, &conn.id, tz).await;
            }
            next_sync = Some(Instant::now() + every);
            queue.push(Reverse((due, kind, i)));
            continue;
        }
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
    bus: &mut Option<Wire>,
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
                requests += d.requests(kind);
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

/// Polls one device once on its bus.
async fn poll_device(
    wire: &mut Wire,
    d: &mut Device,
    kind: PollKind,
    ingest: &Ingest,
    health: &Health,
    connection: &str,
) -> Outcome {
    match wire {
        Wire::Modbus(bus) => poll_modbus(bus, d, kind, ingest, health, connection).await,
        Wire::Line(link) => poll_line(link, d, kind, ingest, health, connection).await,
    }
}

/// Polls one Modbus device once: every block of the plan, then the readings go to ingest.
async fn poll_modbus(
    bus: &mut Bus,
    d: &mut Device,
    kind: PollKind,
    ingest: &Ingest,
    health: &Health,
    connection: &str,
) -> Outcome {
    let Target::Modbus(m) = &d.target else {
        return Outcome::Failed { reconnect: false };
    };
    let (slave, profile, strict) = (m.slave, m.profile.clone(), m.strict);
    let plan = m.plan(kind).to_vec();
    let mut readings = Vec::new();
    let mut problems = Vec::new();
    for block in &plan {
        let sent = Instant::now();
        match bus.read(slave, block, d.timeout).await {
            Ok((words, stats)) => {
                health.request_ok(
                    &d.meter,
                    connection,
                    sent.elapsed().as_secs_f64(),
                    Utc::now(),
                );
                health.garbage_bytes(connection, stats.garbage_bytes);
                let time = Utc::now();
                for (quantity, value) in decode_block(&words, block, &profile.registers) {
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
                if block.has_gaps(&profile.registers) && !strict =>
            {
                health.request_failed(&d.meter, connection, "exception");
                // The meter refuses reads across unmapped registers: read mapped ones only.
                tracing::info!(meter = %d.meter, "meter refuses reads across gaps; reading registers separately");
                if let Target::Modbus(m) = &mut d.target {
                    m.strict = true;
                    m.replan();
                }
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
                let detail = describe(&e, block, &profile);
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
                    tracing::warn!(meter = %d.meter, slave, error = %detail, "meter not answering properly");
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
    answered(d, readings, problems, ingest, health, connection).await
}

/// After a poll the device answered: its failures are forgotten, the readings go to ingest,
/// and its status says whether every value came through.
async fn answered(
    d: &mut Device,
    readings: Vec<Reading>,
    mut problems: Vec<String>,
    ingest: &Ingest,
    health: &Health,
    connection: &str,
) -> Outcome {
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

/// Broadcasts the site's local time to every DL/T 645 meter on the line (control 08H, no
/// answer expected), and logs it.
async fn broadcast_time(link: &mut Link, connection: &str, tz: chrono_tz::Tz) {
    let local = Utc::now().with_timezone(&tz).naive_local();
    match crate::collect::dlt645::frame::time_sync_request(&local) {
        Ok(frame) => match link.send(&frame).await {
            Ok(()) => {
                tracing::info!(connection, time = %local.format("%Y-%m-%d %H:%M:%S"), "DL/T 645 time broadcast")
            }
            Err(e) => tracing::warn!(connection, error = %e, "DL/T 645 time broadcast failed"),
        },
        Err(e) => tracing::warn!(connection, error = %e, "DL/T 645 time broadcast not sent"),
    }
}

/// Polls one DL/T 645 or CJ/T 188 meter once: the profile's values of this kind, then the
/// readings go to ingest. A meter that answers nothing counts as a failure, like a Modbus
/// device; one that answers some values and refuses others is online with the refusals noted.
async fn poll_line(
    link: &mut Link,
    d: &mut Device,
    kind: PollKind,
    ingest: &Ingest,
    health: &Health,
    connection: &str,
) -> Outcome {
    let Target::Line(t) = &mut d.target else {
        return Outcome::Failed { reconnect: false };
    };
    let profile = t.profile.clone();
    let wanted = |q: Quantity| q.is_cumulative() == (kind == PollKind::Energy);
    let sent = Instant::now();
    let noise_before = link.noise_bytes;
    let read = match (t.address, profile.protocol) {
        (LineAddress::Cjt188(address), LineProtocol::Cjt188(meter_type)) => {
            t.ser = t.ser.wrapping_add(1);
            line::read_cjt188(link, meter_type, &address, &profile, d.timeout, t.ser).await
        }
        (LineAddress::Dlt645(address), _) => {
            line::read_dlt645(link, &address, &profile, d.timeout, wanted).await
        }
        (LineAddress::Cjt188(_), _) => line::MeterValues::default(),
    };
    health.garbage_bytes(connection, link.noise_bytes.saturating_sub(noise_before));
    let time = Utc::now();
    let readings: Vec<Reading> = read
        .values
        .iter()
        .filter(|(q, _)| wanted(*q))
        .filter_map(|(q, v)| {
            Some(Reading {
                meter: d.meter.clone(),
                quantity: *q,
                time,
                value: v.to_f64()?,
                quality: ReadingQuality::Measured,
            })
        })
        .collect();
    for (_, e) in &read.errors {
        health.request_failed(&d.meter, connection, e.kind());
    }
    let problems: Vec<String> = read
        .errors
        .iter()
        .map(|(id, e)| format!("{id}: {e}"))
        .collect();
    if readings.is_empty() && !problems.is_empty() {
        if d.failures > 0 {
            health.retry(&d.meter, connection);
        }
        d.failures += 1;
        let silent = read
            .errors
            .iter()
            .all(|(_, e)| matches!(e, LineError::Timeout(_) | LineError::Transport(_)));
        if d.failures >= d.tries {
            let detail = problems.join("; ");
            tracing::warn!(meter = %d.meter, address = %t_address(d), error = %detail, "meter not answering properly");
            let status = if silent {
                MeterStatus::Offline
            } else {
                MeterStatus::Error
            };
            ingest.live().set_status(&d.meter, status, Some(detail));
        }
        return Outcome::Failed {
            reconnect: read
                .errors
                .iter()
                .any(|(_, e)| matches!(e, LineError::Transport(_))),
        };
    }
    health.request_ok(&d.meter, connection, sent.elapsed().as_secs_f64(), time);
    answered(d, readings, problems, ingest, health, connection).await
}

fn t_address(d: &Device) -> String {
    match &d.target {
        Target::Line(t) => t.address.to_string(),
        Target::Modbus(m) => m.slave.to_string(),
    }
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
