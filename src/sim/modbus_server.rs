//! A Modbus TCP server that serves simulated meters through their device profiles: each unit id
//! is one meter; registers hold the profile's encoding of the meter's current values.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use tokio::net::TcpListener;
use tokio_modbus::server::Service;
use tokio_modbus::server::tcp::{Server, accept_tcp_connection};
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};
use tokio_util::sync::CancellationToken;

use super::meter::SimMeter;
use crate::collect::modbus::decode::encode;
use crate::config::Profile;
use crate::config::profile::Function;

/// One simulated device behind the server.
#[derive(Clone)]
pub struct SimUnit {
    pub meter: Arc<SimMeter>,
    pub profile: Arc<Profile>,
    pub fault: Option<Fault>,
}

/// Misbehaviour to inject, for tests and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Never answers (a dead or unpowered meter).
    Silent,
    /// Answers every read with this exception.
    Exception(ExceptionCode),
    /// Answers with all-ones words: NaN floats, implausible integers.
    Garbage,
}

/// Register contents for a read of `count` registers at `address`, or the exception a real
/// meter gives when the range maps nothing.
pub fn read_registers(
    unit: &SimUnit,
    function: Function,
    address: u16,
    count: u16,
) -> Result<Vec<u16>, ExceptionCode> {
    if count == 0 || count > 125 {
        return Err(ExceptionCode::IllegalDataValue);
    }
    let now = Utc::now();
    let start = address as u32;
    let end = start + count as u32;
    let mut words = vec![0u16; count as usize];
    let mut mapped = false;
    for spec in unit
        .profile
        .registers
        .iter()
        .filter(|s| s.function == function)
    {
        if spec.end() <= start || spec.address as u32 >= end {
            continue;
        }
        mapped = true;
        let encoded = encode(unit.meter.value(spec.quantity, now), spec);
        for (k, w) in encoded.iter().enumerate() {
            let a = spec.address as u32 + k as u32;
            if (start..end).contains(&a) {
                words[(a - start) as usize] = *w;
            }
        }
    }
    if mapped {
        Ok(words)
    } else {
        Err(ExceptionCode::IllegalDataAddress)
    }
}

/// How the simulated gateway answers: framing and timing.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerOptions {
    /// RTU frames over TCP (a transparent RS-485 gateway) instead of Modbus TCP.
    pub rtu_over_tcp: bool,
    /// Device turnaround: time from the end of a request to the start of the answer.
    pub turnaround: Duration,
    /// Emulate a serial line at this speed (8E1): request and answer bytes take wire time.
    pub baud: Option<u32>,
}

/// Wire time of `bytes` RTU bytes on an 8E1 line (11 bits per character).
pub fn wire_time(bytes: usize, baud: u32) -> Duration {
    Duration::from_secs_f64(bytes as f64 * 11.0 / baud as f64)
}

/// Time one read of `count` registers occupies the bus: request and answer on the wire plus
/// the device's turnaround. The benchmark's bound is the sum of these per bus.
pub fn exchange_time(count: u16, options: &ServerOptions) -> Duration {
    let wire = options
        .baud
        .map_or(Duration::ZERO, |b| wire_time(8 + 5 + 2 * count as usize, b));
    options.turnaround + wire
}

#[derive(Clone)]
struct SimService {
    units: Arc<HashMap<u8, SimUnit>>,
    options: ServerOptions,
    /// Nanoseconds spent in emulated turnaround and wire time, as actually slept.
    busy_ns: Arc<AtomicU64>,
}

impl Service for SimService {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Exception>> + Send>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        let count = match req.request {
            Request::ReadHoldingRegisters(_, n) | Request::ReadInputRegisters(_, n) => n,
            _ => 0,
        };
        let result = self.answer(req);
        let delay = exchange_time(count, &self.options);
        let busy_ns = self.busy_ns.clone();
        Box::pin(async move {
            if !delay.is_zero() {
                let t = std::time::Instant::now();
                tokio::time::sleep(delay).await;
                busy_ns.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
            }
            result
        })
    }
}

impl SimService {
    fn answer(&self, req: SlaveRequest<'static>) -> Result<Option<Response>, ExceptionCode> {
        // A unit id nobody answers to stays silent, as on a real bus.
        let Some(unit) = self.units.get(&req.slave) else {
            return Ok(None);
        };
        match unit.fault {
            Some(Fault::Silent) => return Ok(None),
            Some(Fault::Exception(code)) => return Err(code),
            Some(Fault::Garbage) | None => {}
        }
        let garbage = unit.fault == Some(Fault::Garbage);
        let scramble = move |mut w: Vec<u16>| {
            if garbage {
                w.iter_mut().for_each(|x| *x = 0xFFFF);
            }
            w
        };
        match req.request {
            Request::ReadHoldingRegisters(a, n) => read_registers(unit, Function::Holding, a, n)
                .map(|w| Some(Response::ReadHoldingRegisters(scramble(w)))),
            Request::ReadInputRegisters(a, n) => read_registers(unit, Function::Input, a, n)
                .map(|w| Some(Response::ReadInputRegisters(scramble(w)))),
            _ => Err(ExceptionCode::IllegalFunction),
        }
    }
}

/// Serves `units` on `listener` until cancelled.
pub async fn serve(listener: TcpListener, units: HashMap<u8, SimUnit>, cancel: CancellationToken) {
    serve_with(listener, units, ServerOptions::default(), cancel).await
}

/// Serves `units` with the given framing and timing until cancelled.
pub async fn serve_with(
    listener: TcpListener,
    units: HashMap<u8, SimUnit>,
    options: ServerOptions,
    cancel: CancellationToken,
) {
    serve_measured(
        listener,
        units,
        options,
        Arc::new(AtomicU64::new(0)),
        cancel,
    )
    .await
}

/// Like [`serve_with`], adding the time the devices actually took (emulated turnaround and wire
/// time, as slept) to `busy_ns`: the bus-time bound of a benchmark.
pub async fn serve_measured(
    listener: TcpListener,
    units: HashMap<u8, SimUnit>,
    options: ServerOptions,
    busy_ns: Arc<AtomicU64>,
    cancel: CancellationToken,
) {
    let service = SimService {
        units: Arc::new(units),
        options,
        busy_ns,
    };
    let on_error = |e| tracing::debug!(error = %e, "simulator connection ended");
    let stop = async move { cancel.cancelled().await };
    if options.rtu_over_tcp {
        let server = tokio_modbus::server::rtu_over_tcp::Server::new(listener);
        let on_connected = move |stream, addr: SocketAddr| {
            let service = service.clone();
            async move {
                tokio_modbus::server::rtu_over_tcp::accept_tcp_connection(stream, addr, move |_| {
                    Ok(Some(service.clone()))
                })
            }
        };
        let _ = server.serve_until(&on_connected, on_error, stop).await;
    } else {
        let server = Server::new(listener);
        let on_connected = move |stream, addr: SocketAddr| {
            let service = service.clone();
            async move { accept_tcp_connection(stream, addr, move |_| Ok(Some(service.clone()))) }
        };
        let _ = server.serve_until(&on_connected, on_error, stop).await;
    }
}
