//! The InfluxDB 2 API sink: every accepted reading, as line protocol, batched (≤ `batch_lines`
//! lines or `flush_interval`), gzip-compressed and written through a durable spool, so a down
//! or refusing server delays data rather than losing it.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use flate2::Compression;
use flate2::write::GzEncoder;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::line::{MeterTags, encode, site_tags};
use super::spool::{Spool, SpoolError};
use crate::config::influx::InfluxConfig;
use crate::health::Health;
use crate::ingest::ReadingSink;
use crate::reading::Reading;
use crate::site::Site;

/// Why a write failed, and whether trying again can help.
#[derive(Debug)]
pub enum WriteError {
    /// Server down, unreachable, overloaded or not authorised (yet): retry with back-off.
    Retry(String),
    /// The server refuses the data itself (400, 413, 422): retrying would fail forever.
    Rejected(String),
}

/// Sends gzip-compressed line protocol to `/api/v2/write`.
pub struct Writer {
    client: influxdb2::Client,
    org: String,
    bucket: String,
}

impl Writer {
    pub fn new(config: &InfluxConfig) -> Result<Writer, String> {
        reqwest011::Url::parse(&config.url)
            .map_err(|e| format!("influx url `{}`: {e}", config.url))?;
        let mut headers = reqwest011::header::HeaderMap::new();
        headers.insert(
            reqwest011::header::CONTENT_ENCODING,
            reqwest011::header::HeaderValue::from_static("gzip"),
        );
        let http = reqwest011::ClientBuilder::new()
            .default_headers(headers)
            .timeout(Duration::from_secs(30));
        let token = config.token.as_ref().map_or("", |t| t.expose());
        let client = influxdb2::ClientBuilder::with_builder(http, &config.url, &config.org, token)
            .build()
            .map_err(|e| format!("influx client: {e}"))?;
        Ok(Writer {
            client,
            org: config.org.clone(),
            bucket: config.bucket.clone(),
        })
    }

    pub async fn write(&self, gzipped: Vec<u8>) -> Result<(), WriteError> {
        use influxdb2::RequestError;
        use influxdb2::api::write::TimestampPrecision;
        match self
            .client
            .write_line_protocol_with_precision(
                &self.org,
                &self.bucket,
                gzipped,
                TimestampPrecision::Milliseconds,
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(RequestError::Http { status, text })
                if matches!(status.as_u16(), 400 | 413 | 422) =>
            {
                Err(WriteError::Rejected(format!("HTTP {status}: {text}")))
            }
            Err(e) => Err(WriteError::Retry(e.to_string())),
        }
    }
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::with_capacity(data.len() / 4), Compression::fast());
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// The tags of every meter (unit, building, category), replaced when the config is reloaded;
/// readings of a meter without tags are not sent.
pub type SharedTags = Arc<std::sync::RwLock<Arc<HashMap<Arc<str>, MeterTags>>>>;

/// A running sink: where to send readings, its task, and its meters' tags.
pub struct SinkHandle {
    pub sender: ReadingSink,
    /// Ends once every sender is gone and what it received is spooled.
    pub task: tokio::task::JoinHandle<()>,
    pub tags: SharedTags,
}

/// Tags readings of `site`'s meters from now on (a reloaded config).
pub fn retag(tags: &SharedTags, site: &Site) {
    *tags.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(site_tags(site));
}

struct Sink {
    spool: Spool,
    writer: Writer,
    tags: SharedTags,
    health: Arc<Health>,
    buffer: Vec<u8>,
    lines: usize,
    batch_lines: usize,
    retry_at: Option<Instant>,
    backoff: Duration,
    rejected_dir: std::path::PathBuf,
    warned_level: u8,
}

impl Sink {
    fn tags(&self) -> Arc<HashMap<Arc<str>, MeterTags>> {
        self.tags.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Moves the buffered lines into the spool.
    fn spool_buffer(&mut self) {
        if self.lines == 0 {
            return;
        }
        let payload = gzip(&self.buffer);
        match self.spool.append(&payload) {
            Ok(()) => {}
            Err(SpoolError::Full { dir, bytes, max }) => {
                self.health.influx_dropped(self.lines as u64);
                tracing::error!(spool = %dir.display(), bytes, max, lines = self.lines,
                    "InfluxDB spool full: these lines are not sent to InfluxDB (the readings stay in the embedded store)");
            }
            Err(e) => {
                self.health.influx_dropped(self.lines as u64);
                tracing::error!(error = %e, lines = self.lines, "cannot write the InfluxDB spool");
            }
        }
        self.buffer.clear();
        self.lines = 0;
        self.report_fill();
    }

    /// Warns as the spool fills, long before anything is refused.
    fn report_fill(&mut self) {
        let pending = self.spool.pending_bytes();
        self.health.influx_spool(pending, self.spool.max_bytes());
        self.health
            .influx_spool_segments(self.spool.segment_count());
        let share = pending as f64 / self.spool.max_bytes() as f64;
        let level = if share >= 0.9 {
            3
        } else if share >= 0.5 {
            2
        } else if share >= 0.1 {
            1
        } else {
            0
        };
        if level > self.warned_level {
            tracing::warn!(
                pending_bytes = pending,
                max_bytes = self.spool.max_bytes(),
                percent = (share * 100.0) as u32,
                "InfluxDB spool filling up: the server has not accepted data for a while"
            );
        }
        self.warned_level = level;
    }

    /// Sends spooled batches, oldest first, until the spool is empty or a write fails.
    async fn deliver(&mut self) {
        if self.retry_at.is_some_and(|t| t > Instant::now()) {
            return;
        }
        loop {
            let record = match self.spool.peek() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the InfluxDB spool");
                    break;
                }
            };
            let started = Instant::now();
            match self.writer.write(record.payload.clone()).await {
                Ok(()) => {
                    self.health.influx_written(
                        record.payload.len() as u64,
                        started.elapsed().as_secs_f64(),
                    );
                    if let Err(e) = self.spool.commit(&record) {
                        tracing::error!(error = %e, "cannot advance the InfluxDB spool");
                        break;
                    }
                    self.backoff = Duration::from_millis(500);
                    self.retry_at = None;
                }
                Err(WriteError::Rejected(reason)) => {
                    // Keep the batch for inspection; retrying it would block everything behind it.
                    let _ = std::fs::create_dir_all(&self.rejected_dir);
                    let name = format!("{}-{}.lp.gz", record.segment, record.offset);
                    let _ = std::fs::write(self.rejected_dir.join(&name), &record.payload);
                    tracing::error!(reason = %reason, kept_as = %self.rejected_dir.join(&name).display(), "InfluxDB refused a batch");
                    self.health.influx_rejected();
                    let _ = self.spool.commit(&record);
                }
                Err(WriteError::Retry(reason)) => {
                    self.health.influx_failed();
                    tracing::warn!(reason = %reason, retry_in_ms = self.backoff.as_millis() as u64, "InfluxDB write failed; keeping the batch");
                    self.retry_at = Some(Instant::now() + self.backoff);
                    self.backoff = (self.backoff * 2).min(Duration::from_secs(60));
                    break;
                }
            }
        }
        self.report_fill();
    }
}

/// Starts the sink; readings sent on the returned channel are written. The task ends when the
/// channel closes, after spooling what it holds and one last delivery attempt.
pub fn spawn(
    config: &InfluxConfig,
    site: &Site,
    health: Arc<Health>,
) -> anyhow::Result<SinkHandle> {
    let spool = Spool::open(&config.spool_dir, config.spool_max_bytes)?;
    let writer = Writer::new(config).map_err(|e| anyhow::anyhow!(e))?;
    let (tx, mut rx) = mpsc::channel::<Arc<Vec<Reading>>>(256);
    let flush_interval = config.flush_interval;
    let tags: SharedTags = Arc::new(std::sync::RwLock::new(Arc::new(site_tags(site))));
    let mut sink = Sink {
        spool,
        writer,
        tags: tags.clone(),
        health,
        buffer: Vec::new(),
        lines: 0,
        batch_lines: config.batch_lines,
        retry_at: None,
        backoff: Duration::from_millis(500),
        rejected_dir: config.spool_dir.join("rejected"),
        warned_level: 0,
    };
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(flush_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                batch = rx.recv() => match batch {
                    Some(readings) => {
                        let tags = sink.tags();
                        for chunk in readings.chunks(1000) {
                            sink.lines += encode(chunk, &tags, &mut sink.buffer);
                            if sink.lines >= sink.batch_lines {
                                sink.spool_buffer();
                            }
                        }
                    }
                    None => break,
                },
                _ = tick.tick() => {
                    sink.spool_buffer();
                    sink.deliver().await;
                }
            }
        }
        // Shutting down: everything received goes to the spool; one last delivery attempt.
        let tags = sink.tags();
        while let Ok(readings) = rx.try_recv() {
            sink.lines += encode(&readings, &tags, &mut sink.buffer);
        }
        sink.spool_buffer();
        sink.retry_at = None;
        let _ = tokio::time::timeout(Duration::from_secs(5), sink.deliver()).await;
    });
    Ok(SinkHandle {
        sender: tx,
        task,
        tags,
    })
}
