//! `jieneng simulate`: a Modbus TCP meter simulator serving a profile's registers.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{Profile, ProfileLibrary};
use crate::quantity::Quantity;
use crate::sim::load::{Component, Shape};
use crate::sim::meter::{Medium, SimMeter};
use crate::sim::modbus_server::{Fault, ServerOptions, SimUnit, serve_with};
use tokio_modbus::ExceptionCode;

#[derive(clap::Args)]
pub struct Args {
    /// Profile name (see devices/) or path to a profile file.
    #[arg(long)]
    pub profile: String,
    /// Address to listen on, e.g. 127.0.0.1:5020.
    #[arg(long)]
    pub listen: String,
    /// Unit ids to answer, e.g. 1-10 or 1,3,5.
    #[arg(long, default_value = "1")]
    pub units: String,
    /// Speak RTU frames over TCP, like a transparent RS-485 gateway.
    #[arg(long)]
    pub rtu_over_tcp: bool,
    /// Device turnaround before each answer.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Emulate the wire time of a serial line at this speed (8E1).
    #[arg(long)]
    pub baud: Option<u32>,
    /// Units that never answer, e.g. 3,7.
    #[arg(long)]
    pub dead: Option<String>,
    /// Units that answer every read with a Modbus exception (illegal data address).
    #[arg(long)]
    pub exception: Option<String>,
    /// Units that answer with garbage values (all bits set).
    #[arg(long)]
    pub garbage: Option<String>,
}

/// Parses `1-10`, `1,3,5` or a mix.
pub fn parse_units(spec: &str) -> Result<Vec<u8>, String> {
    let mut units = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("`{part}` is not a unit id or range of 1..=247 (e.g. 1-10)");
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (
                a.trim().parse::<u8>().map_err(|_| bad())?,
                b.trim().parse::<u8>().map_err(|_| bad())?,
            ),
            None => {
                let u = part.parse::<u8>().map_err(|_| bad())?;
                (u, u)
            }
        };
        if a == 0 || b > 247 || a > b {
            return Err(bad());
        }
        units.extend(a..=b);
    }
    if units.is_empty() {
        return Err("no unit ids given".into());
    }
    units.dedup();
    Ok(units)
}

/// What kind of meter a profile describes, judged from its quantities.
pub fn medium_of(profile: &Profile) -> Medium {
    let has = |q: &str| profile.register(Quantity::named(q)).is_some();
    if has("water_m3") {
        Medium::Water
    } else if has("gas_m3") {
        Medium::Gas
    } else if has("voltage_l2_v") {
        Medium::Electricity3
    } else {
        Medium::Electricity1
    }
}

/// A simulated meter for unit `unit` of a profile: an office-like load sized for its kind.
pub fn sim_unit(profile: &Arc<Profile>, unit: u8) -> SimUnit {
    let medium = medium_of(profile);
    let seed = 0x5EED_0000 + unit as u64;
    let peak = match medium {
        Medium::Electricity3 => 20.0 + 10.0 * unit as f64,
        Medium::Electricity1 => 2.0 + unit as f64,
        Medium::Water | Medium::Gas => 1.0 + 0.5 * unit as f64,
    };
    let load = Component {
        shape: Shape::Office,
        base: peak * 0.1,
        peak,
        seed,
    };
    let meter = SimMeter::new(
        medium,
        vec![load],
        seed,
        1000.0 * unit as f64,
        chrono_tz::Asia::Shanghai,
    );
    SimUnit {
        meter: Arc::new(meter),
        profile: profile.clone(),
        fault: None,
    }
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let profile = ProfileLibrary::builtin()
        .resolve(&args.profile)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let units = parse_units(&args.units).map_err(|e| anyhow::anyhow!(e))?;
    let listener = TcpListener::bind(&args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    let mut map: HashMap<u8, SimUnit> = units.iter().map(|&u| (u, sim_unit(&profile, u))).collect();
    for (list, fault) in [
        (&args.dead, Fault::Silent),
        (
            &args.exception,
            Fault::Exception(ExceptionCode::IllegalDataAddress),
        ),
        (&args.garbage, Fault::Garbage),
    ] {
        if let Some(list) = list {
            for u in parse_units(list).map_err(|e| anyhow::anyhow!(e))? {
                map.entry(u).or_insert_with(|| sim_unit(&profile, u)).fault = Some(fault);
            }
        }
    }
    let options = ServerOptions {
        rtu_over_tcp: args.rtu_over_tcp,
        turnaround: std::time::Duration::from_millis(args.latency_ms),
        baud: args.baud,
    };
    println!(
        "simulating {} {} ({}) as unit(s) {} on {}://{}",
        profile.manufacturer,
        profile.model,
        profile.name,
        args.units,
        if args.rtu_over_tcp { "rtu-tcp" } else { "tcp" },
        listener.local_addr()?
    );
    let cancel = CancellationToken::new();
    let server = tokio::spawn(serve_with(listener, map, options, cancel.clone()));
    crate::runtime::shutdown_signal().await;
    cancel.cancel();
    let _ = server.await;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_lists() {
        assert_eq!(parse_units("1-3,7").unwrap(), vec![1, 2, 3, 7]);
        assert!(parse_units("0-3").is_err());
        assert!(parse_units("5-2").is_err());
        assert!(parse_units("x").unwrap_err().contains("`x`"));
    }
}
