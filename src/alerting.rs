//! The alert loop: every few minutes the detectors run (`rules::evaluate`), findings are
//! reconciled with the alerts on record (new, seen again, cleared), the records are saved, and
//! notifications go out within the rate limits. The loop works from an [`AlertContext`] the
//! runtime builds (site, store, live state, health), not from the web server's state.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::energy::ledger::Ledger;
use crate::health::Health;
use crate::ingest::LiveState;
use crate::rules::alert::{Alert, RateLimiter, apply, reconcile, should_notify};
use crate::rules::evaluate::{Observations, findings};
use crate::rules::notify::Notifier;
use crate::site::Site;
use crate::store::SqliteStore;

/// What the alert loop works from.
#[derive(Clone)]
pub struct AlertContext {
    /// The site of the moment (replaced on reload).
    pub site: Arc<Site>,
    pub store: SqliteStore,
    /// The meters' status.
    pub live: Arc<LiveState>,
    /// The inputs' bad-payload counts.
    pub health: Arc<Health>,
}

impl AsRef<Site> for AlertContext {
    fn as_ref(&self) -> &Site {
        &self.site
    }
}

impl AsRef<SqliteStore> for AlertContext {
    fn as_ref(&self) -> &SqliteStore {
        &self.store
    }
}

/// How often the detectors run.
pub const ROUND: Duration = Duration::from_secs(300);

/// Bad-payload counts per topic over the last hour, from the cumulative counters.
#[derive(Default)]
struct BadPayloads {
    samples: HashMap<String, VecDeque<(DateTime<Utc>, u64)>>,
}

impl BadPayloads {
    fn observe(&mut self, topic: &str, bad: u64, now: DateTime<Utc>) -> u64 {
        let q = self.samples.entry(topic.to_string()).or_default();
        q.push_back((now, bad));
        while q.len() > 1
            && q.front()
                .is_some_and(|(t, _)| now - *t > chrono::Duration::hours(1))
        {
            q.pop_front();
        }
        bad.saturating_sub(q.front().map_or(bad, |(_, b)| *b))
    }
}

/// What collection observes now.
fn observe(ctx: &AlertContext, bad: &mut BadPayloads, now: DateTime<Utc>) -> Observations {
    let meters = ctx
        .site
        .meters
        .iter()
        .map(|m| {
            let s = crate::status::current(&ctx.live, m, now);
            (m.id.clone(), s.is_down(), s.detail)
        })
        .collect();
    let bad_payloads = ctx
        .health
        .inputs()
        .into_iter()
        .map(|i| (i.topic.clone(), bad.observe(&i.topic, i.bad, now)))
        .collect();
    Observations {
        meters,
        bad_payloads,
    }
}

/// One round: detect, reconcile, save. Returns the alerts as saved. It reads the site and the
/// store of `ctx` (the loop's [`AlertContext`], or anything else that holds both).
pub fn round<C>(ctx: &C, seen: &Observations, now: DateTime<Utc>) -> anyhow::Result<Vec<Alert>>
where
    C: AsRef<Site> + AsRef<SqliteStore>,
{
    let (site, store): (&Site, &SqliteStore) = (ctx.as_ref(), ctx.as_ref());
    let reader = store.reader()?;
    let ledger = Ledger::new(&reader, site);
    let found = findings(&ledger, site, &site.alerts, seen, now)?;
    let mut alerts = reader.alerts(None)?;
    let known: Vec<i64> = alerts.iter().map(|a| a.id).collect();
    let changes = reconcile(&alerts, &found);
    apply(&mut alerts, &changes, now);
    // New alerts get their id from the store, not from the alerts still open.
    for a in alerts.iter_mut().filter(|a| !known.contains(&a.id)) {
        a.id = 0;
    }
    Ok(store.writer()?.save_alerts(&alerts)?)
}

fn notifier_of(site: &Site) -> Option<Notifier> {
    match Notifier::new(site.notify.clone(), &site.name) {
        Ok(n) => Some(n),
        Err(e) => {
            tracing::error!(error = %e, "notifications are off");
            None
        }
    }
}

/// Runs rounds until cancelled (not while the demo is still writing history). Each round
/// works from the latest site in `sites`: a reloaded config (new meters, alert settings,
/// notification channels) takes effect at the next round.
pub async fn keep_alerts(
    mut ctx: AlertContext,
    mut sites: tokio::sync::watch::Receiver<Arc<Site>>,
    history_ready: Arc<AtomicBool>,
    cancel: CancellationToken,
) {
    ctx.site = sites.borrow_and_update().clone();
    let mut notifier = notifier_of(&ctx.site);
    let mut limiter = RateLimiter::from_settings(&ctx.site.alerts);
    let mut bad = BadPayloads::default();
    // The first round after one period: collectors have connected by then.
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + ROUND, ROUND);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        if !history_ready.load(Ordering::Relaxed) {
            continue;
        }
        if sites.has_changed().unwrap_or(false) {
            ctx.site = sites.borrow_and_update().clone();
            notifier = notifier_of(&ctx.site);
            limiter = RateLimiter::from_settings(&ctx.site.alerts);
        }
        let now = Utc::now();
        let seen = observe(&ctx, &mut bad, now);
        let s = ctx.clone();
        let alerts = match tokio::task::spawn_blocking(move || round(&s, &seen, now)).await {
            Ok(Ok(a)) => a,
            Ok(Err(e)) => {
                tracing::error!(error = %format!("{e:#}"), "alert round failed");
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "alert round panicked");
                continue;
            }
        };
        let Some(notifier) = &notifier else { continue };
        let mut notified = Vec::new();
        for a in alerts
            .iter()
            .filter(|a| should_notify(a, now, &ctx.site.alerts))
        {
            if !limiter.admit(now) {
                tracing::warn!("notification limit reached; the rest wait for the next round");
                break;
            }
            for d in notifier.send(a).await {
                if d.ok {
                    tracing::info!(alert = a.id, channel = %d.channel, "alert sent");
                } else {
                    tracing::warn!(alert = a.id, channel = %d.channel, error = ?d.error, "alert not delivered");
                }
            }
            let mut a = a.clone();
            a.last_notified = Some(now);
            notified.push(a);
        }
        if !notified.is_empty() {
            let store = ctx.store.clone();
            let _ =
                tokio::task::spawn_blocking(move || store.writer()?.save_alerts(&notified)).await;
        }
    }
}
