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
use tokio_modbus::client::Context;
use tokio_util::sync::CancellationToken;

use super::decode::decode_block;
use super::plan::{ReadBlock, plan_reads};
use super::transport::{self, ReadError};
use crate::config::Profile;
use crate::config::site::{Connection, MeterSource, Site};
use crate::ingest::{Ingest, MeterStatus};
use crate::reading::{Reading, ReadingQuality};

const MAX_BACKOFF: Duration = Duration::from_secs(300);
const TRIES: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PollKind {
    Energy,
    Live,
}

/// A meter on a bus, with its read plans.
struct Device {
    meter: Arc<str>,
    slave: u8,
    profile: Arc<Profile>,
    live_plan: Vec<ReadBlock>,
    energy_plan: Vec<ReadBlock>,
    live_interval: Duration,
    energy_interval_min: u32,
    timeout: Duration,
    failures: u32,
    /// Read plans without fill gaps, after the meter refused a read spanning unmapped registers.
    strict: bool,
}

impl Device {
    fn new(
        meter: &str,
        slave: u8,
        profile: Arc<Profile>,
        conn: &Connection,
        live_interval: Duration,
        energy_interval_min: u32,
    ) -> Device {
        let timeout = Duration::from_millis(conn.timeout_ms.unwrap_or(profile.timeout_ms));
        let mut d = Device {
            meter: Arc::from(meter),
            slave,
            profile,
            live_plan: vec![],
            energy_plan: vec![],
            live_interval,
            energy_interval_min,
            timeout,
            failures: 0,
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

    fn backoff(&self) -> Duration {
        let base = self.live_interval.max(Duration::from_secs(5));
        (base * 2u32.saturating_pow(self.failures.saturating_sub(TRIES).min(8))).min(MAX_BACKOFF)
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

/// Starts one poller task per connection that has meters.
pub fn spawn_all(
    site: &Site,
    ingest: Ingest,
    cancel: CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    site.connections
        .iter()
        .filter_map(|conn| {
            let devices: Vec<Device> = site
                .meters
                .iter()
                .filter_map(|m| match &m.source {
                    MeterSource::Modbus {
                        connection,
                        profile,
                        slave_id,
                    } if *connection == conn.id => Some(Device::new(
                        &m.id,
                        *slave_id,
                        profile.clone(),
                        conn,
                        m.live_interval,
                        m.energy_interval_min,
                    )),
                    _ => None,
                })
                .collect();
            if devices.is_empty() {
                return None;
            }
            Some(tokio::spawn(run_bus(
                conn.clone(),
                devices,
                ingest.clone(),
                cancel.clone(),
            )))
        })
        .collect()
}

async fn run_bus(
    conn: Connection,
    mut devices: Vec<Device>,
    ingest: Ingest,
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
    let mut ctx: Option<Context> = None;
    let mut connect_backoff = Duration::from_millis(500);
    while let Some(Reverse((due, kind, i))) = queue.pop() {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep_until(due) => {}
        }
        if ctx.is_none() {
            match transport::connect(&conn.url, Duration::from_secs(3)).await {
                Ok(c) => {
                    ctx = Some(c);
                    connect_backoff = Duration::from_millis(500);
                }
                Err(e) => {
                    tracing::warn!(connection = %conn.id, error = %e, "bus unreachable");
                    for d in &devices {
                        ingest
                            .live()
                            .set_status(&d.meter, MeterStatus::Offline, Some(e.clone()));
                    }
                    queue.push(Reverse((Instant::now() + connect_backoff, kind, i)));
                    connect_backoff = (connect_backoff * 2).min(Duration::from_secs(30));
                    continue;
                }
            }
        }
        let device = &mut devices[i];
        let outcome = poll_device(
            ctx.as_mut().expect("connected above"),
            device,
            kind,
            &ingest,
        )
        .await;
        if outcome == (Outcome::Failed { reconnect: true })
            && let Some(c) = ctx.take()
        {
            transport::close(c).await;
        }
        let next = match kind {
            _ if outcome == Outcome::Replanned => Instant::now(),
            PollKind::Live if device.failures >= TRIES => Instant::now() + device.backoff(),
            PollKind::Live if device.failures > 0 => Instant::now(), // retry at once
            PollKind::Live => due + device.live_interval,
            PollKind::Energy if (1..TRIES).contains(&device.failures) => Instant::now(),
            PollKind::Energy => instant_at(next_boundary(Utc::now(), device.energy_interval_min)),
        };
        // Catch up without bursts if the bus fell behind.
        queue.push(Reverse((next.max(Instant::now()), kind, i)));
        if conn.pause_ms > 0 {
            tokio::time::sleep(Duration::from_millis(conn.pause_ms)).await;
        }
    }
    if let Some(c) = ctx.take() {
        transport::close(c).await;
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Done,
    /// The read failed; `reconnect` when the connection may hold a late reply.
    Failed {
        reconnect: bool,
    },
    /// The read plan changed; poll again at once with the new one.
    Replanned,
}

/// Polls one device once.
async fn poll_device(
    ctx: &mut Context,
    d: &mut Device,
    kind: PollKind,
    ingest: &Ingest,
) -> Outcome {
    let plan = match kind {
        PollKind::Live => d.live_plan.clone(),
        PollKind::Energy => d.energy_plan.clone(),
    };
    let mut readings = Vec::new();
    let mut problems = Vec::new();
    for block in &plan {
        match transport::read_block(ctx, d.slave, block, d.timeout).await {
            Ok(words) => {
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
                        Err(e) => problems.push(format!("{quantity}: {e}")),
                    }
                }
            }
            Err(ReadError::Exception(ExceptionCode::IllegalDataAddress))
                if block.has_gaps(&d.profile.registers) && !d.strict =>
            {
                // The meter refuses reads across unmapped registers: read mapped ones only.
                tracing::info!(meter = %d.meter, "meter refuses reads across gaps; reading registers separately");
                d.strict = true;
                d.replan();
                return Outcome::Replanned;
            }
            Err(e) => {
                d.failures += 1;
                let detail = describe(&e, block, &d.profile);
                let status = match e {
                    ReadError::Timeout(_) | ReadError::Transport(_) => MeterStatus::Offline,
                    _ => MeterStatus::Error,
                };
                if d.failures >= TRIES {
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
    d.failures = 0;
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
