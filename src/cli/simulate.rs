//! `jieneng simulate`: a meter simulator. Modbus (the default): a Modbus TCP server, or RTU
//! framing over TCP, serving a profile's registers per unit id. DL/T 645 and CJ/T 188: a
//! transparent RS-485 gateway with meters of a line profile behind it, by nameplate address
//! (`sim::line_server`).

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
    /// modbus, dlt645 or cjt188.
    #[arg(long, default_value = "modbus")]
    pub protocol: String,
    /// Profile name (see devices/, devices/dlt645/, devices/cjt188/) or path to a profile file.
    #[arg(long)]
    pub profile: String,
    /// Address to listen on, e.g. 127.0.0.1:5020.
    #[arg(long)]
    pub listen: String,
    /// Modbus: unit ids to answer, e.g. 1-10 or 1,3,5. DL/T 645, CJ/T 188: how many meters,
    /// at addresses from 000000000001 (12 digits; CJ/T 188: 14) up.
    #[arg(long, default_value = "1")]
    pub units: String,
    /// DL/T 645, CJ/T 188: the meters' nameplate addresses, e.g. 202300000001-202300000010 or
    /// a comma-separated list (instead of --units).
    #[arg(long)]
    pub addresses: Option<String>,
    /// Speak RTU frames over TCP, like a transparent RS-485 gateway.
    #[arg(long)]
    pub rtu_over_tcp: bool,
    /// Device turnaround before each answer.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Emulate the wire time of a serial line at this speed (8E1).
    #[arg(long)]
    pub baud: Option<u32>,
    /// Units that never answer, e.g. 3,7 (DL/T 645, CJ/T 188: addresses, as --addresses).
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
    match args.protocol.as_str() {
        "modbus" => {}
        "dlt645" | "cjt188" => return run_line(args).await,
        other => anyhow::bail!("--protocol `{other}`: modbus, dlt645 or cjt188"),
    }
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

/// Most meters one simulated line carries (a real RS-485 segment has 32 to 256).
pub const MAX_LINE_METERS: usize = 1000;

/// Nameplate addresses of `digits` digits: `202300000001-202300000010`, a comma-separated list,
/// or a mix; at most [`MAX_LINE_METERS`].
pub fn parse_addresses(spec: &str, digits: usize) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad =
            || format!("`{part}` is not an address ({digits} digits) or a range of them (A-B)");
        let number = |s: &str| {
            let s = s.trim();
            (s.len() == digits && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u64>().ok())
                .flatten()
        };
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (number(a).ok_or_else(bad)?, number(b).ok_or_else(bad)?),
            None => {
                let a = number(part).ok_or_else(bad)?;
                (a, a)
            }
        };
        if a > b {
            return Err(bad());
        }
        if (b - a) as usize >= MAX_LINE_METERS || out.len() + (b - a) as usize >= MAX_LINE_METERS {
            return Err(format!("more than {MAX_LINE_METERS} meters on one line"));
        }
        out.extend((a..=b).map(|n| format!("{n:0digits$}")));
    }
    if out.is_empty() {
        return Err("no addresses given".into());
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|a| seen.insert(a.clone()));
    Ok(out)
}

/// The addresses of a line simulator: `--addresses`, or `--units N` meters from 1 up.
fn line_addresses(args: &Args, digits: usize) -> Result<Vec<String>, String> {
    if let Some(spec) = &args.addresses {
        return parse_addresses(spec, digits);
    }
    let n: usize = args
        .units
        .trim()
        .parse()
        .ok()
        .filter(|n| (1..=MAX_LINE_METERS).contains(n))
        .ok_or_else(|| {
            format!(
                "--units `{}`: with --protocol dlt645 or cjt188, how many meters (1 to {MAX_LINE_METERS}); or give --addresses",
                args.units
            )
        })?;
    Ok((1..=n).map(|k| format!("{k:0digits$}")).collect())
}

/// A DL/T 645 or CJ/T 188 line: a transparent gateway with the profile's meters behind it.
async fn run_line(args: Args) -> anyhow::Result<ExitCode> {
    use crate::collect::line;
    use crate::config::line_profile::LineProfileLibrary;
    use crate::sim::line_server::{
        Cjt188Meter, Dlt645Meter, LineMeters, LineOptions, cjt188_meter, dlt645_medium, line_meter,
        serve_line,
    };
    for (given, name) in [
        (args.exception.is_some(), "--exception"),
        (args.garbage.is_some(), "--garbage"),
    ] {
        if given {
            anyhow::bail!("{name} is for Modbus units; a DL/T 645 or CJ/T 188 line knows --dead");
        }
    }
    if args.baud == Some(0) {
        anyhow::bail!("--baud 0: give the line's speed in baud (2400, 9600, ...)");
    }
    let profile = LineProfileLibrary::builtin()
        .resolve(&args.profile)
        .map_err(|e| anyhow::anyhow!("--profile: {e}"))?;
    let dlt = line::is_dlt645(&profile);
    if dlt != (args.protocol == "dlt645") {
        anyhow::bail!(
            "--profile {} speaks {}, not {}",
            profile.name,
            if dlt { "dlt645" } else { "cjt188" },
            args.protocol
        );
    }
    let digits = if dlt { 12 } else { 14 };
    let addresses = line_addresses(&args, digits).map_err(|e| anyhow::anyhow!(e))?;
    let dead = match &args.dead {
        Some(spec) => parse_addresses(spec, digits).map_err(|e| anyhow::anyhow!("--dead: {e}"))?,
        None => Vec::new(),
    };
    if let Some(stranger) = dead.iter().find(|d| !addresses.contains(d)) {
        anyhow::bail!("--dead {stranger}: not one of the simulated meters");
    }
    let meters = if dlt {
        let medium = dlt645_medium(&profile);
        let mut meters: Vec<Dlt645Meter> = Vec::new();
        for (k, a) in addresses.iter().enumerate() {
            meters.push(Dlt645Meter {
                address: a.parse().map_err(|e| anyhow::anyhow!("{e}"))?,
                profile: profile.clone(),
                meter: line_meter(medium, k as u64 + 1),
                dead: dead.contains(a),
            });
        }
        LineMeters::Dlt645(meters)
    } else {
        let mut meters: Vec<Cjt188Meter> = Vec::new();
        for (k, a) in addresses.iter().enumerate() {
            let address = a.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut m = cjt188_meter(profile.clone(), address, k as u64 + 1);
            m.dead = dead.contains(a);
            meters.push(m);
        }
        LineMeters::Cjt188(meters)
    };
    let listener = TcpListener::bind(&args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    let options = LineOptions {
        turnaround: std::time::Duration::from_millis(args.latency_ms),
        baud: args.baud,
    };
    println!(
        "simulating {} {} ({}) as {} meter(s) {}{}{} on rtu-tcp://{}",
        profile.manufacturer,
        profile.model,
        profile.name,
        meters.len(),
        addresses.first().map_or("", String::as_str),
        if addresses.len() > 1 { " … " } else { "" },
        if addresses.len() > 1 {
            addresses.last().map_or("", String::as_str)
        } else {
            ""
        },
        listener.local_addr()?
    );
    let cancel = CancellationToken::new();
    let server = tokio::spawn(serve_line(listener, meters, options, cancel.clone()));
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

    #[test]
    fn address_lists() {
        assert_eq!(
            parse_addresses("202300000009-202300000011,202300000001", 12).unwrap(),
            vec![
                "202300000009",
                "202300000010",
                "202300000011",
                "202300000001"
            ]
        );
        assert_eq!(
            parse_addresses("00000000000001", 14).unwrap(),
            vec!["00000000000001"]
        );
        assert!(parse_addresses("2023-1", 12).is_err());
        assert!(parse_addresses("202300000002-202300000001", 12).is_err());
        assert!(parse_addresses("000000000001-000000999999", 12).is_err());
        assert!(parse_addresses("", 12).is_err());
        assert!(
            parse_addresses("20230000001", 12)
                .unwrap_err()
                .contains("12 digits")
        );
    }
}
