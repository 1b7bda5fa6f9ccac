//! `jieneng report monthly`: the committee's monthly report as HTML, PDF, Excel or JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::Utc;

use crate::energy::ledger::Ledger;
use crate::report::html::{Lang, render};
use crate::report::monthly::ReportError;
use crate::time::Month;

#[derive(clap::Subcommand)]
pub enum What {
    /// The monthly report (节能工作月报).
    Monthly(Args),
}

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub config: PathBuf,
    /// YYYY-MM
    #[arg(long)]
    pub month: String,
    /// html, pdf, xlsx or json.
    #[arg(long, default_value = "html")]
    pub format: String,
    /// zh or en.
    #[arg(long, default_value = "zh")]
    pub lang: String,
    /// Where to write; standard output when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(what: What) -> anyhow::Result<ExitCode> {
    let What::Monthly(args) = what;
    let Some(site) = super::load_site(&args.config) else {
        return Ok(ExitCode::FAILURE);
    };
    let month = (args.month.parse::<Month>()).map_err(|e| anyhow::anyhow!("--month: {e}"))?;
    if !matches!(args.format.as_str(), "html" | "pdf" | "xlsx" | "json") {
        anyhow::bail!("--format `{}`: use html, pdf, xlsx or json", args.format);
    }
    if matches!(args.format.as_str(), "pdf" | "xlsx") && args.out.is_none() {
        anyhow::bail!("--format {} needs --out PATH", args.format);
    }
    let store = super::open_store(&site)?;
    let reader = store.reader()?;
    let ledger = Ledger::new(&reader, &site);
    let report = crate::report::monthly::monthly_report(&ledger, &reader, &site, month, Utc::now())
        .map_err(|e| match e {
            ReportError::Store(e) => anyhow::Error::from(e),
            e @ ReportError::NoLocalMidnight(_) => anyhow::anyhow!("--month: {e}"),
        })?;
    let bytes = match args.format.as_str() {
        "json" => serde_json::to_vec_pretty(&report)?,
        "pdf" => crate::report::pdf::document(&report, crate::report::png_figures(&report))
            .map_err(anyhow::Error::msg)?,
        "xlsx" => crate::report::xlsx::workbook(&report, &crate::report::png_figures(&report))?,
        _ => {
            let figures = crate::report::figures(&report);
            render(&report, &figures, Lang::parse(Some(&args.lang)))
                .into_string()
                .into_bytes()
        }
    };
    match &args.out {
        Some(p) => {
            std::fs::write(p, &bytes).map_err(|e| anyhow::anyhow!("--out {}: {e}", p.display()))?
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
