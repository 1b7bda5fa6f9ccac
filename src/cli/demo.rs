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
use crate::sim::modbus_server::{Fault, SimUnit, serve};

#[derive(clap::Args)]
pub struct Args {
    /// Address of the web UI.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Data directory: the config (jieneng.toml) and the database live here. Re-running with
    /// the same directory resumes.
    #[arg(long, default_value = "jieneng-demo")]
    pub data: PathBuf,
    /// Live quantities are polled (and MQTT meters publish) this often (seconds).
    #[arg(long, default_value_t = 10)]
    pub live_interval_s: u32,
    /// Use this MQTT broker (mqtt://HOST:PORT) instead of the embedded one: the simulated MQTT
    /// meters publish to it and jieneng collects from it.
    #[arg(long)]
    pub mqtt_url: Option<String>,
    /// Also write every reading to this InfluxDB 2 API (InfluxDB, VictoriaMetrics, ...).
    #[arg(long)]
    pub influx_url: Option<String>,
    #[arg(long, default_value = "jieneng")]
    pub influx_org: String,
    #[arg(long, default_value = "jieneng")]
    pub influx_bucket: String,
    /// File holding the InfluxDB API token.
    #[arg(long)]
    pub influx_token_file: Option<PathBuf>,
}

impl Args {
    /// Defaults for a demo in `data` listening on `listen`.
    pub fn new(listen: &str, data: PathBuf) -> Args {
        Args {
            listen: listen.to_string(),
            data,
            live_interval_s: 10,
            mqtt_url: None,
            influx_url: None,
            influx_org: "jieneng".into(),
            influx_bucket: "jieneng".into(),
            influx_token_file: None,
        }
    }
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

    // The MQTT broker: the one given, or an embedded one on a free loopback port.
    let mqtt_url = match &args.mqtt_url {
        Some(url) => url.clone(),
        None => format!(
            "mqtt://127.0.0.1:{}",
            crate::sim::broker::start_embedded_broker()?
        ),
    };
    let (mqtt_host, mqtt_port) = mqtt_host_port(&mqtt_url)?;
    let influx = args.influx_url.as_ref().map(|url| {
        let mut s = format!(
            "[influx]\nurl = \"{url}\"\norg = \"{}\"\nbucket = \"{}\"",
            args.influx_org, args.influx_bucket
        );
        if let Some(token) = &args.influx_token_file {
            let token = std::path::absolute(token).unwrap_or_else(|_| token.clone());
            s.push_str(&format!("\ntoken_file = \"{}\"", token.display()));
        }
        s
    });

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
        campus.config_toml(&ports, args.live_interval_s, &mqtt_url, influx.as_deref()),
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
                        // The demo's broken meter: it stopped answering when the demo started.
                        fault: (m.id == crate::sim::campus::DEAD_METER).then_some(Fault::Silent),
                    },
                ))
            })
            .collect();
        let listener = listeners.remove(gw).expect("bound above");
        runtime.spawn(tokio::spawn(serve(listener, units, runtime.cancel.clone())));
    }
    let publishers = campus
        .meters
        .iter()
        .filter(|m| m.mqtt.is_some())
        .cloned()
        .collect();
    runtime.spawn(tokio::spawn(crate::sim::mqtt_publisher::run(
        publishers,
        mqtt_host,
        mqtt_port,
        std::time::Duration::from_secs(args.live_interval_s.max(1) as u64),
        campus.tz,
        runtime.cancel.clone(),
    )));
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

fn mqtt_host_port(url: &str) -> anyhow::Result<(String, u16)> {
    let rest = url
        .strip_prefix("mqtt://")
        .ok_or_else(|| anyhow::anyhow!("--mqtt-url must be mqtt://HOST:PORT, not {url}"))?;
    let (host, port) = rest
        .trim_end_matches('/')
        .rsplit_once(':')
        .unwrap_or((rest, "1883"));
    Ok((
        host.to_string(),
        port.parse()
            .map_err(|_| anyhow::anyhow!("bad port in {url}"))?,
    ))
}
