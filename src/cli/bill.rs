//! `jieneng bill`: the month's utility-charge statements (issued ones as issued, the rest as
//! drafts) as JSON, CSV, Excel or PDF; `--issue` issues them (re-issuing flagged ones).

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::Utc;

use crate::auth::Role;
use crate::billing::book;
use crate::energy::ledger::Ledger;
use crate::time::Month;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub config: PathBuf,
    /// The month, YYYY-MM (quarterly tenants: the last month of the quarter).
    #[arg(long)]
    pub month: String,
    /// Only this tenant.
    #[arg(long)]
    pub tenant: Option<String>,
    /// json, csv, xlsx or pdf.
    #[arg(long, default_value = "json")]
    pub format: String,
    /// Where to write; standard output for json and csv when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Issue the statements first (flagged ones are re-issued; issued ones stay as they are).
    #[arg(long)]
    pub issue: bool,
    /// Who issues them (kept in the audit log).
    #[arg(long)]
    pub by: Option<String>,
    /// Accept the statements held for review with this reason before issuing them; needs
    /// `--by` naming a finance (or admin) account, under which the acceptance is audited.
    #[arg(long, value_name = "REASON", requires = "issue")]
    pub accept: Option<String>,
}

/// The account an acceptance is made under: `--by` must name an enabled finance or admin user.
fn finance_account(store: &crate::store::SqliteStore, by: Option<&str>) -> anyhow::Result<String> {
    let Some(name) = by.map(str::trim).filter(|b| !b.is_empty()) else {
        anyhow::bail!("--accept needs --by NAME: the finance account that accepts the statements");
    };
    let user = store
        .reader()?
        .users()?
        .into_iter()
        .find(|u| u.name == name);
    match user {
        Some(u) if !u.disabled && matches!(u.role, Role::Finance | Role::Admin) => Ok(u.name),
        Some(u) if u.disabled => anyhow::bail!("--by {name}: the account is disabled"),
        Some(u) => anyhow::bail!(
            "--by {name}: a {} account cannot accept statements (finance or admin)",
            u.role.name()
        ),
        None => anyhow::bail!("--by {name}: no such account (see `jieneng user list`)"),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Some(site) = super::load_site(&args.config) else {
        return Ok(ExitCode::FAILURE);
    };
    let month = (args.month.parse::<Month>()).map_err(|e| anyhow::anyhow!("--month: {e}"))?;
    if !matches!(args.format.as_str(), "json" | "csv" | "xlsx" | "pdf") {
        anyhow::bail!("--format `{}`: use json, csv, xlsx or pdf", args.format);
    }
    if matches!(args.format.as_str(), "xlsx" | "pdf") && args.out.is_none() {
        anyhow::bail!("--format {} needs --out PATH", args.format);
    }
    if let Some(t) = &args.tenant
        && site.tenant(t).is_none()
    {
        anyhow::bail!("--tenant: no tenant `{t}` in {}", args.config.display());
    }
    let store = super::open_store(&site)?;
    let reader = store.reader()?;
    let ledger = Ledger::new(&reader, &site);
    let today = Utc::now().with_timezone(&site.timezone).date_naive();
    let mut held = 0;
    if args.issue {
        let who = super::operator(args.by.as_deref());
        let mut writer = store.writer()?;
        if let Some(reason) = &args.accept {
            let account = finance_account(&store, args.by.as_deref())?;
            let accepted = book::accept(
                &ledger,
                &reader,
                &site,
                &mut writer,
                month,
                args.tenant.as_deref(),
                reason,
                &account,
                today,
            )
            .map_err(|e| anyhow::anyhow!("--accept: {e}"))?;
            for a in &accepted {
                eprintln!(
                    "{} {}: accepted by {} ({})",
                    a.number,
                    a.tenant,
                    a.acceptance.by,
                    a.holds
                        .iter()
                        .map(|h| h.reason.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                );
            }
        }
        for i in book::issue(
            &ledger,
            &reader,
            &site,
            &mut writer,
            month,
            args.tenant.as_deref(),
            &who,
            today,
        )? {
            let diff = i
                .difference
                .map(|d| format!(" (difference {d})"))
                .unwrap_or_default();
            if !i.holds.is_empty() {
                held += 1;
                eprintln!(
                    "{} {}: not issued, held for review: {} (accept with --accept \"REASON\" --by ACCOUNT, or correct the data)",
                    i.number,
                    i.tenant,
                    i.holds
                        .iter()
                        .map(|h| h.reason.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                );
            } else if i.no_data.is_empty() {
                eprintln!(
                    "{} {}: {} yuan, {}{diff}",
                    i.number, i.tenant, i.total, i.outcome
                );
            } else {
                held += 1;
                eprintln!(
                    "{} {}: not issued, no readings in the period from {}",
                    i.number,
                    i.tenant,
                    i.no_data.join(", ")
                );
            }
        }
    }
    let statements = book::month_statements(
        &ledger,
        &reader,
        &site,
        month,
        args.tenant.as_deref(),
        today,
    )?;
    let bytes = match args.format.as_str() {
        "json" => {
            let mut b =
                serde_json::to_vec_pretty(&serde_json::json!({ "statements": statements }))?;
            b.push(b'\n');
            b
        }
        "csv" => crate::billing::output::csv(&statements)?,
        "xlsx" => crate::billing::xlsx::workbook(&statements, &site.billing)?,
        _ => {
            crate::billing::pdf::document(&statements, &site.billing).map_err(anyhow::Error::msg)?
        }
    };
    match &args.out {
        Some(path) => {
            std::fs::write(path, &bytes)
                .map_err(|e| anyhow::anyhow!("--out {}: {e}", path.display()))?;
            let total: rust_decimal::Decimal = statements.iter().map(|s| s.total).sum();
            eprintln!(
                "{}: {} statement(s), {} yuan in all",
                path.display(),
                statements.len(),
                total
            );
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    // Statements held back make the command fail, so a script notices.
    Ok(if held > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
