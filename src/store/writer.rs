//! The store's writer thread: drains the ingest queue in batches, one transaction per batch,
//! and prunes old telemetry. A failed write is retried, never dropped; at shutdown the queue is
//! drained before the thread ends.

use std::thread::JoinHandle;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;

use super::sqlite::SqliteStore;
use crate::health::Health;
use crate::reading::Reading;

/// What ingest sends the writer.
#[derive(Debug)]
pub enum StoreMsg {
    Batch(Vec<Reading>),
    /// Answered once everything sent before it is committed.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Readings collected into one transaction at most.
const MAX_BATCH: usize = 20_000;

/// Starts the writer; it ends when every sender of `rx` is gone and the queue is empty.
/// Commits, their time and failures are counted in `health` (`/metrics`).
pub fn spawn_writer(
    store: SqliteStore,
    mut rx: mpsc::Receiver<StoreMsg>,
    retention_days: u32,
    health: std::sync::Arc<Health>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("store-writer".into()).spawn(move || {
        let mut writer = loop {
            match store.writer() {
                Ok(w) => break w,
                Err(e) => {
                    tracing::error!(error = %e, "cannot open the store for writing; retrying");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        };
        let mut last_prune = std::time::Instant::now() - Duration::from_secs(3600);
        let mut open = true;
        while open {
            let mut batch = Vec::new();
            let mut flushes = Vec::new();
            match rx.blocking_recv() {
                Some(StoreMsg::Batch(b)) => batch = b,
                Some(StoreMsg::Flush(done)) => flushes.push(done),
                None => open = false,
            }
            while batch.len() < MAX_BATCH && open {
                match rx.try_recv() {
                    Ok(StoreMsg::Batch(more)) => batch.extend(more),
                    Ok(StoreMsg::Flush(done)) => {
                        flushes.push(done);
                        break;
                    }
                    Err(_) => break,
                }
            }
            let mut delay = Duration::from_millis(100);
            loop {
                if batch.is_empty() {
                    break;
                }
                let started = std::time::Instant::now();
                match writer.write_batch(&batch) {
                    Ok(()) => {
                        let registers = batch.iter().filter(|r| r.quantity.is_cumulative()).count();
                        health.store_committed(
                            registers,
                            batch.len() - registers,
                            started.elapsed().as_secs_f64(),
                        );
                        break;
                    }
                    Err(e) => {
                        health.store_write_failed();
                        tracing::error!(error = %e, readings = batch.len(), "store write failed; keeping the batch and retrying");
                        std::thread::sleep(delay);
                        delay = (delay * 2).min(Duration::from_secs(10));
                    }
                }
            }
            for done in flushes {
                let _ = done.send(());
            }
            if last_prune.elapsed() > Duration::from_secs(3600) {
                last_prune = std::time::Instant::now();
                let cutoff = Utc::now() - chrono::Duration::days(retention_days as i64);
                match writer.prune_telemetry(cutoff) {
                    Ok(n) if n > 0 => tracing::info!(rows = n, "pruned telemetry past the retention window"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "telemetry pruning failed"),
                }
            }
        }
    })
}
