//! Shared state of the handlers.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::config::Site;
use crate::health::Health;
use crate::ingest::LiveState;
use crate::store::SqliteStore;

#[derive(Clone)]
pub struct AppState {
    pub site: Arc<Site>,
    pub live: Arc<LiveState>,
    pub store: SqliteStore,
    /// False while history is still being written (the demo's backfill).
    pub history_ready: Arc<AtomicBool>,
    pub health: Arc<Health>,
}

impl AppState {
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
