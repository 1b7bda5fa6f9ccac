//! `jieneng demo`: a simulated campus — Modbus gateways on loopback, 13 months of history,
//! live collection and the web UI — from one command.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tokio::net::TcpListener;

use crate::runtime::{Runtime, shutdown_signal};
use crate::sim::backfill::backfill;
use crate::sim::campus::DemoCampus;
use crate::sim::modbus_server::{Fault, SimUnit, serve};
use crate::site::Site;

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
    // History runs up to this instant; the collectors take over from here.
    let history_until = chrono::Utc::now();
    let campus = DemoCampus::with_leak_from(leak_from(&args.data, history_until)?);

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
    for gw in campus
        .gateways()
        .keys()
        .chain(campus.line_gateways().keys())
    {
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
    for (gw, meters) in campus.line_gateways() {
        let listener = listeners.remove(gw).expect("bound above");
        let line = crate::sim::line_server::demo_line(&meters)?;
        runtime.spawn(tokio::spawn(crate::sim::line_server::serve_line(
            listener,
            line,
            crate::sim::line_server::LineOptions {
                turnaround: std::time::Duration::from_millis(20),
                baud: None,
            },
            runtime.cancel.clone(),
        )));
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
    demo_users(&runtime.store, &args.data)?;
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
    let (site_for_bills, store_for_bills) = (site.clone(), store.clone());
    runtime.spawn(tokio::spawn(async move {
        let t = Instant::now();
        tokio::select! {
            _ = cancel.cancelled() => {}
            result = backfill(&campus, site, &store, &ingest, history_until) => match result {
                Ok(n) => {
                    let (site, store) = (site_for_bills, store_for_bills);
                    let bills = tokio::task::spawn_blocking(move || {
                        crate::sim::backfill::demo_statements(&site, &store, history_until)
                    });
                    if let Ok(Err(e)) = bills.await {
                        tracing::error!(error = %format!("{e:#}"), "demo statements failed");
                    }
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

/// The demo's users, one per role, all with the password `DEMO_PASSWORD`, and a fresh API
/// token for each written to `DATA/demo-tokens.json` as `{"admin": "...", ...}`.
pub const DEMO_PASSWORD: &str = "jieneng-demo";

fn demo_users(store: &crate::store::SqliteStore, data: &std::path::Path) -> anyhow::Result<()> {
    use crate::auth::Role;
    let mut w = store.writer()?;
    let mut tokens = serde_json::Map::new();
    for (role, display) in [
        (Role::Admin, "系统管理员"),
        (Role::Engineer, "张工 (设备科)"),
        (Role::Committee, "李老师 (节能委员会)"),
        (Role::Finance, "王会计 (财务处)"),
    ] {
        match w.create_user(role.name(), display, role, Some(DEMO_PASSWORD), "demo") {
            Ok(_) | Err(crate::store::users::UserRefusal::Exists(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let token = w.create_token(role.name(), "demo", "demo")?;
        tokens.insert(role.name().to_string(), serde_json::Value::String(token));
    }
    let path = data.join("demo-tokens.json");
    std::fs::write(&path, serde_json::to_string_pretty(&tokens)? + "\n")?;
    tracing::info!(users = "admin, engineer, committee, finance", password = DEMO_PASSWORD, tokens = %path.display(), "demo users");
    Ok(())
}

/// How long before the end of its first history the demo's leak starts: long enough for a
/// few nights of it, short enough that the nights before show the meter without it.
const LEAK_DAYS_BEFORE_HISTORY_END: i64 = 3;

/// Where the data directory keeps what the demo fixed on its first run.
const DEMO_STATE_FILE: &str = "demo.toml";

#[derive(serde::Serialize, serde::Deserialize)]
struct DemoState {
    leak_from: chrono::DateTime<chrono::Utc>,
}

/// When the demo's leak started. The first run in a data directory fixes it (three days before
/// `history_until`, on the hour) and keeps it in `demo.toml` there, so a resumed demo simulates
/// the same values as the history it wrote. A data directory written before the leak had a
/// start (a database, no `demo.toml`) leaks since the registers' origin, as its history does.
fn leak_from(
    data: &std::path::Path,
    history_until: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    let path = data.join(DEMO_STATE_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let state: DemoState =
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            return Ok(state.leak_from);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
    }
    if data.join("jieneng.db").exists() {
        return Ok(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    }
    let start = history_until - chrono::Duration::days(LEAK_DAYS_BEFORE_HISTORY_END);
    let hour = start.timestamp().div_euclid(3600) * 3600;
    let start = chrono::DateTime::from_timestamp(hour, 0).unwrap_or(start);
    let text = format!(
        "# Fixed on the demo's first run in this directory; the simulation depends on it.\n{}",
        toml::to_string(&DemoState { leak_from: start })?
    );
    std::fs::write(&path, text)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(start)
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_leak_start_is_fixed_by_the_first_run_in_a_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        let first = chrono::Utc
            .with_ymd_and_hms(2026, 11, 28, 10, 36, 33)
            .unwrap();
        let start = leak_from(dir.path(), first).unwrap();
        assert_eq!(
            start,
            chrono::Utc
                .with_ymd_and_hms(2026, 11, 25, 10, 0, 0)
                .unwrap()
        );
        // Resumed two days later: the same start.
        let resumed = leak_from(dir.path(), first + chrono::Duration::days(2)).unwrap();
        assert_eq!(resumed, start);
        // A directory with a database and no demo.toml had the leak all along.
        let old = tempfile::tempdir().unwrap();
        std::fs::write(old.path().join("jieneng.db"), b"").unwrap();
        let since = leak_from(old.path(), first).unwrap();
        assert_eq!(since, chrono::DateTime::<chrono::Utc>::MIN_UTC);
        assert!(!old.path().join(DEMO_STATE_FILE).exists());
    }
}
