//! `jieneng check --config FILE`: validate a config and its device profiles; errors as
//! `FILE:LINE:COL: message`, exit 1.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::site::Site;

#[derive(clap::Args)]
pub struct Args {
    /// The site config file.
    #[arg(long)]
    pub config: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match Site::load(&args.config) {
        Ok(site) => {
            println!(
                "{}: OK — site {}, {} units, {} connections, {} meters, {} device profiles",
                args.config.display(),
                site.name,
                site.units.len(),
                site.connections.len(),
                site.meters.len(),
                site.profiles.names().count()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!("{}: {} error(s)", args.config.display(), errors.0.len());
            Ok(ExitCode::FAILURE)
        }
    }
}
