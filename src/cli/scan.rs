//! `jieneng scan`: which unit ids answer on a bus. A device that answers anything — registers
//! or a Modbus exception — is there; silence within the timeout means nobody is.

use std::process::ExitCode;
use std::time::Duration;

use serde::Serialize;

use crate::collect::modbus::plan::ReadBlock;
use crate::collect::modbus::transport::{Bus, ReadError};
use crate::collect::modbus::url::ModbusUrl;
use crate::config::profile::Function;
use tokio_modbus::ExceptionCode;

#[derive(clap::Args)]
pub struct Args {
    /// tcp://HOST:PORT, rtu-tcp://HOST:PORT or rtu:///dev/ttyUSB0?baud=9600&parity=E
    #[arg(long)]
    pub url: String,
    /// Unit ids to try, e.g. 1-247 or 1,3,5.
    #[arg(long, default_value = "1-247")]
    pub units: String,
    /// How long to wait for each unit.
    #[arg(long, default_value_t = 300)]
    pub timeout_ms: u64,
    /// Print a JSON list with what each unit answered.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Found {
    unit: u8,
    /// `registers` or the exception it answered with.
    answer: String,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let url = ModbusUrl::parse(&args.url).map_err(|e| anyhow::anyhow!(e))?;
    let units = super::simulate::parse_units(&args.units).map_err(|e| anyhow::anyhow!(e))?;
    let timeout = Duration::from_millis(args.timeout_ms);
    let open = || Bus::open(&url, Duration::from_secs(3), Duration::ZERO);
    let mut bus = open().await.map_err(|e| anyhow::anyhow!(e))?;
    let mut found = Vec::new();
    for unit in units {
        let mut answer = None;
        // Holding register 0, then input register 0: most meters map one of them or answer
        // with an exception, which proves they are there just as well.
        for function in [Function::Holding, Function::Input] {
            let block = ReadBlock {
                function,
                address: 0,
                count: 1,
                registers: vec![],
            };
            match bus.read(unit, &block, timeout).await {
                Ok(_) => answer = Some("registers".to_string()),
                // A gateway speaking for a device that did not answer: nobody is there.
                Err(ReadError::Exception(
                    ExceptionCode::GatewayPathUnavailable | ExceptionCode::GatewayTargetDevice,
                )) => break,
                Err(ReadError::Exception(code)) => answer = Some(format!("exception: {code}")),
                Err(e) => {
                    if e.poisons_connection() {
                        bus.close().await;
                        bus = open().await.map_err(|e| anyhow::anyhow!(e))?;
                    }
                    // Silence on holding registers says the unit is absent; no need to ask twice.
                    if matches!(e, ReadError::Timeout(_)) {
                        break;
                    }
                    continue;
                }
            }
            if answer.as_deref() == Some("registers") {
                break;
            }
        }
        if let Some(answer) = answer {
            if !args.json {
                println!("{unit}");
            }
            found.push(Found { unit, answer });
        }
    }
    bus.close().await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&found)?);
    } else {
        eprintln!("{} unit(s) answered on {url}", found.len());
    }
    Ok(ExitCode::SUCCESS)
}
