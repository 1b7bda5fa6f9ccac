//! The `jieneng` command line: one file per subcommand.

pub mod backup;
pub mod bench;
pub mod bench_billing;
pub mod bench_chart;
pub mod bench_dlt645;
pub mod bench_ledger;
pub mod bench_modbus;
pub mod bench_mqtt;
pub mod bench_report;
pub mod bill;
pub mod check;
pub mod consumption;
pub mod demo;
pub mod import;
pub mod probe;
pub mod rate;
pub mod report;
pub mod scan;
pub mod serve;
pub mod simulate;
pub mod user;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "jieneng",
    version,
    about = "节能 — energy-saving monitoring for public institutions"
)]
pub struct Cli {
    /// Log as JSON lines instead of text.
    #[arg(long, global = true)]
    pub log_json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run a simulated campus with live collection and the web UI.
    Demo(demo::Args),
    /// Run collectors, store and web server from a config file.
    Serve(serve::Args),
    /// Validate a config file and its device profiles.
    Check(check::Args),
    /// Copy the database while the service runs (an online backup), checked.
    Backup(backup::Args),
    /// Put a backup in place of the database (the service must be stopped).
    Restore(backup::RestoreArgs),
    /// A meter's consumption per 15 minutes, hour, day or month, from the ledger.
    Consumption(consumption::Args),
    /// Every unit's rating (考核评价) for a month, ranked, with each item's input and score.
    Rate(rate::Args),
    /// Utility-charge statements for a month (JSON, CSV, Excel, PDF); --issue issues them.
    Bill(bill::Args),
    /// Reports for the energy-saving committee.
    #[command(subcommand)]
    Report(report::What),
    /// Users, roles and API tokens.
    #[command(subcommand)]
    User(user::What),
    /// Import readings entered by hand.
    #[command(subcommand)]
    Import(import::What),
    /// Read one Modbus device once and print its decoded values.
    Probe(probe::Args),
    /// List the Modbus unit ids that answer on a bus.
    Scan(scan::Args),
    /// Run a Modbus meter simulator.
    Simulate(simulate::Args),
    /// Benchmarks: decoding, store writes.
    Bench(bench::Args),
}

/// The site config at `config`, or `None` after printing every problem as `FILE:LINE:COL:
/// message` (the command then exits 1).
pub fn load_site(config: &std::path::Path) -> Option<crate::site::Site> {
    crate::site::Site::load(config)
        .map_err(|e| eprintln!("{e}"))
        .ok()
}

/// The site's database, opened (and migrated) for a command that reads or changes records.
pub fn open_store(site: &crate::site::Site) -> anyhow::Result<crate::store::SqliteStore> {
    let path = crate::store::sqlite::database_path(&site.data_dir);
    crate::store::SqliteStore::open(&path)
        .map_err(|e| anyhow::anyhow!("cannot open the database {}: {e}", path.display()))
}

/// Who runs a command that changes records, for the audit log: `--by` when given, else the
/// operating-system account as `cli:<name>` (from the password database, so it holds under
/// systemd and cron where `$USER` is unset).
pub fn operator(by: Option<&str>) -> String {
    match by.map(str::trim).filter(|b| !b.is_empty()) {
        Some(by) => by.to_string(),
        None => format!(
            "cli:{}",
            whoami::username()
                .ok()
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "unknown".into())
        ),
    }
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Demo(a) => demo::run(a).await,
        Command::Serve(a) => serve::run(a).await,
        Command::Check(a) => check::run(a),
        Command::Backup(a) => backup::run(a),
        Command::Restore(a) => backup::restore(a),
        Command::Consumption(a) => consumption::run(a),
        Command::Rate(a) => rate::run(a),
        Command::Bill(a) => bill::run(a),
        Command::Report(w) => report::run(w),
        Command::User(w) => user::run(w),
        Command::Import(w) => import::run(w),
        Command::Probe(a) => probe::run(a).await,
        Command::Scan(a) => scan::run(a).await,
        Command::Simulate(a) => simulate::run(a).await,
        Command::Bench(a) => bench::run(a).await,
    }
}

/// Logging to stderr; `JIENENG_LOG` (e.g. `debug`, `jieneng=trace`) overrides `default_level`.
/// The embedded demo broker (rumqttd) logs every client that comes and goes: kept quiet.
/// Colours only on a terminal: the journal and log files get plain text.
pub fn init_logging(json: bool, default_level: &str) {
    use std::io::IsTerminal;
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("JIENENG_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("{default_level},rumqttd=off")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if json {
        let _ = builder.json().try_init();
    } else {
        let _ = builder.try_init();
    }
}
