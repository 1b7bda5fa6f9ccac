//! `jieneng demo`: a simulated campus — Modbus gateways on loopback, 13 months of history,
//! live collection and the web UI — from one command.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio::net::TcpListener;

use crate::config::Site;
use crate::runtime::{Runtime, shutdown_signal};
use crate::sim::backfill::backfill;
use crate::sim::campus::DemoCampus;
use crate::sim::modbus_server::{SimUnit, serve};

#[derive(clap::Args)]
pub struct Args {
    /// Address of the web UI.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Data directory: the config (jieneng.toml) and the database live here. Re-running with
    /// the same directory resumes.
    #[arg(long, default_value = "jieneng-demo")]
    pub data: PathBuf,
    /// Live quantities are polled this often (seconds).
    #[arg(long, default_value_t = 10)]
    pub live_interval_s: u32,
}

/// A running demo: the runtime plus its simulators. Used by the CLI and by tests.
pub struct Demo {
    pub runtime: Runtime,
    pub config_path: PathBuf,
    pub http_addr: std::net::SocketAddr,
}

/// Starts the demo: simulators, config, runtime, web server, and history in the background.
pub async fn start(args: &Args) -> anyhow::Result<Demo> {
    let started = Instant::now();
    std::fs::create_dir_all(&args.data)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", args.data.display()))?;
    let http = TcpListener::bind(&args.listen).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {}: {e} (choose another with --listen)",
            args.listen
        )
    })?;
    let http_addr = http.local_addr()?;
    let campus = DemoCampus::new();

    // One simulated gateway per building, each on a free loopback port.
    let mut listeners = BTreeMap::new();
    for gw in campus.gateways().keys() {
        listeners.insert(*gw, TcpListener::bind("127.0.0.1:0").await?);
    }
    let ports: BTreeMap<&str, u16> = listeners
        .iter()
        .map(|(gw, l)| Ok((*gw, l.local_addr()?.port())))
        .collect::<std::io::Result<_>>()?;
    let config_path = args.data.join("jieneng.toml");
    std::fs::write(
        &config_path,
        campus.config_toml(&ports, args.live_interval_s),
    )?;
    let site =
        Site::load(&config_path).map_err(|e| anyhow::anyhow!("demo config is invalid:\n{e}"))?;

    // History runs up to this instant; the collectors take over from here.
    let history_until = chrono::Utc::now();
    let mut runtime = Runtime::start(site)?;
    for (gw, meters) in campus.gateways() {
        let units: HashMap<u8, SimUnit> = meters
            .iter()
            .filter_map(|m| {
                let profile = runtime.site.profiles.get(m.profile?)?;
                Some((
                    m.slave_id,
                    SimUnit {
                        meter: m.sim.clone(),
                        profile,
                        fault: None,
                    },
                ))
            })
            .collect();
        let listener = listeners.remove(gw).expect("bound above");
        runtime.spawn(tokio::spawn(serve(listener, units, runtime.cancel.clone())));
    }
    runtime.serve_http(http);
    tracing::info!(url = %format!("http://{http_addr}"), config = %config_path.display(), meters = campus.meters.len(), "demo campus up");

    // History: written through ingest while the web UI is already up.
    runtime.history_ready.store(false, Ordering::Relaxed);
    let (site, store, ingest, ready, cancel) = (
        runtime.site.clone(),
        runtime.store.clone(),
        runtime.ingest.clone(),
        runtime.history_ready.clone(),
        runtime.cancel.clone(),
    );
    runtime.spawn(tokio::spawn(async move {
        let t = Instant::now();
        tokio::select! {
            _ = cancel.cancelled() => {}
            result = backfill(&campus, site, &store, &ingest, history_until) => match result {
                Ok(n) => {
                    ready.store(true, Ordering::Relaxed);
                    tracing::info!(readings = n, seconds = format!("{:.1}", t.elapsed().as_secs_f64()), since_start_s = format!("{:.1}", started.elapsed().as_secs_f64()), "history in place");
                }
                Err(e) => tracing::error!(error = %format!("{e:#}"), "writing demo history failed"),
            }
        }
    }));
    Ok(Demo {
        runtime,
        config_path,
        http_addr,
    })
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let demo = start(&args).await?;
    println!(
        "jieneng demo: open http://{}  (config: {}; Ctrl-C to stop)",
        demo.http_addr,
        demo.config_path.display()
    );
    shutdown_signal().await;
    tracing::info!("shutting down");
    demo.runtime.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
