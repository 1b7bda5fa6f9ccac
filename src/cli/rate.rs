//! `jieneng rate`: every unit's rating for a month, ranked, each item with its input, score
//! and weight; kept as history.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::Utc;

use crate::energy::ledger::Ledger;
use crate::time::Month;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub config: PathBuf,
    /// The month, YYYY-MM.
    #[arg(long)]
    pub month: String,
    /// json or csv (one row per unit and item).
    #[arg(long, default_value = "json")]
    pub format: String,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Some(site) = super::load_site(&args.config) else {
        return Ok(ExitCode::FAILURE);
    };
    if !matches!(args.format.as_str(), "json" | "csv") {
        anyhow::bail!("--format `{}`: use json or csv", args.format);
    }
    let store = super::open_store(&site)?;
    let reader = store.reader()?;
    let ledger = Ledger::new(&reader, &site);
    let month = (args.month.parse::<Month>()).map_err(|e| anyhow::anyhow!("--month: {e}"))?;
    let ratings = crate::rules::month_ratings(&ledger, &reader, &site, month, Utc::now())?;
    store.writer()?.save_ratings(&ratings)?;
    if args.format == "json" {
        println!("{}", serde_json::to_string_pretty(&ratings)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut w = csv::Writer::from_writer(std::io::stdout());
    w.write_record([
        "rank",
        "unit",
        "unit_name",
        "score",
        "grade",
        "item",
        "item_name",
        "input",
        "item_score",
        "weight",
        "effective_weight",
        "points",
        "explanation",
    ])?;
    let text = |d: Option<rust_decimal::Decimal>| d.map(|d| d.to_string()).unwrap_or_default();
    for r in &ratings {
        for i in &r.items {
            let key = serde_json::to_value(i.key)?;
            w.write_record([
                r.rank.to_string(),
                r.unit.clone(),
                r.unit_name.clone(),
                r.score.to_string(),
                r.grade.clone(),
                key.as_str().unwrap_or_default().to_string(),
                i.name_zh.to_string(),
                text(i.input),
                text(i.score),
                i.weight.to_string(),
                text(i.effective_weight),
                text(i.points),
                i.explanation.clone(),
            ])?;
        }
    }
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}
