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
