//! `jieneng probe`: commission a meter — read every register (Modbus) or identifier (DL/T 645,
//! CJ/T 188) of its profile once.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use crate::collect::modbus::decode::decode_block;
use crate::collect::modbus::plan::{ReadBlock, plan_reads};
use crate::collect::modbus::poller::describe;
use crate::collect::modbus::transport::{Bus, ReadError};
use crate::collect::modbus::url::ModbusUrl;
use crate::config::ProfileLibrary;
use crate::config::profile::RegisterSpec;

#[derive(clap::Args)]
pub struct Args {
    /// tcp://HOST:PORT, rtu-tcp://HOST:PORT or rtu:///dev/ttyUSB0?baud=9600&parity=E
    #[arg(long)]
    pub url: String,
    /// modbus, dlt645 or cjt188.
    #[arg(long, default_value = "modbus")]
    pub protocol: String,
    /// Modbus unit (slave) id.
    #[arg(long, default_value_t = 1)]
    pub unit: u8,
    /// DL/T 645: the 12 digits on the nameplate; CJ/T 188: the 14 digits.
    #[arg(long)]
    pub address: Option<String>,
    /// Profile name (see devices/) or path to a profile file.
    #[arg(long)]
    pub profile: String,
    /// Print the values as one JSON object keyed by quantity.
    #[arg(long)]
    pub json: bool,
    /// Per-request timeout (default: the profile's).
    #[arg(long)]
    pub timeout_ms: Option<u64>,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.protocol.as_str() {
        "modbus" => {}
        "dlt645" | "cjt188" => return probe_line(args).await,
        other => anyhow::bail!("--protocol `{other}`: modbus, dlt645 or cjt188"),
    }
    let url = ModbusUrl::parse(&args.url).map_err(|e| anyhow::anyhow!(e))?;
    let profile = ProfileLibrary::builtin()
        .resolve(&args.profile)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let timeout = Duration::from_millis(args.timeout_ms.unwrap_or(profile.timeout_ms));
    let mut bus = Bus::open(&url, timeout.max(Duration::from_secs(3)), Duration::ZERO)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let plan = plan_reads(
        &profile.registers,
        |_| true,
        profile.max_block,
        profile.max_fill,
    );
    let mut values: BTreeMap<&'static str, f64> = BTreeMap::new();
    let mut problems = Vec::new();
    for block in &plan {
        match bus.read(args.unit, block, timeout).await {
            Ok((words, _)) => collect(
                &words,
                block,
                &profile.registers,
                &mut values,
                &mut problems,
            ),
            // A meter that refuses a read spanning unmapped registers: read register by register.
            Err(ReadError::Exception(_)) if block.has_gaps(&profile.registers) => {
                for &i in &block.registers {
                    let spec = &profile.registers[i];
                    let single = ReadBlock {
                        function: spec.function,
                        address: spec.address,
                        count: spec.words,
                        registers: vec![i],
                    };
                    match bus.read(args.unit, &single, timeout).await {
                        Ok((words, _)) => collect(
                            &words,
                            &single,
                            &profile.registers,
                            &mut values,
                            &mut problems,
                        ),
                        Err(e) => problems.push(describe(&e, &single, &profile)),
                    }
                }
            }
            Err(e) => {
                let poisoned = e.poisons_connection();
                problems.push(describe(&e, block, &profile));
                if poisoned {
                    // A late answer would be taken for the next one: start afresh.
                    bus.close().await;
                    bus = Bus::open(&url, timeout.max(Duration::from_secs(3)), Duration::ZERO)
                        .await
                        .map_err(|e| anyhow::anyhow!(e))?;
                }
            }
        }
    }
    bus.close().await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&values)?);
    } else {
        println!(
            "{} {} ({}) at {} unit {}",
            profile.manufacturer, profile.model, profile.name, url, args.unit
        );
        for spec in &profile.registers {
            if let Some(v) = values.get(spec.quantity.name()) {
                println!(
                    "  {:<30} {:>14.3} {}",
                    spec.quantity.name(),
                    v,
                    spec.quantity.unit()
                );
            }
        }
    }
    for p in &problems {
        eprintln!("warning: {p}");
    }
    Ok(if values.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn collect(
    words: &[u16],
    block: &ReadBlock,
    specs: &[RegisterSpec],
    values: &mut BTreeMap<&'static str, f64>,
    problems: &mut Vec<String>,
) {
    for (q, v) in decode_block(words, block, specs) {
        match v {
            Ok(v) => {
                values.insert(q.name(), v);
            }
            Err(e) => problems.push(format!("{q}: {e}")),
        }
    }
}

/// Probes a DL/T 645 or CJ/T 188 meter: every value of its line profile, once.
async fn probe_line(args: Args) -> anyhow::Result<ExitCode> {
    use crate::collect::line::{self, Link};
    use crate::config::line_profile::{LineProfileLibrary, LineProtocol};
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
    let Some(address) = args.address.as_deref() else {
        anyhow::bail!(
            "--address: the meter's address as on its nameplate (12 digits for DL/T 645, 14 for CJ/T 188)"
        );
    };
    let url = line::line_url(&args.url, profile.protocol).map_err(|e| anyhow::anyhow!(e))?;
    let timeout = Duration::from_millis(args.timeout_ms.unwrap_or(profile.timeout_ms));
    let mut link = Link::open(&url, timeout.max(Duration::from_secs(3)))
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let read = match profile.protocol {
        LineProtocol::Cjt188(meter_type) => {
            let address = address
                .parse::<crate::collect::cjt188::frame::Address>()
                .map_err(|e| anyhow::anyhow!("--address: {e}"))?;
            line::read_cjt188(&mut link, meter_type, &address, &profile, timeout, 0).await
        }
        _ => {
            let address = address
                .parse::<crate::collect::dlt645::frame::Address>()
                .map_err(|e| anyhow::anyhow!("--address: {e}"))?;
            line::read_dlt645(&mut link, &address, &profile, timeout, |_| true).await
        }
    };
    let noise = link.noise_bytes;
    link.close().await;
    if args.json {
        let values: BTreeMap<&str, serde_json::Value> = read
            .values
            .iter()
            .map(|(q, v)| (q.name(), serde_json::Value::String(v.to_string())))
            .collect();
        println!("{}", serde_json::to_string_pretty(&values)?);
    } else {
        println!(
            "{} {} ({}) at {} address {address}",
            profile.manufacturer, profile.model, profile.name, url
        );
        for (q, v) in &read.values {
            println!("  {:<30} {:>14} {}", q.name(), v.to_string(), q.unit());
        }
    }
    for (id, e) in &read.errors {
        eprintln!("warning: {id}: {e}");
    }
    if noise > 0 {
        eprintln!(
            "note: {noise} byte(s) on the line belonged to no reply (noise or a late answer)"
        );
    }
    Ok(if read.values.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
