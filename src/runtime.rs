//! The running service: store writer, ingest, collectors and the web server, started from a
//! validated site and stopped in order (collectors first, then the store drains its queue).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::collect::modbus::poller;
use crate::config::Site;
use crate::health::Health;
use crate::http::{self, AppState};
use crate::ingest::{Ingest, LiveState};
use crate::store::SqliteStore;
use crate::store::writer::spawn_writer;

/// Readings batches the ingest queue holds before collectors wait for the store.
const QUEUE_BATCHES: usize = 1024;

pub struct Runtime {
    pub site: Arc<Site>,
    pub store: SqliteStore,
    pub ingest: Ingest,
    pub live: Arc<LiveState>,
    pub cancel: CancellationToken,
    pub history_ready: Arc<AtomicBool>,
    pub health: Arc<Health>,
    writer: std::thread::JoinHandle<()>,
    /// The InfluxDB sink's task: it ends once ingest is gone and its spool is written.
    influx: Option<JoinHandle<()>>,
    tasks: Vec<JoinHandle<()>>,
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
        let store = SqliteStore::open(&site.data_dir.join("jieneng.db"))?;
        let (tx, rx) = mpsc::channel(QUEUE_BATCHES);
        let writer = spawn_writer(store.clone(), rx, site.telemetry_retention_days)?;
        let live = Arc::new(LiveState::for_site(&site));
        let health = Arc::new(Health::new());
        let mut sinks = Vec::new();
        let mut influx = None;
        if let Some(config) = &site.influx {
            let (sink, task) = crate::store::influx::sink::spawn(config, &site, health.clone())?;
            sinks.push(sink);
            influx = Some(task);
            tracing::info!(url = %config.url, bucket = %config.bucket, "writing readings to the InfluxDB API");
        }
        let ingest = Ingest::with_sinks(&site, live.clone(), tx, sinks);
        let cancel = CancellationToken::new();
        let mut tasks = poller::spawn_all(&site, ingest.clone(), health.clone(), cancel.clone());
        tasks.extend(crate::collect::mqtt::client::spawn_all(
            &site,
            ingest.clone(),
            health.clone(),
            cancel.clone(),
        ));
        let site = Arc::new(site);
        let history_ready = Arc::new(AtomicBool::new(true));
        tasks.push(tokio::spawn(keep_ledger_days(
            site.clone(),
            store.clone(),
            history_ready.clone(),
            cancel.clone(),
        )));
        tasks.push(tokio::spawn(crate::alerting::keep_alerts(
            AppState {
                site: site.clone(),
                live: live.clone(),
                store: store.clone(),
                history_ready: history_ready.clone(),
                health: health.clone(),
            },
            history_ready.clone(),
            cancel.clone(),
        )));
        Ok(Runtime {
            site,
            store,
            ingest,
            live,
            cancel,
            history_ready,
            health,
            influx,
            writer,
            tasks,
        })
    }

    pub fn app_state(&self) -> AppState {
        AppState {
            site: self.site.clone(),
            live: self.live.clone(),
            store: self.store.clone(),
            history_ready: self.history_ready.clone(),
            health: self.health.clone(),
        }
    }

    /// Serves the web app on `listener` until shutdown.
    pub fn serve_http(&mut self, listener: TcpListener) {
        let app = http::router(self.app_state());
        let cancel = self.cancel.clone();
        self.tasks.push(tokio::spawn(async move {
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

    /// Stops collectors and the web server, then lets the store write everything accepted.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
        drop(self.ingest);
        if let Some(influx) = self.influx {
            let _ = influx.await;
        }
        let _ = tokio::task::spawn_blocking(move || self.writer.join()).await;
    }
}

/// How often the ledger's stored days are brought up to date; queries compute whatever is
/// newer, so this only bounds how much they compute.
const LEDGER_REFRESH: std::time::Duration = std::time::Duration::from_secs(60);

/// Keeps the ledger's daily consumption stored as readings settle and after corrections.
async fn keep_ledger_days(
    site: Arc<Site>,
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
        let (site, store) = (site.clone(), store.clone());
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
