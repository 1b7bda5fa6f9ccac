use std::path::PathBuf;
use std::process::ExitCode;

use tokio::net::TcpListener;

use crate::config::Site;
use crate::runtime::{Runtime, shutdown_signal};

#[derive(clap::Args)]
pub struct Args {
    /// The site config file.
    #[arg(long)]
    pub config: PathBuf,
    /// Address of the web server (overrides [http] listen).
    #[arg(long)]
    pub listen: Option<String>,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let site = match Site::load(&args.config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let listen = args.listen.unwrap_or_else(|| site.http_listen.clone());
    let listener = TcpListener::bind(&listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let mut rt = Runtime::start(site)?;
    rt.serve_http(listener);
    tracing::info!(listen = %listen, meters = rt.site.meters.len(), "jieneng serving");
    shutdown_signal().await;
    tracing::info!("shutting down");
    rt.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
