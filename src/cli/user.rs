//! `jieneng user`: the first administrator and every other user, and API tokens for machines.
//! Passwords come from a file or standard input, never from the command line (it would show
//! in the process list and the shell history).

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::auth::Role;
use crate::store::SqliteStore;

#[derive(clap::Subcommand)]
pub enum What {
    /// Add a user (the first one should be an admin).
    Add(AddArgs),
    /// Print a new API token for a user (`Authorization: Bearer <token>`).
    Token(TokenArgs),
    /// List users and their roles.
    List {
        #[arg(long)]
        config: PathBuf,
    },
}

#[derive(clap::Args)]
pub struct AddArgs {
    #[arg(long)]
    pub config: PathBuf,
    #[arg(long)]
    pub name: String,
    /// admin, engineer, committee, finance or viewer.
    #[arg(long)]
    pub role: String,
    #[arg(long)]
    pub display_name: Option<String>,
    /// A file holding the password (first line); otherwise it is read from standard input.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// A user for machines only: no password, API tokens only.
    #[arg(long)]
    pub no_password: bool,
}

#[derive(clap::Args)]
pub struct TokenArgs {
    #[arg(long)]
    pub config: PathBuf,
    #[arg(long)]
    pub name: String,
    /// What the token is for (grafana, finance-export ...).
    #[arg(long, default_value = "api")]
    pub label: String,
}

fn who() -> String {
    super::operator(None)
}

fn open(config: &std::path::Path) -> anyhow::Result<Option<SqliteStore>> {
    super::load_site(config)
        .map(|site| super::open_store(&site))
        .transpose()
}

pub fn run(what: What) -> anyhow::Result<ExitCode> {
    match what {
        What::Add(a) => {
            let role = Role::parse(&a.role).map_err(|e| anyhow::anyhow!("--role: {e}"))?;
            let password = if a.no_password {
                None
            } else {
                let line = match &a.password_file {
                    Some(p) => std::fs::read_to_string(p)
                        .map_err(|e| anyhow::anyhow!("--password-file {}: {e}", p.display()))?
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                    None => {
                        eprintln!("password for {} (one line on standard input):", a.name);
                        let mut line = String::new();
                        std::io::stdin().lock().read_line(&mut line)?;
                        line
                    }
                };
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            };
            let Some(store) = open(&a.config)? else {
                return Ok(ExitCode::FAILURE);
            };
            let display = a.display_name.clone().unwrap_or_else(|| a.name.clone());
            match store
                .writer()?
                .create_user(&a.name, &display, role, password.as_deref(), &who())
            {
                Ok(u) => {
                    println!("added {} ({})", u.name, u.role.name());
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("{e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        What::Token(a) => {
            let Some(store) = open(&a.config)? else {
                return Ok(ExitCode::FAILURE);
            };
            match store.writer()?.create_token(&a.name, &a.label, &who()) {
                Ok(token) => {
                    println!("{token}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("{e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        What::List { config } => {
            let Some(store) = open(&config)? else {
                return Ok(ExitCode::FAILURE);
            };
            for u in store.reader()?.users()? {
                println!(
                    "{}\t{}\t{}{}",
                    u.name,
                    u.role.name(),
                    u.display_name,
                    if u.disabled { "\t(disabled)" } else { "" }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
