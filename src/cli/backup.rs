//! `jieneng backup --config FILE --out PATH [--force]`: an online backup of the embedded
//! store, taken while the service keeps collecting (see `store::backup`), and
//! `jieneng restore --config FILE --from PATH`: a backup put back in place of the database of a
//! stopped service. docs/operations.md describes both.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::store::backup;
use crate::store::sqlite::database_path;

#[derive(clap::Args)]
pub struct Args {
    /// The site config file (its data_dir holds the database).
    #[arg(long)]
    pub config: PathBuf,
    /// The backup file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace the backup file if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(clap::Args)]
pub struct RestoreArgs {
    /// The site config file (its data_dir holds the database).
    #[arg(long)]
    pub config: PathBuf,
    /// The backup file (written by `jieneng backup`).
    #[arg(long)]
    pub from: PathBuf,
}

/// Bytes as MiB with the exact figure.
fn size(bytes: u64) -> String {
    format!(
        "{:.1} MiB ({bytes} bytes)",
        bytes as f64 / (1024.0 * 1024.0)
    )
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Some(site) = super::load_site(&args.config) else {
        return Ok(ExitCode::FAILURE);
    };
    let db = database_path(&site.data_dir);
    let r = backup::backup(&db, &args.out, args.force)
        .map_err(|e| anyhow::anyhow!("backup of {} failed: {e}", db.display()))?;
    println!("backup written: {}", r.path.display());
    println!("  from      {}", db.display());
    println!("  size      {}", size(r.bytes));
    println!("  schema    version {}", r.schema_version);
    println!(
        "  contents  {} register readings, {} telemetry rows",
        r.register_readings, r.telemetry
    );
    println!(
        "  took      {:.1} s copying {} pages in {} steps, {:.1} s checking (integrity_check: ok)",
        r.copy_seconds, r.pages, r.steps, r.check_seconds
    );
    Ok(ExitCode::SUCCESS)
}

pub fn restore(args: RestoreArgs) -> anyhow::Result<ExitCode> {
    let Some(site) = super::load_site(&args.config) else {
        return Ok(ExitCode::FAILURE);
    };
    let r = backup::restore(&site.data_dir, &args.from).map_err(|e| {
        anyhow::anyhow!(
            "restore of {} into {} failed: {e}",
            args.from.display(),
            site.data_dir.display()
        )
    })?;
    println!(
        "restored {} as {}",
        args.from.display(),
        r.database.display()
    );
    match &r.replaced {
        Some(p) => println!("  the database it replaced is kept as {}", p.display()),
        None => println!("  there was no database before"),
    }
    if r.backup_schema_version < r.schema_version {
        println!(
            "  schema    version {} in the backup, migrated to {}",
            r.backup_schema_version, r.schema_version
        );
    } else {
        println!("  schema    version {}", r.schema_version);
    }
    println!(
        "  contents  {} register readings, {} telemetry rows",
        r.register_readings, r.telemetry
    );
    if let Some(w) = &r.owner_warning {
        eprintln!("warning: {w}");
    }
    println!("start the service again to collect into it");
    Ok(ExitCode::SUCCESS)
}
