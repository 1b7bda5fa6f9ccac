//! `jieneng probe`: commission a meter — read every register of its profile once.

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
    /// Modbus unit (slave) id.
    #[arg(long, default_value_t = 1)]
    pub unit: u8,
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
