//! `jieneng serve --config FILE`: production — collectors, store, rules and the web server from
//! one config; SIGHUP reloads the config, SIGTERM shuts down after flushing everything.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tokio::net::TcpListener;

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
    // Before anything else: SIGHUP's default action ends the process.
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| anyhow::anyhow!("cannot install the SIGHUP handler: {e}"))?;
    let Some(site) = super::load_site(&args.config) else {
        return Ok(ExitCode::FAILURE);
    };
    let listen = args.listen.unwrap_or_else(|| site.http_listen.clone());
    let listener = TcpListener::bind(&listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let mut rt = Runtime::start(site)?;
    rt.serve_http(listener);
    tracing::info!(listen = %listen, meters = rt.site.meters.len(), version = env!("CARGO_PKG_VERSION"), "jieneng serving");
    let stop = shutdown_signal();
    tokio::pin!(stop);
    loop {
        #[cfg(unix)]
        tokio::select! {
            _ = &mut stop => break,
            _ = hangup.recv() => reload(&mut rt, &args.config).await,
        }
        #[cfg(not(unix))]
        {
            (&mut stop).await;
            break;
        }
    }
    tracing::info!("shutting down");
    rt.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// SIGHUP: reload the config and say what changed, what restarted and what waits for a restart.
async fn reload(rt: &mut Runtime, config: &Path) {
    tracing::info!(config = %config.display(), "SIGHUP: reloading the config");
    match rt.reload(config).await {
        Err(errors) => {
            for e in &errors.0 {
                tracing::error!(problem = %e, "config reload refused");
            }
            tracing::error!(
                config = %config.display(),
                errors = errors.0.len(),
                "config not reloaded: it has errors; still running on the previous config unchanged"
            );
        }
        Ok(r) => {
            for setting in &r.plan.needs_restart {
                tracing::warn!(setting = %setting, "changed in the config but applied only by a restart; the running value stays");
            }
            if r.plan.is_empty() {
                tracing::info!(config = %config.display(), "config reloaded: no changes");
                return;
            }
            let list = |v: &[String]| v.join(",");
            tracing::info!(
                config = %config.display(),
                meters_added = %list(&r.plan.meters_added),
                meters_removed = %list(&r.plan.meters_removed),
                meters_changed = %list(&r.plan.meters_changed),
                sections = %r.plan.sections.join(","),
                collectors_restarted = %list(&r.restarted),
                collectors_started = %list(&r.started),
                collectors_stopped = %list(&r.stopped),
                collectors_unchanged = r.unchanged,
                needs_restart = r.plan.needs_restart.len(),
                "config reloaded"
            );
        }
    }
}
