//! `jieneng consumption`: consumption per step from the ledger, of a meter (real or virtual,
//! optionally one time-of-use register) or of a unit by category.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::energy::ledger::{Ledger, Step, register_quantity, registers};
use crate::quantity::Quantity;
use crate::time::parse_time;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub config: PathBuf,
    /// A meter or virtual meter.
    #[arg(long, conflicts_with = "unit", required_unless_present = "unit")]
    pub meter: Option<String>,
    /// A unit (its whole subtree, each meter counted once); needs --category.
    #[arg(long, requires = "category")]
    pub unit: Option<String>,
    /// With --unit: a category code (01000, 01A00, 02000 ...) or `kgce` for standard coal.
    #[arg(long)]
    pub category: Option<String>,
    /// With --meter: a register other than the main one (energy_import_kwh_peak ...).
    #[arg(long)]
    pub quantity: Option<String>,
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
    let Some(site) = super::load_site(&args.config) else {
        return Ok(ExitCode::FAILURE);
    };
    let from = parse_time(&args.from, site.timezone).map_err(|e| anyhow::anyhow!("--from: {e}"))?;
    let to = parse_time(&args.to, site.timezone).map_err(|e| anyhow::anyhow!("--to: {e}"))?;
    if to <= from {
        anyhow::bail!("--to must be after --from");
    }
    let step = Step::parse(&args.step).map_err(|e| anyhow::anyhow!("--step: {e}"))?;
    let store = super::open_store(&site)?;
    let reader = store.reader()?;
    let ledger = Ledger::new(&reader, &site);
    let rows = match (&args.meter, &args.unit) {
        (Some(id), _) => {
            if let Some(v) = site.virtual_meter(id) {
                ledger.virtual_meter(v, from, to, step)?
            } else {
                let meter = site.meter(id).ok_or_else(|| {
                    anyhow::anyhow!("no meter `{id}` in {}", args.config.display())
                })?;
                let quantity = match &args.quantity {
                    None => register_quantity(meter),
                    Some(q) => Quantity::parse(q)
                        .filter(|q| registers(meter).contains(q))
                        .ok_or_else(|| {
                            anyhow::anyhow!("--quantity: meter `{id}` keeps no register `{q}`")
                        })?,
                };
                ledger.meter(meter, quantity, from, to, step)?
            }
        }
        (None, Some(unit)) => {
            if site.unit(unit).is_none() {
                anyhow::bail!("no unit `{unit}` in {}", args.config.display());
            }
            match args.category.as_deref() {
                Some("kgce") => ledger.unit_kgce(unit, from, to, step)?,
                Some(c) if crate::energy::category::category(c).is_some() => {
                    ledger.unit(unit, c, from, to, step)?
                }
                Some(c) => anyhow::bail!(
                    "--category: unknown code `{c}` (01000 electricity, 02000 water ... or kgce)"
                ),
                None => anyhow::bail!("--unit needs --category"),
            }
        }
        (None, None) => anyhow::bail!("give --meter or --unit"),
    };
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
