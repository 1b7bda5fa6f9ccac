//! The running service: store writer, ingest, collectors and the web server, started from a
//! validated site, reloaded in place (`reload`, on SIGHUP), and stopped in order: collectors
//! first, then the web server, then the InfluxDB spool and the store drain their queues.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::collect::modbus::poller;
use crate::config::error::ConfigErrors;
use crate::health::Health;
use crate::http::{self, AppState};
use crate::ingest::{Ingest, LiveState};
use crate::reload::{Plan, collector_fingerprints};
use crate::site::Site;
use crate::store::SqliteStore;
use crate::store::influx::sink::{SharedTags, SinkHandle, retag};
use crate::store::lock::{DataDirLock, lock_data_dir};
use crate::store::sqlite::database_path;
use crate::store::writer::spawn_writer;

/// Readings batches the ingest queue holds before collectors wait for the store.
const QUEUE_BATCHES: usize = 1024;

/// How long a collector may take to stop (a poll in flight finishes first) before it is aborted.
const COLLECTOR_STOP: Duration = Duration::from_secs(15);

/// How long open web connections (live event streams, downloads) get at shutdown.
const HTTP_GRACE: Duration = Duration::from_secs(5);

/// One running collector: a Modbus connection's poller or an MQTT broker's client.
struct Collector {
    /// What it was started from (`reload::collector_fingerprints`).
    fingerprint: String,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

/// What a reload did, beyond the plan.
#[derive(Debug, Clone, Default)]
pub struct Reloaded {
    pub plan: Plan,
    /// Collectors (`modbus:<id>`, `mqtt:<id>`) stopped and started again with new settings.
    pub restarted: Vec<String>,
    pub started: Vec<String>,
    pub stopped: Vec<String>,
    /// Collectors left running untouched.
    pub unchanged: usize,
}

pub struct Runtime {
    pub site: Arc<Site>,
    pub store: SqliteStore,
    pub ingest: Ingest,
    pub live: Arc<LiveState>,
    pub cancel: CancellationToken,
    pub history_ready: Arc<AtomicBool>,
    pub health: Arc<Health>,
    /// What the web server's handlers share.
    state: AppState,
    /// The site the ledger and alert loops take at each round; replaced on reload.
    sites: watch::Sender<Arc<Site>>,
    /// The router the web server answers with; replaced on reload.
    router: Arc<RwLock<axum::Router>>,
    writer: std::thread::JoinHandle<()>,
    /// The InfluxDB sink's task: it ends once ingest is gone and its spool is written.
    influx: Option<JoinHandle<()>>,
    /// The sink's meter tags, replaced on reload.
    influx_tags: Option<SharedTags>,
    collectors: BTreeMap<String, Collector>,
    http: Option<JoinHandle<()>>,
    tasks: Vec<JoinHandle<()>>,
    /// Held while running: no second service, no restore under this one.
    _lock: DataDirLock,
}

/// Starts the collector `key` of `site` (see `reload::collector_fingerprints`).
fn spawn_collector(
    site: &Site,
    key: &str,
    fingerprint: String,
    ingest: &Ingest,
    health: &Arc<Health>,
    parent: &CancellationToken,
) -> Option<Collector> {
    let cancel = parent.child_token();
    let task = match key.split_once(':') {
        Some(("modbus", id)) => {
            let conn = site.connections.iter().find(|c| c.id == id)?;
            poller::spawn_one(site, conn, ingest.clone(), health.clone(), cancel.clone())?
        }
        Some(("mqtt", id)) => {
            let broker = site.brokers.iter().find(|b| b.id == id)?;
            crate::collect::mqtt::client::spawn_one(
                site,
                broker,
                ingest.clone(),
                health.clone(),
                cancel.clone(),
            )
        }
        _ => return None,
    };
    Some(Collector {
        fingerprint,
        cancel,
        task,
    })
}

/// Edits to quotas, tariffs, tenants, billing settings and meters since they were last
/// recorded go to the audit log, with before and after.
fn audit_config_edits(site: &Site, store: &SqliteStore) {
    match crate::config::audited::record_changes(site, store, "site config") {
        Ok(changed) if !changed.is_empty() => {
            tracing::info!(sections = ?changed, "config changes recorded in the audit log")
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "config changes could not be audited"),
    }
}

/// Waits for a task to end, aborting it at `deadline`; false if it had to be aborted.
async fn stop_by(mut task: JoinHandle<()>, deadline: tokio::time::Instant) -> bool {
    match tokio::time::timeout_at(deadline, &mut task).await {
        Ok(_) => true,
        Err(_) => {
            task.abort();
            let _ = task.await;
            false
        }
    }
}

impl Runtime {
    /// Opens the store under the site's data directory and starts the collectors.
    pub fn start(site: Site) -> anyhow::Result<Runtime> {
        std::fs::create_dir_all(&site.data_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create data directory {}: {e}",
                site.data_dir.display()
            )
        })?;
        let lock = lock_data_dir(&site.data_dir)?;
        let db = database_path(&site.data_dir);
        let store = SqliteStore::open(&db)?;
        audit_config_edits(&site, &store);
        let health = Arc::new(Health::new());
        health.set_database(&db);
        let (tx, rx) = mpsc::channel(QUEUE_BATCHES);
        let writer = spawn_writer(
            store.clone(),
            rx,
            site.telemetry_retention_days,
            health.clone(),
        )?;
        let live = Arc::new(LiveState::for_site(&site));
        let mut sinks = Vec::new();
        let (mut influx, mut influx_tags) = (None, None);
        if let Some(config) = &site.influx {
            let SinkHandle { sender, task, tags } =
                crate::store::influx::sink::spawn(config, &site, health.clone())?;
            sinks.push(sender);
            influx = Some(task);
            influx_tags = Some(tags);
            tracing::info!(url = %config.url, bucket = %config.bucket, "writing readings to the InfluxDB API");
        }
        let ingest = Ingest::with_sinks(&site, live.clone(), tx, sinks).with_health(health.clone());
        let cancel = CancellationToken::new();
        let collectors = collector_fingerprints(&site)
            .into_iter()
            .filter_map(|(key, fingerprint)| {
                let c = spawn_collector(&site, &key, fingerprint, &ingest, &health, &cancel)?;
                Some((key, c))
            })
            .collect();
        let mut tasks = Vec::new();
        let site = Arc::new(site);
        let history_ready = Arc::new(AtomicBool::new(true));
        // One state for every handler: the overview's figures and sign-in counts are shared.
        let state = AppState::new(
            site.clone(),
            live.clone(),
            store.clone(),
            history_ready.clone(),
            health.clone(),
        );
        let (sites, _) = watch::channel(site.clone());
        tasks.push(tokio::spawn(keep_ledger_days(
            sites.subscribe(),
            store.clone(),
            history_ready.clone(),
            cancel.clone(),
        )));
        let alerts = crate::alerting::AlertContext {
            site: site.clone(),
            store: store.clone(),
            live: live.clone(),
            health: health.clone(),
        };
        tasks.push(tokio::spawn(crate::alerting::keep_alerts(
            alerts,
            sites.subscribe(),
            history_ready.clone(),
            cancel.clone(),
        )));
        let router = Arc::new(RwLock::new(http::router(state.clone())));
        Ok(Runtime {
            state,
            site,
            store,
            ingest,
            live,
            cancel,
            history_ready,
            health,
            sites,
            router,
            influx,
            influx_tags,
            writer,
            collectors,
            http: None,
            tasks,
            _lock: lock,
        })
    }

    pub fn app_state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves the web app on `listener` until shutdown. Each request is answered by the
    /// router of the moment, so a reload reaches the pages without closing connections.
    pub fn serve_http(&mut self, listener: TcpListener) {
        let current = self.router.clone();
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let router = current.read().unwrap_or_else(|e| e.into_inner()).clone();
            async move {
                match router.oneshot(req).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                }
            }
        });
        let cancel = self.cancel.clone();
        self.http = Some(tokio::spawn(async move {
            let shutdown = async move { cancel.cancelled().await };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(error = %e, "web server stopped");
            }
        }));
    }

    pub fn spawn(&mut self, task: JoinHandle<()>) {
        self.tasks.push(task);
    }

    /// Re-reads `config` and applies it without stopping collection: collectors whose
    /// connection or meters changed restart (the others keep running), new meters are accepted
    /// and shown, and the web pages, ledger and alert loops work from the new site. Settings
    /// only a restart can apply (data_dir, http.listen, telemetry retention, [influx]) keep
    /// their running values and are reported in the plan. An invalid config changes nothing.
    pub async fn reload(&mut self, config: &Path) -> Result<Reloaded, ConfigErrors> {
        let mut site = match Site::load(config) {
            Ok(s) => s,
            Err(e) => {
                self.health.config_reload("invalid");
                return Err(e);
            }
        };
        let plan = crate::reload::compare(&self.site, &mut site);
        let site = Arc::new(site);
        let (audited, store) = (site.clone(), self.store.clone());
        let _ = tokio::task::spawn_blocking(move || audit_config_edits(&audited, &store)).await;
        let ingest = self.ingest.for_site(&site);
        self.live.sync_meters(&site);
        if let Some(tags) = &self.influx_tags {
            retag(tags, &site);
        }

        let wanted = collector_fingerprints(&site);
        let mut out = Reloaded {
            plan,
            ..Reloaded::default()
        };
        let outdated: Vec<String> = self
            .collectors
            .iter()
            .filter(|(key, c)| wanted.get(*key) != Some(&c.fingerprint))
            .map(|(key, _)| key.clone())
            .collect();
        // Stop the outdated ones first: a gateway or broker may take one connection per
        // client only, and an MQTT client id must be free before it connects again.
        let mut stopping = Vec::new();
        for key in outdated {
            if let Some(c) = self.collectors.remove(&key) {
                c.cancel.cancel();
                stopping.push((key, c.task));
            }
        }
        let deadline = tokio::time::Instant::now() + COLLECTOR_STOP;
        for (key, task) in stopping {
            if !stop_by(task, deadline).await {
                tracing::warn!(collector = %key, "collector did not stop in time; aborted");
            }
            if wanted.contains_key(&key) {
                out.restarted.push(key);
            } else {
                out.stopped.push(key);
            }
        }
        for (key, fingerprint) in wanted {
            if self.collectors.contains_key(&key) {
                out.unchanged += 1;
                continue;
            }
            if let Some(c) = spawn_collector(
                &site,
                &key,
                fingerprint,
                &ingest,
                &self.health,
                &self.cancel,
            ) {
                if !out.restarted.contains(&key) {
                    out.started.push(key.clone());
                }
                self.collectors.insert(key, c);
            }
        }

        self.ingest = ingest;
        self.site = site.clone();
        self.state.site = site.clone();
        self.sites.send_replace(site);
        *self.router.write().unwrap_or_else(|e| e.into_inner()) = http::router(self.state.clone());
        self.health.config_reload("applied");
        Ok(out)
    }

    /// Stops collectors, the loops and the web server, then lets the InfluxDB spool and the
    /// store write everything accepted.
    pub async fn shutdown(self) {
        let Runtime {
            ingest,
            cancel,
            health,
            writer,
            influx,
            collectors,
            http,
            tasks,
            sites,
            router,
            state,
            _lock,
            ..
        } = self;
        cancel.cancel();
        // All were cancelled at once; they get one common deadline.
        let deadline = tokio::time::Instant::now() + COLLECTOR_STOP;
        for (key, c) in collectors {
            if !stop_by(c.task, deadline).await {
                tracing::warn!(collector = %key, "collector did not stop in time; aborted");
            }
        }
        for t in tasks {
            let _ = t.await;
        }
        if let Some(http) = http
            && !stop_by(http, tokio::time::Instant::now() + HTTP_GRACE).await
        {
            tracing::info!(
                grace_s = HTTP_GRACE.as_secs(),
                "web connections still open (live pages) were closed"
            );
        }
        drop((ingest, sites, router, state));
        let queued = health.store_queue();
        if let Some(influx) = influx {
            let _ = influx.await;
        }
        let _ = tokio::task::spawn_blocking(move || writer.join()).await;
        tracing::info!(
            drained = queued,
            "stopped; every accepted reading is in the store"
        );
    }
}

/// How often the ledger's stored days are brought up to date; queries compute whatever is
/// newer, so this only bounds how much they compute.
const LEDGER_REFRESH: std::time::Duration = std::time::Duration::from_secs(60);

/// Keeps the ledger's daily consumption stored as readings settle and after corrections,
/// for the meters of the latest site in `sites`.
async fn keep_ledger_days(
    sites: watch::Receiver<Arc<Site>>,
    store: SqliteStore,
    history_ready: Arc<AtomicBool>,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(LEDGER_REFRESH);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        if !history_ready.load(std::sync::atomic::Ordering::Relaxed) {
            continue; // the demo is still writing history
        }
        let (site, store) = (sites.borrow().clone(), store.clone());
        let started = std::time::Instant::now();
        let result = tokio::task::spawn_blocking(move || {
            crate::energy::ledger::refresh_all(&mut store.writer()?, &site, chrono::Utc::now())
        })
        .await;
        match result {
            Ok(Ok(n)) if n > 0 => tracing::info!(
                registers = n,
                ms = started.elapsed().as_millis() as u64,
                "ledger days brought up to date"
            ),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "ledger refresh failed"),
            Err(e) => tracing::error!(error = %e, "ledger refresh panicked"),
        }
    }
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
