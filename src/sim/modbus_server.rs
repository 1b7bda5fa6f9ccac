//! A Modbus TCP server that serves simulated meters through their device profiles: each unit id
//! is one meter; registers hold the profile's encoding of the meter's current values.

use std::collections::HashMap;
use std::future;
use std::net::SocketAddr;
use std::sync::Arc;

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

#[derive(Clone)]
struct SimService {
    units: Arc<HashMap<u8, SimUnit>>,
}

impl Service for SimService {
    type Request = SlaveRequest<'static>;
    type Response = Option<Response>;
    type Exception = ExceptionCode;
    type Future = future::Ready<Result<Self::Response, Self::Exception>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        // A unit id nobody answers to stays silent, as on a real bus.
        let Some(unit) = self.units.get(&req.slave) else {
            return future::ready(Ok(None));
        };
        match unit.fault {
            Some(Fault::Silent) => return future::ready(Ok(None)),
            Some(Fault::Exception(code)) => return future::ready(Err(code)),
            Some(Fault::Garbage) | None => {}
        }
        let garbage = unit.fault == Some(Fault::Garbage);
        let scramble = move |mut w: Vec<u16>| {
            if garbage {
                w.iter_mut().for_each(|x| *x = 0xFFFF);
            }
            w
        };
        let result = match req.request {
            Request::ReadHoldingRegisters(a, n) => read_registers(unit, Function::Holding, a, n)
                .map(|w| Some(Response::ReadHoldingRegisters(scramble(w)))),
            Request::ReadInputRegisters(a, n) => read_registers(unit, Function::Input, a, n)
                .map(|w| Some(Response::ReadInputRegisters(scramble(w)))),
            _ => Err(ExceptionCode::IllegalFunction),
        };
        future::ready(result)
    }
}

/// Serves `units` on `listener` until cancelled.
pub async fn serve(listener: TcpListener, units: HashMap<u8, SimUnit>, cancel: CancellationToken) {
    let service = SimService {
        units: Arc::new(units),
    };
    let server = Server::new(listener);
    let on_connected = move |stream, addr: SocketAddr| {
        let service = service.clone();
        async move { accept_tcp_connection(stream, addr, move |_| Ok(Some(service.clone()))) }
    };
    let on_error = |e| tracing::debug!(error = %e, "simulator connection ended");
    let _ = server
        .serve_until(
            &on_connected,
            on_error,
            async move { cancel.cancelled().await },
        )
        .await;
}
