//! `jieneng consumption`: a meter's consumption per step, from the ledger.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::Site;
use crate::energy::ledger::{Step, consumption, parse_time};
use crate::store::SqliteStore;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub config: PathBuf,
    #[arg(long)]
    pub meter: String,
    /// Start: RFC 3339, a local date (2026-11-01) or month (2026-11).
    #[arg(long)]
    pub from: String,
    /// End (exclusive), in the same forms.
    #[arg(long)]
    pub to: String,
    /// 15m, 1h, 1d or 1mo (days and months in the site's time zone).
    #[arg(long, default_value = "1d")]
    pub step: String,
    /// json or csv.
    #[arg(long, default_value = "json")]
    pub format: String,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let site = match Site::load(&args.config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let meter = site
        .meter(&args.meter)
        .ok_or_else(|| anyhow::anyhow!("no meter `{}` in {}", args.meter, args.config.display()))?;
    let from = parse_time(&args.from, site.timezone).map_err(|e| anyhow::anyhow!("--from: {e}"))?;
    let to = parse_time(&args.to, site.timezone).map_err(|e| anyhow::anyhow!("--to: {e}"))?;
    if to <= from {
        anyhow::bail!("--to must be after --from");
    }
    let step = Step::parse(&args.step).map_err(|e| anyhow::anyhow!("--step: {e}"))?;
    let store = SqliteStore::open(&site.data_dir.join("jieneng.db"))?;
    let rows = consumption(&store.reader()?, &site, meter, from, to, step)?;
    match args.format.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&rows)?),
        "csv" => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            w.write_record(["start", "end", "consumption", "quality"])?;
            for r in &rows {
                let quality = serde_json::to_value(r.quality)?
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                w.write_record([
                    r.start.to_rfc3339(),
                    r.end.to_rfc3339(),
                    r.consumption.to_string(),
                    quality,
                ])?;
            }
            w.flush()?;
        }
        other => anyhow::bail!("--format `{other}`: use json or csv"),
    }
    Ok(ExitCode::SUCCESS)
}
