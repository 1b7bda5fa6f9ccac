//! Shared state of the handlers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::energy::ledger::Ledger;
use crate::health::Health;
use crate::http::error::AppError;
use crate::ingest::LiveState;
use crate::report::overview::Overview;
use crate::site::Site;
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
    pub sign_ins: Arc<crate::http::throttle::SignInThrottle>,
}

/// The overview's figures: they read every meter's day, so they are computed at most once a
/// minute, in the background. Requests get the last figures at once; only the first request
/// after a start waits for them.
#[derive(Clone, Default)]
pub struct OverviewCache(Arc<OverviewSlot>);

#[derive(Default)]
pub struct OverviewSlot {
    figures: std::sync::Mutex<Option<Arc<Overview>>>,
    refreshing: AtomicBool,
    /// Held by the request that computes the first figures; the others wait for them.
    first: tokio::sync::Mutex<()>,
}

/// How long the overview's figures are reused before a refresh starts.
const OVERVIEW_FRESH: chrono::Duration = chrono::Duration::seconds(60);

impl OverviewCache {
    fn current(&self) -> Option<Arc<Overview>> {
        self.0
            .figures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The latest figures; a refresh starts in the background when they are a minute old.
    pub async fn get(&self, state: &AppState) -> Result<Arc<Overview>, AppError> {
        if let Some(o) = self.current() {
            let stale = chrono::Utc::now() - o.as_of >= OVERVIEW_FRESH;
            if stale && !self.0.refreshing.swap(true, Ordering::AcqRel) {
                let (cache, state) = (self.clone(), state.clone());
                tokio::spawn(async move {
                    if let Err(e) = cache.refresh(&state).await {
                        tracing::warn!(error = ?e, "overview figures not refreshed");
                    }
                    cache.0.refreshing.store(false, Ordering::Release);
                });
            }
            return Ok(o);
        }
        let _first = self.0.first.lock().await;
        match self.current() {
            Some(o) => Ok(o),
            None => self.refresh(state).await,
        }
    }

    /// Computes the figures now; kept unless history is still being written.
    async fn refresh(&self, state: &AppState) -> Result<Arc<Overview>, AppError> {
        let (site, store, now) = (state.site.clone(), state.store.clone(), chrono::Utc::now());
        let figures = tokio::task::spawn_blocking(move || {
            let reader = store.reader()?;
            crate::report::overview::overview(&Ledger::new(&reader, &site), &site, now)
        })
        .await??;
        let figures = Arc::new(figures);
        if state.history_ready.load(Ordering::Relaxed) {
            *self.0.figures.lock().unwrap_or_else(|e| e.into_inner()) = Some(figures.clone());
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
    pub fn meter(&self, id: &str) -> Result<&crate::site::Meter, crate::http::error::AppError> {
        self.site
            .meter(id)
            .ok_or_else(|| crate::http::error::AppError::NotFound(format!("no meter `{id}`")))
    }
}

/// The site and the store, for what works from either (an alert round in tests).
impl AsRef<Site> for AppState {
    fn as_ref(&self) -> &Site {
        &self.site
    }
}

impl AsRef<SqliteStore> for AppState {
    fn as_ref(&self) -> &SqliteStore {
        &self.store
    }
}
