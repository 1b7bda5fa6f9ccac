//! `jieneng scan`: which unit ids answer on a bus. A device that answers anything — registers
//! or a Modbus exception — is there; silence within the timeout means nobody is. With
//! `--protocol dlt645` or `cjt188`: which of a list or range of nameplate addresses answer, or
//! (DL/T 645, no list) the address of the one meter on the line.

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
    /// modbus, dlt645 or cjt188.
    #[arg(long, default_value = "modbus")]
    pub protocol: String,
    /// DL/T 645 and CJ/T 188: nameplate addresses to try, a range (202300000001-202300000030)
    /// or a list (a,b,c); without it, DL/T 645 asks the line's only meter for its address.
    #[arg(long)]
    pub addresses: Option<String>,
    /// CJ/T 188: the meters' type (cold_water, hot_water, heat, cooling, gas).
    #[arg(long, default_value = "cold_water")]
    pub meter_type: String,
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
    match args.protocol.as_str() {
        "modbus" => {}
        "dlt645" | "cjt188" => return scan_line(args).await,
        other => anyhow::bail!("--protocol `{other}`: modbus, dlt645 or cjt188"),
    }
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

/// Nameplate addresses from a range (`202300000001-202300000030`) or a list; `digits` long.
pub fn parse_addresses(text: &str, digits: usize) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let number = |s: &str| -> Result<u64, String> {
            if s.len() != digits || !s.chars().all(|c| c.is_ascii_digit()) {
                return Err(format!(
                    "address `{s}`: {digits} digits as on the nameplate"
                ));
            }
            s.parse().map_err(|_| format!("address `{s}`"))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (number(a)?, number(b)?);
                if b < a || b - a >= 10_000 {
                    return Err(format!(
                        "range `{part}`: from low to high, at most 10000 addresses"
                    ));
                }
                out.extend((a..=b).map(|n| format!("{n:0digits$}")));
            }
            None => out.push(format!("{:0digits$}", number(part)?)),
        }
    }
    if out.is_empty() {
        return Err("--addresses: no address given".into());
    }
    Ok(out)
}

#[derive(Serialize)]
struct FoundMeter {
    address: String,
    /// `answered` or what the meter refused with.
    answer: String,
}

async fn scan_line(args: Args) -> anyhow::Result<ExitCode> {
    use crate::collect::line::{self, LineError, Link};
    use crate::config::line_profile::LineProtocol;
    let dlt = args.protocol == "dlt645";
    let protocol = if dlt {
        LineProtocol::Dlt645_2007
    } else {
        LineProtocol::Cjt188(crate::collect::cjt188::frame::MeterType::ColdWater)
    };
    let url = line::line_url(&args.url, protocol).map_err(|e| anyhow::anyhow!(e))?;
    let timeout = Duration::from_millis(args.timeout_ms);
    let mut link = Link::open(&url, Duration::from_secs(3))
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    let Some(list) = &args.addresses else {
        if !dlt {
            anyhow::bail!("--addresses: CJ/T 188 meters are found by trying their addresses");
        }
        let found =
            line::read_dlt645_address(&mut link, timeout.max(Duration::from_millis(1000))).await;
        link.close().await;
        return match found {
            Ok(a) => {
                println!("{a}");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!(
                    "no meter gave its address on {url}: {e} (with several meters on a line, try --addresses)"
                );
                Ok(ExitCode::FAILURE)
            }
        };
    };
    let addresses =
        parse_addresses(list, if dlt { 12 } else { 14 }).map_err(|e| anyhow::anyhow!(e))?;
    let meter_type = match args.meter_type.as_str() {
        "cold_water" => 0x10,
        "hot_water" => 0x11,
        "heat" => 0x20,
        "cooling" => 0x21,
        "gas" => 0x30,
        other => {
            anyhow::bail!("--meter-type `{other}`: cold_water, hot_water, heat, cooling or gas")
        }
    };
    let meter_type = crate::collect::cjt188::frame::MeterType::from_code(meter_type);
    let mut found = Vec::new();
    for text in addresses {
        let answer = if dlt {
            let address = text.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
            let id = crate::collect::dlt645::frame::DataId::V2007(0x0001_0000);
            line::read_dlt645_id(&mut link, &address, id, timeout)
                .await
                .map(|_| ())
        } else {
            let address = text.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
            line::read_cjt188_raw(&mut link, meter_type, &address, timeout, 0)
                .await
                .map(|_| ())
        };
        let answer = match answer {
            Ok(()) => Some("answered".to_string()),
            // A refusal proves the meter is there just as well.
            Err(LineError::Refused(why)) => Some(format!("refused: {why}")),
            Err(_) => None,
        };
        if let Some(answer) = answer {
            if !args.json {
                println!("{text}");
            }
            found.push(FoundMeter {
                address: text,
                answer,
            });
        }
    }
    link.close().await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&found)?);
    } else {
        eprintln!("{} meter(s) answered on {url}", found.len());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_addresses;

    #[test]
    fn addresses_come_as_ranges_or_lists_of_nameplate_digits() {
        assert_eq!(
            parse_addresses("202300000009-202300000011", 12).unwrap(),
            ["202300000009", "202300000010", "202300000011"]
        );
        assert_eq!(
            parse_addresses("000000000001,202300001234", 12)
                .unwrap()
                .len(),
            2
        );
        for bad in [
            "",
            "12345",
            "202300000011-202300000009",
            "000000000000-000000099999",
            "20230000123x",
        ] {
            assert!(parse_addresses(bad, 12).is_err(), "{bad}");
        }
    }
}
