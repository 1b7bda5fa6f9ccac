//! Shared state of the handlers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::Site;
use crate::energy::ledger::Ledger;
use crate::health::Health;
use crate::http::error::AppError;
use crate::ingest::LiveState;
use crate::report::overview::Overview;
use crate::store::SqliteStore;

#[derive(Clone)]
pub struct AppState {
    pub site: Arc<Site>,
    pub live: Arc<LiveState>,
    pub store: SqliteStore,
    /// False while history is still being written (the demo's backfill).
    pub history_ready: Arc<AtomicBool>,
    pub health: Arc<Health>,
    pub overview: OverviewCache,
    pub sign_ins: Arc<crate::http::auth::SignInThrottle>,
}

/// The overview's figures, computed at most once a minute: they read every meter's day.
#[derive(Clone, Default)]
pub struct OverviewCache(Arc<tokio::sync::Mutex<Option<Arc<Overview>>>>);

/// How long the overview's figures are reused.
const OVERVIEW_FRESH: chrono::Duration = chrono::Duration::seconds(60);

impl OverviewCache {
    /// The figures as of the last minute, computing them when older (one computation at a
    /// time; the others wait for it). Not kept while history is still being written.
    pub async fn get(&self, state: &AppState) -> Result<Arc<Overview>, AppError> {
        let mut slot = self.0.lock().await;
        let now = chrono::Utc::now();
        if let Some(o) = slot.as_ref().filter(|o| now - o.as_of < OVERVIEW_FRESH) {
            return Ok(o.clone());
        }
        let (site, store) = (state.site.clone(), state.store.clone());
        let figures = tokio::task::spawn_blocking(move || {
            let reader = store.reader()?;
            Ledger {
                reader: &reader,
                site: &site,
            }
            .overview(now)
        })
        .await??;
        let figures = Arc::new(figures);
        if state.history_ready.load(Ordering::Relaxed) {
            *slot = Some(figures.clone());
        }
        Ok(figures)
    }
}

impl AppState {
    pub fn new(
        site: Arc<Site>,
        live: Arc<LiveState>,
        store: SqliteStore,
        history_ready: Arc<AtomicBool>,
        health: Arc<Health>,
    ) -> AppState {
        AppState {
            site,
            live,
            store,
            history_ready,
            health,
            overview: OverviewCache::default(),
            sign_ins: Arc::default(),
        }
    }

    /// The configured meter `id`, or 404 naming it.
    pub fn meter(
        &self,
        id: &str,
    ) -> Result<&crate::config::site::Meter, crate::http::error::AppError> {
        self.site
            .meter(id)
            .ok_or_else(|| crate::http::error::AppError::NotFound(format!("no meter `{id}`")))
    }
}
