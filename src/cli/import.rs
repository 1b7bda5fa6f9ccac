//! `jieneng import readings --config FILE CSV`: readings entered by hand (meters without
//! communication, a read-out after an outage). Columns `meter,time,quantity,value[,note]`,
//! RFC 3339 times. Every bad row is reported by line, and nothing of a file with a bad row is
//! imported.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::ingest::validate;
use crate::quantity::Quantity;
use crate::reading::{Reading, ReadingQuality};
use crate::site::Site;

#[derive(clap::Subcommand)]
pub enum What {
    /// Readings from a CSV file.
    Readings(Args),
    /// Payments against issued statements from a CSV file:
    /// statement,amount,paid_on[,method,reference].
    Payments(PaymentArgs),
    /// Dormitory rooms' free quota carried over from the system used before, from a month on,
    /// from a CSV file: tenant,month,carried_in[,note].
    OpeningBalances(PaymentArgs),
}

/// Prints every bad row of a file that was refused as a whole.
fn refused(csv: &Path, errors: &[String]) -> ExitCode {
    for e in errors {
        eprintln!("{e}");
    }
    eprintln!(
        "{}: {} error(s); nothing was recorded",
        csv.display(),
        errors.len()
    );
    ExitCode::FAILURE
}

fn opening_balances(args: PaymentArgs) -> anyhow::Result<ExitCode> {
    let Some(site) = super::load_site(&args.config) else {
        return Ok(ExitCode::FAILURE);
    };
    let text = std::fs::read_to_string(&args.csv)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.csv.display()))?;
    match crate::billing::openings::parse(&args.csv, &text, &site) {
        Ok(list) => {
            let store = super::open_store(&site)?;
            let meters = |tenant: &str| -> Vec<String> {
                site.tenant(tenant)
                    .map(|t| t.meters.iter().map(|m| m.meter.clone()).collect())
                    .unwrap_or_default()
            };
            let flagged = store.writer()?.record_openings(
                &list,
                &meters,
                &super::operator(args.by.as_deref()),
            )?;
            println!(
                "{}: recorded {} opening balance(s)",
                args.csv.display(),
                list.len()
            );
            if !flagged.is_empty() {
                println!(
                    "issued statements to re-issue (their free quota changed): {}",
                    flagged.join(", ")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => Ok(refused(&args.csv, &errors)),
    }
}

#[derive(clap::Args)]
pub struct PaymentArgs {
    #[arg(long)]
    pub config: PathBuf,
    /// Who records them (kept in the audit log); the operating-system account by default.
    #[arg(long)]
    pub by: Option<String>,
    /// The CSV file (its columns: see the subcommand).
    pub csv: PathBuf,
}

fn payments(args: PaymentArgs) -> anyhow::Result<ExitCode> {
    let Some(site) = super::load_site(&args.config) else {
        return Ok(ExitCode::FAILURE);
    };
    let text = std::fs::read_to_string(&args.csv)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.csv.display()))?;
    let store = super::open_store(&site)?;
    let known = store
        .reader()?
        .issued_statements(None, None)?
        .into_iter()
        .map(|i| (i.statement.number, i.superseded_by))
        .collect();
    match crate::billing::payments::parse(&args.csv, &text, &known) {
        Ok(list) => {
            let total: rust_decimal::Decimal = list.iter().map(|p| p.amount).sum();
            store
                .writer()?
                .record_payments(&list, &super::operator(args.by.as_deref()))?;
            println!(
                "{}: recorded {} payment(s), {total} yuan",
                args.csv.display(),
                list.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => Ok(refused(&args.csv, &errors)),
    }
}

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub config: PathBuf,
    /// Who entered them (kept in the audit log); the operating-system account by default.
    #[arg(long)]
    pub by: Option<String>,
    /// The CSV file: meter,time,quantity,value[,note]
    pub csv: PathBuf,
}

#[derive(Deserialize)]
struct Row {
    meter: String,
    time: String,
    quantity: String,
    value: String,
    #[serde(default)]
    note: Option<String>,
}

/// Parses and checks the whole file; the readings, or every problem as `FILE:LINE: message`.
pub fn parse_readings(
    path: &Path,
    site: &Site,
    now: DateTime<Utc>,
) -> Result<Vec<(Reading, Option<String>)>, Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_path(path)
        .map_err(|e| vec![format!("{}: {e}", path.display())])?;
    let headers = reader
        .headers()
        .map_err(|e| vec![format!("{}:1: {e}", path.display())])?
        .clone();
    for needed in ["meter", "time", "quantity", "value"] {
        if !headers.iter().any(|h| h == needed) {
            return Err(vec![format!(
                "{}:1: the header needs columns meter,time,quantity,value[,note]; `{needed}` is missing",
                path.display()
            )]);
        }
    }
    let known = crate::ingest::known_meters(site);
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        let (line, result) = match record {
            Ok(rec) => {
                let line = rec.position().map_or(0, |p| p.line());
                (
                    line,
                    rec.deserialize::<Row>(Some(&headers))
                        .map_err(|e| e.to_string()),
                )
            }
            Err(e) => (e.position().map_or(0, |p| p.line()), Err(e.to_string())),
        };
        let err = |m: String| format!("{}:{line}: {m}", path.display());
        let row = match result {
            Ok(r) => r,
            Err(e) => {
                errors.push(err(e));
                continue;
            }
        };
        let Some(quantity) = Quantity::parse(&row.quantity) else {
            errors.push(err(format!("unknown quantity `{}`", row.quantity)));
            continue;
        };
        let Ok(time) = DateTime::parse_from_rfc3339(&row.time) else {
            errors.push(err(format!(
                "time `{}` is not RFC 3339 (e.g. 2026-11-01T09:00:00+08:00)",
                row.time
            )));
            continue;
        };
        let Ok(value) = row.value.parse::<f64>() else {
            errors.push(err(format!("value `{}` is not a number", row.value)));
            continue;
        };
        let reading = Reading {
            meter: Arc::from(row.meter.as_str()),
            quantity,
            time: time.with_timezone(&Utc),
            value,
            quality: ReadingQuality::Manual,
        };
        if let Err(e) = validate(&reading, &known, now) {
            errors.push(err(e.to_string()));
            continue;
        }
        out.push((reading, row.note));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

pub fn run(what: What) -> anyhow::Result<ExitCode> {
    let args = match what {
        What::Readings(args) => args,
        What::Payments(args) => return payments(args),
        What::OpeningBalances(args) => return opening_balances(args),
    };
    let Some(site) = super::load_site(&args.config) else {
        return Ok(ExitCode::FAILURE);
    };
    match parse_readings(&args.csv, &site, Utc::now()) {
        Ok(readings) => {
            let store = super::open_store(&site)?;
            store
                .writer()?
                .write_manual(&readings, &super::operator(args.by.as_deref()))?;
            println!(
                "{}: imported {} readings",
                args.csv.display(),
                readings.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!(
                "{}: {} error(s); nothing was imported",
                args.csv.display(),
                errors.len()
            );
            Ok(ExitCode::FAILURE)
        }
    }
}
