//! Alerts (告警): detectors that turn ledger rows and collector counts into findings, and the
//! bookkeeping that turns findings into alerts — one alert per (kind, subject) until it is
//! resolved, seen again rather than duplicated, cleared when its condition goes away by itself,
//! and notified within rate limits.
//!
//! Everything here is pure: the caller loads the open alerts and the rows, stores the changes
//! and delivers notifications (`notify`).

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::decimal::round_half_up;
use crate::energy::intervals::{Anomaly, Quality};
use crate::energy::ledger::Row;
pub use crate::rules::alert_settings::{
    AlertSettings, LEAK_BASELINE_PERCENTILE, LEAK_MIN_BASELINE_NIGHTS, Severity,
};
use crate::rules::alert_settings::{MAX_HISTORY_DAYS, MAX_LEAK_BASELINE_NIGHTS, MIN_HISTORY};
use crate::rules::calendar::Calendar;
use crate::time::{local_day, local_hour};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    QuotaExceeded,
    QuotaProjected,
    NightBaseLoad,
    WeekendBaseLoad,
    WaterLeak,
    MeterOffline,
    DataGap,
    RegisterAnomaly,
    BadPayloads,
}

impl AlertKind {
    pub const ALL: [AlertKind; 9] = [
        AlertKind::QuotaExceeded,
        AlertKind::QuotaProjected,
        AlertKind::NightBaseLoad,
        AlertKind::WeekendBaseLoad,
        AlertKind::WaterLeak,
        AlertKind::MeterOffline,
        AlertKind::DataGap,
        AlertKind::RegisterAnomaly,
        AlertKind::BadPayloads,
    ];

    /// Conditions that can end without anyone acting (a meter back online, a night without
    /// flow) resolve themselves. An exceeded quota stays exceeded for the period, and a register
    /// anomaly needs an engineer to explain it (a replacement or reset event): a person
    /// resolves those.
    pub fn clears_by_itself(self) -> bool {
        !matches!(self, AlertKind::QuotaExceeded | AlertKind::RegisterAnomaly)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            AlertKind::QuotaExceeded => "超定额",
            AlertKind::QuotaProjected => "预计超定额",
            AlertKind::NightBaseLoad => "夜间基础负荷偏高",
            AlertKind::WeekendBaseLoad => "周末基础负荷偏高",
            AlertKind::WaterLeak => "疑似漏水",
            AlertKind::MeterOffline => "表计离线",
            AlertKind::DataGap => "数据缺失",
            AlertKind::RegisterAnomaly => "读数异常",
            AlertKind::BadPayloads => "异常报文",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            AlertKind::QuotaExceeded => "quota exceeded",
            AlertKind::QuotaProjected => "quota projected to be exceeded",
            AlertKind::NightBaseLoad => "high night base load",
            AlertKind::WeekendBaseLoad => "high weekend base load",
            AlertKind::WaterLeak => "possible water leak",
            AlertKind::MeterOffline => "meter offline",
            AlertKind::DataGap => "data gap",
            AlertKind::RegisterAnomaly => "register anomaly",
            AlertKind::BadPayloads => "bad payloads",
        }
    }
}

/// What a detector found now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: AlertKind,
    /// Meter, unit or topic id.
    pub subject: String,
    pub severity: Severity,
    pub message_zh: String,
    pub message_en: String,
    /// The figure that tripped the rule, in the rule's unit (see the message).
    pub value: Option<Decimal>,
    pub threshold: Option<Decimal>,
    /// When the detector ran.
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Acknowledged,
    Resolved,
}

/// A condition as people track it: raised once, seen again while it lasts, acknowledged and
/// resolved by someone (or by "system" when it went away by itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: i64,
    pub kind: AlertKind,
    pub subject: String,
    /// The worst severity seen while the alert was live.
    pub severity: Severity,
    pub status: Status,
    /// The latest finding's messages and figures.
    pub message_zh: String,
    pub message_en: String,
    pub value: Option<Decimal>,
    pub threshold: Option<Decimal>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// How many detector runs found the condition.
    pub count: u32,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_note: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_note: Option<String>,
    pub last_notified: Option<DateTime<Utc>>,
}

/// Who resolves alerts whose condition went away by itself.
pub const SYSTEM_USER: &str = "system";
/// The note such a resolution carries.
pub const CLEARED_NOTE: &str = "条件已消失 / condition no longer found";

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AlertError {
    #[error("a user name is required")]
    MissingUser,
    #[error("alert {0} is already acknowledged")]
    AlreadyAcknowledged(i64),
    #[error("alert {0} is already resolved")]
    AlreadyResolved(i64),
}

impl Alert {
    /// A new open alert raised by `finding`.
    pub fn from_finding(id: i64, finding: &Finding) -> Alert {
        Alert {
            id,
            kind: finding.kind,
            subject: finding.subject.clone(),
            severity: finding.severity,
            status: Status::Open,
            message_zh: finding.message_zh.clone(),
            message_en: finding.message_en.clone(),
            value: finding.value,
            threshold: finding.threshold,
            first_seen: finding.at,
            last_seen: finding.at,
            count: 1,
            acknowledged_by: None,
            acknowledged_at: None,
            acknowledged_note: None,
            resolved_by: None,
            resolved_at: None,
            resolved_note: None,
            last_notified: None,
        }
    }

    /// The condition was found again: the latest figures, the worst severity so far.
    pub fn record(&mut self, finding: &Finding) {
        self.severity = self.severity.max(finding.severity);
        self.message_zh.clone_from(&finding.message_zh);
        self.message_en.clone_from(&finding.message_en);
        self.value = finding.value;
        self.threshold = finding.threshold;
        self.last_seen = self.last_seen.max(finding.at);
        self.count = self.count.saturating_add(1);
    }

    /// Someone has seen it and is on it: it stays live but is no longer re-notified.
    pub fn acknowledge(
        &mut self,
        by: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), AlertError> {
        let by = user(by)?;
        match self.status {
            Status::Resolved => Err(AlertError::AlreadyResolved(self.id)),
            Status::Acknowledged => Err(AlertError::AlreadyAcknowledged(self.id)),
            Status::Open => {
                self.status = Status::Acknowledged;
                self.acknowledged_by = Some(by);
                self.acknowledged_at = Some(now);
                self.acknowledged_note = note.map(str::to_string);
                Ok(())
            }
        }
    }

    /// Closed: the next finding of the same condition raises a new alert.
    pub fn resolve(
        &mut self,
        by: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), AlertError> {
        let by = user(by)?;
        if self.status == Status::Resolved {
            return Err(AlertError::AlreadyResolved(self.id));
        }
        self.status = Status::Resolved;
        self.resolved_by = Some(by);
        self.resolved_at = Some(now);
        self.resolved_note = note.map(str::to_string);
        Ok(())
    }
}

fn user(by: &str) -> Result<String, AlertError> {
    let by = by.trim();
    if by.is_empty() {
        Err(AlertError::MissingUser)
    } else {
        Ok(by.to_string())
    }
}

/// What to do with the stored alerts after a detector run.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A condition with no live alert: raise one.
    New(Finding),
    /// A live alert's condition found again: [`Alert::record`] it.
    Seen { id: i64, finding: Finding },
    /// A live alert whose condition went away by itself: resolve it as [`SYSTEM_USER`].
    Cleared { id: i64 },
}

/// The changes that bring `alerts` (the stored ones; resolved ones are ignored) in line with
/// `findings` (one detector run). At most one live alert per (kind, subject): a condition that
/// persists bumps its alert instead of raising another, and findings of the same condition in
/// one run merge into the worst one.
pub fn reconcile(alerts: &[Alert], findings: &[Finding]) -> Vec<Change> {
    let mut found: BTreeMap<(AlertKind, &str), &Finding> = BTreeMap::new();
    for f in findings {
        found
            .entry((f.kind, f.subject.as_str()))
            .and_modify(|kept| {
                if (f.severity, f.at) > (kept.severity, kept.at) {
                    *kept = f;
                }
            })
            .or_insert(f);
    }
    // The alert a condition continues: its oldest live one.
    let mut live: BTreeMap<(AlertKind, &str), &Alert> = BTreeMap::new();
    for a in alerts.iter().filter(|a| a.status != Status::Resolved) {
        live.entry((a.kind, a.subject.as_str()))
            .and_modify(|kept| {
                if a.id < kept.id {
                    *kept = a;
                }
            })
            .or_insert(a);
    }
    let mut changes: Vec<Change> = found
        .iter()
        .map(|(key, f)| match live.get(key) {
            Some(a) => Change::Seen {
                id: a.id,
                finding: (*f).clone(),
            },
            None => Change::New((*f).clone()),
        })
        .collect();
    let mut cleared: Vec<i64> = alerts
        .iter()
        .filter(|a| {
            a.status != Status::Resolved
                && a.kind.clears_by_itself()
                && !found.contains_key(&(a.kind, a.subject.as_str()))
        })
        .map(|a| a.id)
        .collect();
    cleared.sort_unstable();
    changes.extend(cleared.into_iter().map(|id| Change::Cleared { id }));
    changes
}

/// Applies `changes` to alerts held in memory; new alerts get ids after the highest one.
pub fn apply(alerts: &mut Vec<Alert>, changes: &[Change], now: DateTime<Utc>) {
    for change in changes {
        match change {
            Change::New(f) => {
                let id = alerts
                    .iter()
                    .map(|a| a.id)
                    .max()
                    .unwrap_or(0)
                    .saturating_add(1);
                alerts.push(Alert::from_finding(id, f));
            }
            Change::Seen { id, finding } => {
                if let Some(a) = alerts.iter_mut().find(|a| a.id == *id) {
                    a.record(finding);
                }
            }
            Change::Cleared { id } => {
                if let Some(a) = alerts.iter_mut().find(|a| a.id == *id) {
                    // An alert already resolved stays as it is.
                    let _ = a.resolve(SYSTEM_USER, Some(CLEARED_NOTE), now);
                }
            }
        }
    }
}

/// Whether `alert` should be sent out now: an open alert at or above `min_severity` at once,
/// then again at most every `renotify_hours` while it stays open (0: never again). Someone
/// who acknowledged or resolved it has been told.
pub fn should_notify(alert: &Alert, now: DateTime<Utc>, settings: &AlertSettings) -> bool {
    if alert.status != Status::Open || alert.severity < settings.min_severity {
        return false;
    }
    match alert.last_notified {
        None => true,
        Some(_) if settings.renotify_hours == 0 => false,
        Some(t) => now.signed_duration_since(t) >= Duration::hours(settings.renotify_hours.into()),
    }
}

/// A cap on notifications over any rolling hour, so a storm (a gateway down takes fifty meters
/// offline) does not flood the engineers' phones.
#[derive(Debug, Clone, Default)]
pub struct RateLimiter {
    max_per_hour: u32,
    sent: VecDeque<DateTime<Utc>>,
}

impl RateLimiter {
    pub fn new(max_per_hour: u32) -> RateLimiter {
        RateLimiter {
            max_per_hour,
            sent: VecDeque::new(),
        }
    }

    pub fn from_settings(settings: &AlertSettings) -> RateLimiter {
        RateLimiter::new(settings.max_notifications_per_hour)
    }

    /// Whether one more notification may go out at `now`; if so it is counted.
    pub fn admit(&mut self, now: DateTime<Utc>) -> bool {
        let hour_ago = now
            .checked_sub_signed(Duration::hours(1))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        self.sent.retain(|t| *t > hour_ago);
        if self.sent.len() < self.max_per_hour as usize {
            self.sent.push_back(now);
            true
        } else {
            false
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Detectors

/// Consumption rates (per hour) over a window that rows of usable quality cover completely.
struct Window {
    mean: Decimal,
    lowest: Decimal,
}

fn usable(q: Quality) -> bool {
    !matches!(q, Quality::Missing | Quality::Invalid)
}

/// The rates over [from, to), or None when a row in it is missing or invalid, or the rows do
/// not cover it: a night half measured says nothing about the night.
fn window(rows: &[Row], from: DateTime<Utc>, to: DateTime<Utc>) -> Option<Window> {
    let span = (to - from).num_seconds();
    if span <= 0 {
        return None;
    }
    let hour = Decimal::from(3600);
    let mut covered: i64 = 0;
    let mut total = Decimal::ZERO;
    let mut lowest: Option<Decimal> = None;
    for r in rows.iter().filter(|r| r.start >= from && r.end <= to) {
        let secs = (r.end - r.start).num_seconds();
        if secs <= 0 || !usable(r.quality) {
            return None;
        }
        covered = covered.checked_add(secs)?;
        total = total.checked_add(r.consumption)?;
        let rate = r
            .consumption
            .checked_mul(hour)?
            .checked_div(Decimal::from(secs))?;
        lowest = Some(lowest.map_or(rate, |l| l.min(rate)));
    }
    if covered != span {
        return None;
    }
    Some(Window {
        mean: total.checked_mul(hour)?.checked_div(Decimal::from(span))?,
        lowest: lowest?,
    })
}

/// Local times are only computed for years a calendar shows; beyond them there is nothing to
/// detect (and chrono's conversions would overflow).
fn in_calendar(now: DateTime<Utc>) -> bool {
    (1971..=9998).contains(&now.year())
}

/// The night that ends on local `date`, as [start, end).
fn night(date: NaiveDate, s: &AlertSettings, tz: Tz) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let (start, end) = (s.night_start_hour, s.night_end_hour);
    if start > 23 || end > 23 || start == end {
        return None;
    }
    let start_date = if start < end { date } else { date.pred_opt()? };
    Some((
        local_hour(start_date, start, tz)?,
        local_hour(date, end, tz)?,
    ))
}

/// The date the last night complete at `now` ends on.
fn last_night(now: DateTime<Utc>, s: &AlertSettings, tz: Tz) -> Option<NaiveDate> {
    if !in_calendar(now) {
        return None;
    }
    let today = now.with_timezone(&tz).date_naive();
    let (_, end) = night(today, s, tz)?;
    if end <= now {
        Some(today)
    } else {
        today.pred_opt()
    }
}

fn night_label(s: &AlertSettings) -> String {
    format!("{}:00–{}:00", s.night_start_hour, s.night_end_hour)
}

/// A figure for a message: at most three decimals, no trailing zeros.
fn figure(d: Decimal) -> String {
    round_half_up(d, 3).normalize().to_string()
}

/// How a current rate compares with its history.
struct Comparison {
    median: Decimal,
    threshold: Decimal,
    /// Current as a percentage of the median, rounded.
    percent: Decimal,
    /// The threshold as a percentage of the median.
    limit_percent: Decimal,
}

fn median(values: &mut [Decimal]) -> Option<Decimal> {
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => values[n / 2 - 1]
            .checked_add(values[n / 2])?
            .checked_div(Decimal::TWO),
    }
}

/// Some when `current` lies above the median of `history` by more than the tolerance; None
/// without enough history or with a median of zero (no base load to compare with).
fn above_history(
    current: Decimal,
    history: &mut [Decimal],
    s: &AlertSettings,
) -> Option<Comparison> {
    if history.len() < MIN_HISTORY {
        return None;
    }
    let median = median(history)?;
    if median <= Decimal::ZERO {
        return None;
    }
    let factor = Decimal::ONE.checked_add(s.base_load_tolerance)?;
    let threshold = median.checked_mul(factor)?;
    if current <= threshold {
        return None;
    }
    let hundred = Decimal::ONE_HUNDRED;
    Some(Comparison {
        median,
        threshold,
        percent: round_half_up(current.checked_div(median)?.checked_mul(hundred)?, 0),
        limit_percent: factor.checked_mul(hundred)?.normalize(),
    })
}

fn history_days(s: &AlertSettings) -> u64 {
    s.history_days.min(MAX_HISTORY_DAYS).into()
}

/// Night base load (夜间基础负荷): the mean hourly consumption over the night hours of the
/// last complete night against the median of the same mean over the previous `history_days`
/// nights. Lights and equipment left on overnight show here first. Figures are per hour in
/// the register's unit; messages say kWh/h, as base load is watched on electricity.
pub fn night_base_load(
    subject: &str,
    hours_history: &[Row],
    tz: Tz,
    settings: &AlertSettings,
    now: DateTime<Utc>,
) -> Option<Finding> {
    let last = last_night(now, settings, tz)?;
    let (from, to) = night(last, settings, tz)?;
    let current = window(hours_history, from, to)?.mean;
    let mut history: Vec<Decimal> = (1..=history_days(settings))
        .filter_map(|k| {
            let (a, b) = night(last.checked_sub_days(Days::new(k))?, settings, tz)?;
            Some(window(hours_history, a, b)?.mean)
        })
        .collect();
    let c = above_history(current, &mut history, settings)?;
    let (days, hours) = (settings.history_days, night_label(settings));
    Some(Finding {
        kind: AlertKind::NightBaseLoad,
        subject: subject.to_string(),
        severity: Severity::Warning,
        message_zh: format!(
            "夜间（{hours}）基础负荷 {} kWh/h，为近 {days} 天中位数 {} kWh/h 的 {}%（阈值 {}%）",
            figure(current),
            figure(c.median),
            c.percent,
            c.limit_percent
        ),
        message_en: format!(
            "Night ({hours}) base load {} kWh/h is {}% of the {days}-day median {} kWh/h (threshold {}%)",
            figure(current),
            c.percent,
            figure(c.median),
            c.limit_percent
        ),
        value: Some(current),
        threshold: Some(c.threshold),
        at: now,
    })
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Weekend base load (周末基础负荷): the mean hourly consumption of the last complete
/// Saturday or Sunday against the median of the weekend days in the `history_days` before
/// it. A building that runs on the weekend as on a weekday wastes two days a week. Public
/// holidays and make-up working days (调休) are not known here and count as what the calendar
/// day is.
pub fn weekend_base_load(
    subject: &str,
    hours_history: &[Row],
    tz: Tz,
    settings: &AlertSettings,
    now: DateTime<Utc>,
) -> Option<Finding> {
    if !in_calendar(now) {
        return None;
    }
    let today = now.with_timezone(&tz).date_naive();
    // Days before today are complete; a weekend day is among any six of them.
    let day = (1..=7)
        .filter_map(|k| today.checked_sub_days(Days::new(k)))
        .find(|d| is_weekend(*d))?;
    let (from, to) = local_day(day, tz)?;
    let current = window(hours_history, from, to)?.mean;
    let mut history: Vec<Decimal> = (1..=history_days(settings))
        .filter_map(|k| day.checked_sub_days(Days::new(k)))
        .filter(|d| is_weekend(*d))
        .filter_map(|d| {
            let (a, b) = local_day(d, tz)?;
            Some(window(hours_history, a, b)?.mean)
        })
        .collect();
    let c = above_history(current, &mut history, settings)?;
    let days = settings.history_days;
    let (weekday_zh, weekday_en) = match day.weekday() {
        Weekday::Sat => ("周六", "Saturday"),
        _ => ("周日", "Sunday"),
    };
    Some(Finding {
        kind: AlertKind::WeekendBaseLoad,
        subject: subject.to_string(),
        severity: Severity::Warning,
        message_zh: format!(
            "{weekday_zh}（{}月{}日）平均负荷 {} kWh/h，为近 {days} 天周末中位数 {} kWh/h 的 {}%（阈值 {}%）",
            day.month(),
            day.day(),
            figure(current),
            figure(c.median),
            c.percent,
            c.limit_percent
        ),
        message_en: format!(
            "{weekday_en} {} mean load {} kWh/h is {}% of the {days}-day weekend median {} kWh/h (threshold {}%)",
            day.format("%Y-%m-%d"),
            figure(current),
            c.percent,
            figure(c.median),
            c.limit_percent
        ),
        value: Some(current),
        threshold: Some(c.threshold),
        at: now,
    })
}

fn in_vacation(calendar: &Calendar, d: NaiveDate) -> bool {
    calendar.vacations.iter().any(|p| p.from <= d && d <= p.to)
}

/// The nights (by the local date they end on) a leak verdict on the night ending `last` is
/// compared with, most recent first: the previous `leak_baseline_nights` nights of the same
/// kind as `last` — in a school vacation or not — looking back at most twice as far, so that
/// students coming back after the holidays are not a leak; and the previous
/// `leak_baseline_nights` nights of any kind, for when the first have too little data.
fn leak_baseline_dates(
    last: NaiveDate,
    s: &AlertSettings,
    calendar: &Calendar,
) -> (Vec<NaiveDate>, Vec<NaiveDate>) {
    let n = s.leak_baseline_nights.min(MAX_LEAK_BASELINE_NIGHTS);
    let before = |k: u32| last.checked_sub_days(Days::new(k.into()));
    let vacation = in_vacation(calendar, last);
    let like = (1..=n.saturating_mul(2))
        .map_while(before)
        .filter(|d| in_vacation(calendar, *d) == vacation)
        .take(n as usize)
        .collect();
    let recent = (1..=n).map_while(before).collect();
    (like, recent)
}

/// The hourly rows [`water_leak`] reads at `now`: from the start of the earliest night it may
/// compare with to the end of the night it judges. None when there is no night to judge.
pub fn water_leak_span(
    tz: Tz,
    settings: &AlertSettings,
    calendar: &Calendar,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let last = last_night(now, settings, tz)?;
    let (from, to) = night(last, settings, tz)?;
    let (like, recent) = leak_baseline_dates(last, settings, calendar);
    let earliest = like.iter().chain(&recent).min().copied();
    let from = earliest
        .and_then(|d| night(d, settings, tz))
        .map_or(from, |(a, _)| a.min(from));
    Some((from, to))
}

/// The `LEAK_BASELINE_PERCENTILE`th percentile of `values`, nearest rank.
fn low_percentile(values: &mut [Decimal]) -> Option<Decimal> {
    values.sort_unstable();
    let rank = (values.len() * LEAK_BASELINE_PERCENTILE as usize).div_ceil(100);
    values.get(rank.checked_sub(1)?).copied()
}

/// Water leak (漏水), by minimum night flow (MNF): the lowest hourly flow of the last complete
/// night against the meter's usual night minimum. Buildings use water in bursts and a quiet
/// hour comes every night; a leaking pipe or a running cistern never stops. Some meters never
/// see zero (a dormitory's night showers, a cooling tower's make-up): what matters is that the
/// night minimum rose.
///
/// The usual night minimum is the [`LEAK_BASELINE_PERCENTILE`]th percentile of the night
/// minima of the nights of [`leak_baseline_dates`] that have complete data. A leak is a night
/// minimum of at least the usual one plus `leak_rise_fraction` of it, and at least
/// `leak_min_m3_per_hour` more. With fewer than [`LEAK_MIN_BASELINE_NIGHTS`] nights to compare
/// with (a new meter), a night minimum of `leak_min_m3_per_hour` is enough.
pub fn water_leak(
    subject: &str,
    hours: &[Row],
    tz: Tz,
    settings: &AlertSettings,
    calendar: &Calendar,
    now: DateTime<Utc>,
) -> Option<Finding> {
    let min = settings.leak_min_m3_per_hour;
    if min <= Decimal::ZERO {
        return None; // every meter would "leak"
    }
    let last = last_night(now, settings, tz)?;
    let (from, to) = night(last, settings, tz)?;
    let lowest = window(hours, from, to)?.lowest;
    if lowest < min {
        return None;
    }
    let minima = |dates: &[NaiveDate]| -> Vec<Decimal> {
        dates
            .iter()
            .filter_map(|d| {
                let (a, b) = night(*d, settings, tz)?;
                Some(window(hours, a, b)?.lowest)
            })
            .collect()
    };
    let (like, recent) = leak_baseline_dates(last, settings, calendar);
    let mut baseline = minima(&like);
    if baseline.len() < LEAK_MIN_BASELINE_NIGHTS {
        // The season just changed (the first nights of a vacation): any recent nights will do.
        baseline = minima(&recent);
    }
    let (hours, nights) = (night_label(settings), baseline.len());
    if nights < LEAK_MIN_BASELINE_NIGHTS {
        return Some(Finding {
            kind: AlertKind::WaterLeak,
            subject: subject.to_string(),
            severity: Severity::Critical,
            message_zh: format!(
                "夜间持续用水，疑似漏水：{hours} 最小小时流量 {} m³/h，不低于 {} m³/h；可比夜晚仅 {nights} 晚（少于 {LEAK_MIN_BASELINE_NIGHTS} 晚），尚无常规夜间最小流量",
                figure(lowest),
                figure(min)
            ),
            message_en: format!(
                "Water flowed all night, possible leak: the lowest hourly flow {hours} was {} m³/h, at least {} m³/h; only {nights} nights to compare with (fewer than {LEAK_MIN_BASELINE_NIGHTS}), no usual night minimum yet",
                figure(lowest),
                figure(min)
            ),
            value: Some(lowest),
            threshold: Some(min),
            at: now,
        });
    }
    let usual = low_percentile(&mut baseline)?;
    let rise = settings.leak_rise_fraction.checked_mul(usual)?.max(min);
    let threshold = usual.checked_add(rise)?;
    if lowest < threshold {
        return None;
    }
    let p = LEAK_BASELINE_PERCENTILE;
    Some(Finding {
        kind: AlertKind::WaterLeak,
        subject: subject.to_string(),
        severity: Severity::Critical,
        message_zh: format!(
            "夜间最小流量升高，疑似漏水：{hours} 最小小时流量 {} m³/h，常规夜间最小流量 {} m³/h（此前 {nights} 晚夜间最小流量的第 {p} 百分位），阈值 {} m³/h",
            figure(lowest),
            figure(usual),
            figure(threshold)
        ),
        message_en: format!(
            "Night flow rose, possible leak: the lowest hourly flow {hours} was {} m³/h; the usual night minimum is {} m³/h ({p}th percentile of {nights} earlier nights), threshold {} m³/h",
            figure(lowest),
            figure(usual),
            figure(threshold)
        ),
        value: Some(lowest),
        threshold: Some(threshold),
        at: now,
    })
}

/// Data gaps (数据缺失): runs of at least `gap_hours` of missing or invalid rows. Value: the
/// hours missing in such runs.
pub fn data_gaps(
    subject: &str,
    rows: &[Row],
    settings: &AlertSettings,
    now: DateTime<Utc>,
) -> Option<Finding> {
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by_key(|r| r.start);
    let mut runs: Vec<i64> = Vec::new(); // seconds
    let mut run: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
    for r in sorted {
        if usable(r.quality) {
            runs.extend(run.take().map(|(a, z)| (z - a).num_seconds()));
        } else {
            run = Some(match run {
                Some((a, z)) => (a, z.max(r.end)),
                None => (r.start, r.end),
            });
        }
    }
    runs.extend(run.map(|(a, z)| (z - a).num_seconds()));
    let min_secs = i64::from(settings.gap_hours) * 3600;
    let long: Vec<i64> = runs.into_iter().filter(|s| *s >= min_secs).collect();
    let longest = *long.iter().max()?;
    let hours = |secs: i64| Decimal::from(secs) / Decimal::from(3600);
    let total = hours(long.iter().fold(0i64, |a, s| a.saturating_add(*s)));
    let (total_s, longest_s) = (figure(total), figure(hours(longest)));
    Some(Finding {
        kind: AlertKind::DataGap,
        subject: subject.to_string(),
        severity: Severity::Warning,
        message_zh: format!(
            "数据缺失 {total_s} 小时（最长连续 {longest_s} 小时），请检查表计及通信"
        ),
        message_en: format!(
            "{total_s} hours of data missing (longest run {longest_s} hours); check the meter and its link"
        ),
        value: Some(total),
        threshold: Some(Decimal::from(settings.gap_hours)),
        at: now,
    })
}

/// Meter offline (表计离线), as the collector sees it; `status_detail` says why (timeout,
/// exception code).
pub fn meter_offline(
    subject: &str,
    status_detail: Option<&str>,
    offline: bool,
    now: DateTime<Utc>,
) -> Option<Finding> {
    if !offline {
        return None;
    }
    let detail = status_detail.map(str::trim).filter(|d| !d.is_empty());
    Some(Finding {
        kind: AlertKind::MeterOffline,
        subject: subject.to_string(),
        severity: Severity::Warning,
        message_zh: match detail {
            Some(d) => format!("表计离线：{d}"),
            None => "表计离线".to_string(),
        },
        message_en: match detail {
            Some(d) => format!("Meter offline: {d}"),
            None => "Meter offline".to_string(),
        },
        value: None,
        threshold: None,
        at: now,
    })
}

/// Register anomalies (读数异常) the ledger found for one meter, summarised: unexplained
/// drops are critical (consumption is excluded until an engineer records a reset or a
/// replacement), implausible jumps a warning. Rollovers are normal and gaps are
/// [`data_gaps`]' business. Value: the number of drops and jumps.
pub fn register_anomalies(
    subject: &str,
    anomalies: &[Anomaly],
    now: DateTime<Utc>,
) -> Option<Finding> {
    let mut drops: Vec<(DateTime<Utc>, Decimal, Decimal)> = Vec::new();
    let mut jumps: Vec<(DateTime<Utc>, Decimal, Decimal)> = Vec::new();
    for a in anomalies {
        match a {
            Anomaly::UnexplainedDrop { time, from, to } => drops.push((*time, *from, *to)),
            Anomaly::ImplausibleJump { time, from, to } => jumps.push((*time, *from, *to)),
            Anomaly::Rollover { .. } | Anomaly::Gap { .. } => {}
        }
    }
    let latest = |v: &[(DateTime<Utc>, Decimal, Decimal)]| v.iter().max_by_key(|x| x.0).copied();
    let severity = match (drops.is_empty(), jumps.is_empty()) {
        (true, true) => return None,
        (false, _) => Severity::Critical,
        (true, false) => Severity::Warning,
    };
    let (mut zh, mut en) = (Vec::new(), Vec::new());
    if let Some((_, from, to)) = latest(&drops) {
        let (n, from, to) = (drops.len(), figure(from), figure(to));
        zh.push(format!(
            "{n} 次无法解释的读数回落（最近一次 {from} → {to}）"
        ));
        en.push(format!(
            "{n} unexplained drop{} (latest {from} → {to})",
            if n == 1 { "" } else { "s" }
        ));
    }
    if let Some((_, from, to)) = latest(&jumps) {
        let (n, from, to) = (jumps.len(), figure(from), figure(to));
        zh.push(format!("{n} 次不合理的读数跳变（最近一次 {from} → {to}）"));
        en.push(format!(
            "{n} implausible jump{} (latest {from} → {to})",
            if n == 1 { "" } else { "s" }
        ));
    }
    let count = drops.len().saturating_add(jumps.len());
    Some(Finding {
        kind: AlertKind::RegisterAnomaly,
        subject: subject.to_string(),
        severity,
        message_zh: format!(
            "读数异常：{}；相关时段的用量已排除，请核实后登记换表或清零事件",
            zh.join("，")
        ),
        message_en: format!(
            "Register anomalies: {}; the spans are excluded until an engineer records a replacement or reset",
            en.join(", ")
        ),
        value: Some(Decimal::from(count)),
        threshold: None,
        at: now,
    })
}

/// A burst of payloads that could not be decoded on one topic (异常报文): a device sending
/// garbage, or a payload format that no longer matches.
pub fn bad_payloads(
    topic: &str,
    bad_in_last_hour: u64,
    settings: &AlertSettings,
    now: DateTime<Utc>,
) -> Option<Finding> {
    let limit = u64::from(settings.bad_payloads_per_hour);
    if bad_in_last_hour == 0 || bad_in_last_hour < limit {
        return None;
    }
    Some(Finding {
        kind: AlertKind::BadPayloads,
        subject: topic.to_string(),
        severity: Severity::Warning,
        message_zh: format!(
            "过去一小时收到 {bad_in_last_hour} 条无法解析的报文（阈值 {limit} 条），请检查设备或报文格式配置"
        ),
        message_en: format!(
            "{bad_in_last_hour} payloads in the last hour could not be decoded (threshold {limit}); check the device or its payload format"
        ),
        value: Some(Decimal::from(bad_in_last_hour)),
        threshold: Some(Decimal::from(limit)),
        at: now,
    })
}

/// Quota (定额) for the current month: used beyond the quota is critical (超定额); a
/// projected month-end beyond it is a warning while there is still time to act. `unit` is the
/// quota's unit (kWh, m³, kgce). None without a positive quota.
pub fn quota(
    subject: &str,
    used: Decimal,
    projected: Decimal,
    quota: Decimal,
    unit: &str,
    now: DateTime<Utc>,
) -> Option<Finding> {
    if quota <= Decimal::ZERO {
        return None;
    }
    let percent = |x: Decimal| {
        x.checked_div(quota)
            .and_then(|r| r.checked_mul(Decimal::ONE_HUNDRED))
            .map(|p| round_half_up(p, 0).to_string())
            .unwrap_or_else(|| "—".into())
    };
    let (kind, severity, value, zh, en) = if used > quota {
        (
            AlertKind::QuotaExceeded,
            Severity::Critical,
            used,
            format!(
                "本月已用 {} {unit}，超过定额 {} {unit}（{}%）",
                figure(used),
                figure(quota),
                percent(used)
            ),
            format!(
                "{} {unit} used this month, above the quota of {} {unit} ({}%)",
                figure(used),
                figure(quota),
                percent(used)
            ),
        )
    } else if projected > quota {
        (
            AlertKind::QuotaProjected,
            Severity::Warning,
            projected,
            format!(
                "预计月末用量 {} {unit}，将超过定额 {} {unit}（{}%）；本月已用 {} {unit}",
                figure(projected),
                figure(quota),
                percent(projected),
                figure(used)
            ),
            format!(
                "Projected month-end use {} {unit} would exceed the quota of {} {unit} ({}%); {} {unit} used so far",
                figure(projected),
                figure(quota),
                percent(projected),
                figure(used)
            ),
        )
    } else {
        return None;
    };
    Some(Finding {
        kind,
        subject: subject.to_string(),
        severity,
        message_zh: zh,
        message_en: en,
        value: Some(value),
        threshold: Some(quota),
        at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDateTime, TimeZone};
    use proptest::prelude::*;

    const TZ: Tz = chrono_tz::Asia::Shanghai;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    /// A local time in Shanghai, as UTC.
    fn local(s: &str) -> DateTime<Utc> {
        let n = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        TZ.from_local_datetime(&n).unwrap().with_timezone(&Utc)
    }

    /// Hourly rows from local `from` to local `to`, consumption from `f(start local)`.
    fn hourly(from: &str, to: &str, f: impl Fn(NaiveDateTime) -> Decimal) -> Vec<Row> {
        let (mut t, end) = (local(from), local(to));
        let mut rows = Vec::new();
        while t < end {
            rows.push(Row {
                start: t,
                end: t + Duration::hours(1),
                consumption: f(t.with_timezone(&TZ).naive_local()),
                quality: Quality::Measured,
            });
            t += Duration::hours(1);
        }
        rows
    }

    fn settings(history_days: u32) -> AlertSettings {
        AlertSettings {
            history_days,
            ..AlertSettings::default()
        }
    }

    fn set_night(rows: &mut [Row], date: &str, values: [&str; 5]) {
        let start = local(&format!("{date} 00:00"));
        for (i, v) in values.iter().enumerate() {
            let t = start + Duration::hours(i as i64);
            let r = rows.iter_mut().find(|r| r.start == t).unwrap();
            r.consumption = d(v);
        }
    }

    /// Five history nights 11-05..11-09 with means 2.0, 2.2, 1.8, 2.4, 2.0 (median 2.0, so a
    /// threshold of 2.6 at 30%), day hours at 10, and the night of 11-10 given.
    fn nights(last: [&str; 5]) -> Vec<Row> {
        let mut rows = hourly("2026-11-05 00:00", "2026-11-10 09:00", |_| d("10"));
        set_night(&mut rows, "2026-11-05", ["2", "2", "2", "2", "2"]);
        set_night(&mut rows, "2026-11-06", ["2.2", "2.2", "2.2", "2.2", "2.2"]);
        set_night(&mut rows, "2026-11-07", ["1.5", "2.1", "1.8", "1.8", "1.8"]);
        set_night(&mut rows, "2026-11-08", ["2.4", "2.4", "2.4", "2.4", "2.4"]);
        set_night(&mut rows, "2026-11-09", ["2", "2", "2", "2", "2"]);
        set_night(&mut rows, "2026-11-10", last);
        rows
    }

    #[test]
    fn night_base_load_at_and_above_threshold() {
        let s = settings(5);
        let now = local("2026-11-10 09:00");
        // Mean 13.0 / 5 = 2.6: at the threshold, not above.
        let at = nights(["2.5", "2.7", "2.6", "2.6", "2.6"]);
        assert_eq!(night_base_load("m1", &at, TZ, &s, now), None);
        // Mean 13.05 / 5 = 2.61 > 2.6; 2.61 / 2.0 = 130.5% → 131%.
        let above = nights(["2.5", "2.7", "2.6", "2.6", "2.65"]);
        let f = night_base_load("m1", &above, TZ, &s, now).unwrap();
        assert_eq!(f.kind, AlertKind::NightBaseLoad);
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(f.value, Some(d("2.61")));
        assert_eq!(f.threshold, Some(d("2.6")));
        assert_eq!(
            f.message_zh,
            "夜间（0:00–5:00）基础负荷 2.61 kWh/h，为近 5 天中位数 2 kWh/h 的 131%（阈值 130%）"
        );
        assert_eq!(
            f.message_en,
            "Night (0:00–5:00) base load 2.61 kWh/h is 131% of the 5-day median 2 kWh/h (threshold 130%)"
        );
        // At 04:59 the night of 11-10 is not over: the night judged is 11-09's (mean 2.0).
        assert_eq!(
            night_base_load("m1", &above, TZ, &s, local("2026-11-10 04:59")),
            None
        );
    }

    #[test]
    fn night_base_load_needs_complete_data_and_history() {
        let s = settings(5);
        let now = local("2026-11-10 09:00");
        let mut rows = nights(["5", "5", "5", "5", "5"]);
        assert!(night_base_load("m1", &rows, TZ, &s, now).is_some());
        // One missing hour in the night judged: no verdict.
        let hole = rows
            .iter()
            .position(|r| r.start == local("2026-11-10 02:00"));
        rows[hole.unwrap()].quality = Quality::Missing;
        assert_eq!(night_base_load("m1", &rows, TZ, &s, now), None);
        // Only two history nights: no baseline.
        let rows = nights(["5", "5", "5", "5", "5"]);
        let short: Vec<Row> = rows
            .into_iter()
            .filter(|r| r.start >= local("2026-11-08 00:00"))
            .collect();
        assert_eq!(night_base_load("m1", &short, TZ, &s, now), None);
        // A median of zero (nothing runs at night) compares with nothing.
        let zero = hourly("2026-11-05 00:00", "2026-11-10 09:00", |t| {
            if t.date() == NaiveDate::from_ymd_opt(2026, 11, 10).unwrap() {
                d("1")
            } else {
                Decimal::ZERO
            }
        });
        assert_eq!(night_base_load("m1", &zero, TZ, &s, now), None);
    }

    #[test]
    fn a_night_may_start_the_evening_before() {
        let s = AlertSettings {
            night_start_hour: 22,
            night_end_hour: 6,
            history_days: 4,
            ..AlertSettings::default()
        };
        let now = local("2026-11-10 07:00");
        // 1 in the night hours, 3 on the last night (22:00 on the 9th to 06:00 on the 10th).
        let rows = hourly("2026-11-05 00:00", "2026-11-10 07:00", |t| {
            use chrono::Timelike;
            let h = t.hour();
            let last = t >= local("2026-11-09 22:00").with_timezone(&TZ).naive_local();
            match (!(6..22).contains(&h), last) {
                (true, true) => d("3"),
                (true, false) => d("1"),
                _ => d("8"),
            }
        });
        let f = night_base_load("m1", &rows, TZ, &s, now).unwrap();
        assert_eq!(f.value, Some(d("3")));
        assert!(
            f.message_zh
                .starts_with("夜间（22:00–6:00）基础负荷 3 kWh/h")
        );
        // At 05:00 the night is not over; the night before was ordinary.
        assert_eq!(
            night_base_load("m1", &rows, TZ, &s, local("2026-11-10 05:00")),
            None
        );
    }

    #[test]
    fn weekend_base_load_at_and_above_threshold() {
        // Monday 2026-11-09; last weekend day Sunday 11-08; weekend days in the 28 days
        // before it (10-11 .. 11-07): eight, all at 1 kWh/h. Weekdays at 5.
        let s = AlertSettings::default();
        let now = local("2026-11-09 09:00");
        let rows = |sunday_last_hour: &'static str| {
            hourly("2026-10-10 00:00", "2026-11-09 09:00", move |t| {
                let sunday = t.date() == NaiveDate::from_ymd_opt(2026, 11, 8).unwrap();
                match t.weekday() {
                    _ if sunday && t.format("%H").to_string() == "23" => d(sunday_last_hour),
                    _ if sunday => d("1.3"),
                    Weekday::Sat | Weekday::Sun => d("1"),
                    _ => d("5"),
                }
            })
        };
        // 24 × 1.3 / 24 = 1.3: at the threshold.
        assert_eq!(weekend_base_load("b1", &rows("1.3"), TZ, &s, now), None);
        // (23 × 1.3 + 1.54) / 24 = 31.44 / 24 = 1.31.
        let f = weekend_base_load("b1", &rows("1.54"), TZ, &s, now).unwrap();
        assert_eq!(f.value, Some(d("1.31")));
        assert_eq!(f.threshold, Some(d("1.3")));
        assert_eq!(
            f.message_zh,
            "周日（11月8日）平均负荷 1.31 kWh/h，为近 28 天周末中位数 1 kWh/h 的 131%（阈值 130%）"
        );
        assert!(
            f.message_en
                .starts_with("Sunday 2026-11-08 mean load 1.31 kWh/h")
        );
    }

    /// Hourly rows from local `from` to local `to`: night hours (0–5) at
    /// `night(date, hour)`, day hours at 6 m³.
    fn water(from: &str, to: &str, night: impl Fn(NaiveDate, u32) -> Decimal) -> Vec<Row> {
        use chrono::Timelike;
        hourly(from, to, move |t| match t.hour() {
            h @ 0..5 => night(t.date(), h),
            _ => d("6"),
        })
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// Eight baseline nights 11-02..11-09 whose hours run at 1, 1.2, 0.9, 1.1, 1, 1.3, 1 and
    /// 1.05 m³, and the night of 11-10 given.
    fn library_nights(last: [&'static str; 5]) -> Vec<Row> {
        let usual = ["1", "1.2", "0.9", "1.1", "1", "1.3", "1", "1.05"];
        water(
            "2026-11-02 00:00",
            "2026-11-10 08:00",
            move |day, h| match (day - date("2026-11-02")).num_days() {
                k @ 0..8 => d(usual[k as usize]),
                _ => d(last[h as usize]),
            },
        )
    }

    #[test]
    fn water_leak_at_and_just_below_the_usual_night_minimum_plus_the_rise() {
        let s = AlertSettings {
            leak_baseline_nights: 8,
            ..AlertSettings::default()
        };
        let cal = Calendar::default();
        let now = local("2026-11-10 08:00");
        // Minima sorted 0.9, 1, 1, 1, 1.05, 1.1, 1.2, 1.3: the 25th percentile of 8 is the
        // 2nd, 1; the threshold 1 + max(0.01, 0.3 × 1) = 1.3.
        let at = library_nights(["1.5", "1.3", "1.4", "1.6", "1.35"]);
        let f = water_leak("library-water", &at, TZ, &s, &cal, now).unwrap();
        assert_eq!(f.kind, AlertKind::WaterLeak);
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!((f.value, f.threshold), (Some(d("1.3")), Some(d("1.3"))));
        assert_eq!(
            f.message_zh,
            "夜间最小流量升高，疑似漏水：0:00–5:00 最小小时流量 1.3 m³/h，常规夜间最小流量 1 m³/h（此前 8 晚夜间最小流量的第 25 百分位），阈值 1.3 m³/h"
        );
        assert_eq!(
            f.message_en,
            "Night flow rose, possible leak: the lowest hourly flow 0:00–5:00 was 1.3 m³/h; the usual night minimum is 1 m³/h (25th percentile of 8 earlier nights), threshold 1.3 m³/h"
        );
        let below = library_nights(["1.5", "1.2999", "1.4", "1.6", "1.35"]);
        assert_eq!(water_leak("library-water", &below, TZ, &s, &cal, now), None);

        // A night with a missing hour does not count: without the 0.9 night, the 2nd of the
        // seven left is still 1, from 7 nights.
        let mut gap = at.clone();
        let hole = gap
            .iter()
            .position(|r| r.start == local("2026-11-04 03:00"));
        gap[hole.unwrap()].quality = Quality::Missing;
        let f = water_leak("library-water", &gap, TZ, &s, &cal, now).unwrap();
        assert!(
            f.message_en
                .contains("(25th percentile of 7 earlier nights)")
        );
        // Without the night judged there is nothing to say.
        let unfinished = water_leak(
            "library-water",
            &at,
            TZ,
            &s,
            &cal,
            local("2026-11-10 04:59"),
        );
        assert_eq!(unfinished, None);
        assert_eq!(water_leak("library-water", &[], TZ, &s, &cal, now), None);
        // A small usual flow: the rise must be at least leak_min_m3_per_hour (0.01), not 30%.
        let small = water("2026-11-02 00:00", "2026-11-10 08:00", |day, _| {
            match day == date("2026-11-10") {
                true => d("0.03"),
                false => d("0.02"),
            }
        });
        let f = water_leak("library-f1-water", &small, TZ, &s, &cal, now).unwrap();
        assert_eq!(f.threshold, Some(d("0.03")));
    }

    /// A dormitory: showers until 1:00, then a steady 3, 3.2, 3.4 or 3.6 m³/h through the night
    /// (a four-night cycle from 09-15), and the night of 11-10 at `last` from 1:00.
    fn dormitory(last: &'static str) -> Vec<Row> {
        water("2026-09-15 00:00", "2026-11-10 08:00", move |day, h| {
            let steady = match day == date("2026-11-10") {
                true => d(last),
                false => {
                    let k = (day - date("2026-09-15")).num_days() % 4;
                    d("3") + Decimal::new(2 * k, 1)
                }
            };
            if h == 0 { steady + d("2") } else { steady }
        })
    }

    #[test]
    fn water_leak_in_a_dormitory_that_always_uses_water_at_night() {
        let s = AlertSettings::default(); // 56 nights
        let cal = Calendar::default();
        let now = local("2026-11-10 08:00");
        // 56 nights 09-15..11-09, 14 each at 3, 3.2, 3.4 and 3.6: the 25th percentile is the
        // 14th, 3; the threshold 3 + max(0.01, 0.9) = 3.9. A high night of its own is no leak
        // (the absolute rule alone would have called every night one).
        assert_eq!(
            water_leak("dorm1-water", &dormitory("3.6"), TZ, &s, &cal, now),
            None
        );
        assert_eq!(
            water_leak("dorm1-water", &dormitory("3.8999"), TZ, &s, &cal, now),
            None
        );
        // A tank valve that never closes, 1.5 m³/h on top of an ordinary night.
        let f = water_leak("dorm2-water", &dormitory("4.5"), TZ, &s, &cal, now).unwrap();
        assert_eq!((f.value, f.threshold), (Some(d("4.5")), Some(d("3.9"))));
        assert_eq!(
            f.message_zh,
            "夜间最小流量升高，疑似漏水：0:00–5:00 最小小时流量 4.5 m³/h，常规夜间最小流量 3 m³/h（此前 56 晚夜间最小流量的第 25 百分位），阈值 3.9 m³/h"
        );
        // The rows needed start with the first of the 56 nights.
        assert_eq!(
            water_leak_span(TZ, &s, &cal, now),
            Some((local("2026-09-15 00:00"), local("2026-11-10 05:00")))
        );
    }

    #[test]
    fn water_leak_on_a_new_meter_falls_back_to_the_absolute_rule() {
        let s = AlertSettings::default();
        let cal = Calendar::default();
        let now = local("2026-11-10 08:00");
        // Six nights of data (11-04..11-09) before the one judged: one short of a baseline.
        let rows = |last: [&'static str; 5]| {
            water(
                "2026-11-04 00:00",
                "2026-11-10 08:00",
                move |day, h| match day == date("2026-11-10") {
                    true => d(last[h as usize]),
                    false => d("0.02"),
                },
            )
        };
        let f = water_leak(
            "library-water",
            &rows(["0.02", "0.01", "0.03", "0.05", "0.02"]),
            TZ,
            &s,
            &cal,
            now,
        )
        .unwrap();
        assert_eq!((f.value, f.threshold), (Some(d("0.01")), Some(d("0.01"))));
        assert_eq!(
            f.message_zh,
            "夜间持续用水，疑似漏水：0:00–5:00 最小小时流量 0.01 m³/h，不低于 0.01 m³/h；可比夜晚仅 6 晚（少于 7 晚），尚无常规夜间最小流量"
        );
        assert!(
            f.message_en
                .contains("only 6 nights to compare with (fewer than 7)")
        );
        // One hour at 0.009 < 0.01: the flow stopped.
        let quiet = rows(["0.02", "0.009", "0.03", "0.05", "0.02"]);
        assert_eq!(water_leak("library-water", &quiet, TZ, &s, &cal, now), None);
        // A seventh night makes a baseline (0.02; threshold 0.03): 0.02 is ordinary.
        let seven = water("2026-11-03 00:00", "2026-11-10 08:00", |_, _| d("0.02"));
        assert_eq!(water_leak("library-water", &seven, TZ, &s, &cal, now), None);
    }

    #[test]
    fn water_leak_compares_term_nights_with_term_nights() {
        let s = AlertSettings {
            leak_baseline_nights: 8,
            ..AlertSettings::default()
        };
        // A week of vacation 08-25..08-31: the dormitory runs at 0.5 m³/h at night, 3 in term.
        let cal: Calendar =
            toml::from_str(r#"vacations = [{ from = "2026-08-25", to = "2026-08-31" }]"#).unwrap();
        let rows = water(
            "2026-08-01 00:00",
            "2026-09-06 08:00",
            |day, _| match in_vacation(&cal, day) {
                true => d("0.5"),
                false => d("3"),
            },
        );
        // 09-05: the previous 8 term nights (09-01..09-04, 08-21..08-24) are at 3.
        let now = local("2026-09-05 08:00");
        assert_eq!(water_leak("dorm1-water", &rows, TZ, &s, &cal, now), None);
        // Without the calendar the 8 nights before are half vacation: the 25th percentile
        // is 0.5 and students coming back look like a leak.
        let f = water_leak("dorm1-water", &rows, TZ, &s, &Calendar::default(), now).unwrap();
        assert_eq!(f.threshold, Some(d("0.65")));
        // The first night of the vacation has none like it: the recent nights (at 3) are the
        // baseline, not the absolute rule (0.5 ≥ 0.01), and a drop is no leak.
        let now = local("2026-08-25 08:00");
        assert_eq!(water_leak("dorm1-water", &rows, TZ, &s, &cal, now), None);
        // The span reaches back to the 8th term night: 08-21 for the night of 09-05.
        assert_eq!(
            water_leak_span(TZ, &s, &cal, local("2026-09-05 08:00")).map(|(a, _)| a),
            Some(local("2026-08-21 00:00"))
        );
    }

    #[test]
    fn data_gaps_count_runs_of_bad_rows() {
        let mut rows = hourly("2026-11-10 00:00", "2026-11-10 08:00", |_| d("1"));
        for (i, q) in [
            (1, Quality::Missing),
            (2, Quality::Missing),
            (4, Quality::Invalid),
            (6, Quality::Missing),
            (7, Quality::Invalid),
        ] {
            rows[i].quality = q;
        }
        let now = local("2026-11-10 09:00");
        let s = AlertSettings::default(); // 2 hours
        let f = data_gaps("m1", &rows, &s, now).unwrap();
        // Runs 2, 1 and 2 hours: the two of 2 hours count.
        assert_eq!(f.value, Some(d("4")));
        assert_eq!(
            f.message_zh,
            "数据缺失 4 小时（最长连续 2 小时），请检查表计及通信"
        );
        let s3 = AlertSettings {
            gap_hours: 3,
            ..s.clone()
        };
        assert_eq!(data_gaps("m1", &rows, &s3, now), None);
        rows.reverse(); // order does not matter
        assert_eq!(data_gaps("m1", &rows, &s, now).unwrap().value, Some(d("4")));
    }

    #[test]
    fn register_anomalies_summarise_drops_and_jumps() {
        let now = local("2026-11-10 09:00");
        let t = local("2026-11-10 03:00");
        let drop = Anomaly::UnexplainedDrop {
            time: t,
            from: d("12345.6"),
            to: d("12000"),
        };
        let jump = Anomaly::ImplausibleJump {
            time: t,
            from: d("100"),
            to: d("99999"),
        };
        let rollover = Anomaly::Rollover {
            time: t,
            from: d("99999.9"),
            to: d("0.5"),
        };
        let f =
            register_anomalies("m1", &[drop.clone(), jump.clone(), rollover.clone()], now).unwrap();
        assert_eq!(f.severity, Severity::Critical);
        assert_eq!(f.value, Some(d("2")));
        assert_eq!(
            f.message_zh,
            "读数异常：1 次无法解释的读数回落（最近一次 12345.6 → 12000），1 次不合理的读数跳变（最近一次 100 → 99999）；相关时段的用量已排除，请核实后登记换表或清零事件"
        );
        let f = register_anomalies("m1", &[jump], now).unwrap();
        assert_eq!(f.severity, Severity::Warning);
        assert_eq!(register_anomalies("m1", &[rollover], now), None);
    }

    #[test]
    fn small_detectors_at_their_thresholds() {
        let now = local("2026-11-10 09:00");
        let s = AlertSettings::default();
        assert_eq!(bad_payloads("meters/a", 19, &s, now), None);
        let f = bad_payloads("meters/a", 20, &s, now).unwrap();
        assert_eq!(f.value, Some(d("20")));
        assert_eq!(meter_offline("m1", Some("timeout"), false, now), None);
        let f = meter_offline("m1", Some("timeout"), true, now).unwrap();
        assert_eq!(f.message_zh, "表计离线：timeout");
        let f = quota("lib", d("1000"), d("1000"), d("1000"), "kWh", now);
        assert_eq!(f, None);
        let f = quota("lib", d("900"), d("1300"), d("1000"), "kWh", now).unwrap();
        assert_eq!(f.kind, AlertKind::QuotaProjected);
        assert_eq!(
            f.message_zh,
            "预计月末用量 1300 kWh，将超过定额 1000 kWh（130%）；本月已用 900 kWh"
        );
        let f = quota("lib", d("1000.5"), d("1300"), d("1000"), "kWh", now).unwrap();
        assert_eq!(f.kind, AlertKind::QuotaExceeded);
        assert_eq!(f.severity, Severity::Critical);
    }

    fn finding(kind: AlertKind, subject: &str, severity: Severity, at: DateTime<Utc>) -> Finding {
        Finding {
            kind,
            subject: subject.into(),
            severity,
            message_zh: format!("{} {subject}", kind.label_zh()),
            message_en: format!("{} {subject}", kind.label_en()),
            value: None,
            threshold: None,
            at,
        }
    }

    #[test]
    fn reconcile_deduplicates_and_clears() {
        let t0 = local("2026-11-10 09:00");
        let t1 = t0 + Duration::hours(1);
        let mut alerts = Vec::new();
        let first = [
            finding(AlertKind::MeterOffline, "m1", Severity::Warning, t0),
            finding(AlertKind::MeterOffline, "m1", Severity::Critical, t0),
            finding(AlertKind::RegisterAnomaly, "m2", Severity::Warning, t0),
        ];
        let changes = reconcile(&alerts, &first);
        assert_eq!(changes.len(), 2, "duplicates in one batch merge");
        apply(&mut alerts, &changes, t0);
        assert_eq!(alerts[0].severity, Severity::Critical);

        // Seen again, less severe: bumped, the worst severity kept.
        let again = [finding(
            AlertKind::MeterOffline,
            "m1",
            Severity::Warning,
            t1,
        )];
        let changes = reconcile(&alerts, &again);
        assert_eq!(
            changes,
            vec![Change::Seen {
                id: 1,
                finding: again[0].clone()
            }]
        );
        apply(&mut alerts, &changes, t1);
        assert_eq!((alerts[0].count, alerts[0].last_seen), (2, t1));
        assert_eq!(alerts[0].severity, Severity::Critical);

        // Gone: the offline alert clears itself, the register anomaly waits for a person.
        let changes = reconcile(&alerts, &[]);
        assert_eq!(changes, vec![Change::Cleared { id: 1 }]);
        apply(&mut alerts, &changes, t1);
        assert_eq!(alerts[0].status, Status::Resolved);
        assert_eq!(alerts[0].resolved_by.as_deref(), Some(SYSTEM_USER));
        assert_eq!(alerts[1].status, Status::Open);

        // Acknowledged alerts are still live: seen, not raised again.
        alerts[1]
            .acknowledge("张工", Some("已安排核查"), t1)
            .unwrap();
        let anomaly = [finding(
            AlertKind::RegisterAnomaly,
            "m2",
            Severity::Critical,
            t1,
        )];
        assert!(matches!(
            reconcile(&alerts, &anomaly)[..],
            [Change::Seen { id: 2, .. }]
        ));
        // Once a person resolves it, the next finding raises a new alert.
        alerts[1].resolve("张工", Some("已登记换表"), t1).unwrap();
        assert!(matches!(reconcile(&alerts, &anomaly)[..], [Change::New(_)]));
    }

    #[test]
    fn acknowledge_and_resolve_need_a_user_and_a_live_alert() {
        let t = local("2026-11-10 09:00");
        let mut a = Alert::from_finding(
            7,
            &finding(AlertKind::WaterLeak, "w1", Severity::Critical, t),
        );
        assert_eq!(a.acknowledge("  ", None, t), Err(AlertError::MissingUser));
        a.acknowledge("李工", Some("已关阀"), t).unwrap();
        assert_eq!(
            a.acknowledge("李工", None, t),
            Err(AlertError::AlreadyAcknowledged(7))
        );
        assert_eq!(a.acknowledged_note.as_deref(), Some("已关阀"));
        a.resolve("李工", Some("已修复"), t).unwrap();
        assert_eq!(
            a.resolve("李工", None, t),
            Err(AlertError::AlreadyResolved(7))
        );
        assert_eq!(
            a.acknowledge("李工", None, t),
            Err(AlertError::AlreadyResolved(7))
        );
    }

    #[test]
    fn notifications_are_rate_limited() {
        let s = AlertSettings::default();
        let t = local("2026-11-10 09:00");
        let mut a = Alert::from_finding(
            1,
            &finding(AlertKind::MeterOffline, "m1", Severity::Warning, t),
        );
        assert!(should_notify(&a, t, &s));
        a.last_notified = Some(t);
        assert!(!should_notify(&a, t + Duration::hours(23), &s));
        assert!(should_notify(&a, t + Duration::hours(24), &s));
        let never = AlertSettings {
            renotify_hours: 0,
            ..s.clone()
        };
        assert!(!should_notify(&a, t + Duration::days(30), &never));
        a.acknowledge("张工", None, t).unwrap();
        assert!(!should_notify(&a, t + Duration::hours(48), &s));
        let info = Alert::from_finding(2, &finding(AlertKind::DataGap, "m1", Severity::Info, t));
        assert!(!should_notify(&info, t, &s));

        let mut limiter = RateLimiter::new(2);
        assert!(limiter.admit(t));
        assert!(limiter.admit(t + Duration::minutes(10)));
        assert!(!limiter.admit(t + Duration::minutes(59)));
        // The first one leaves the rolling hour at t + 1 h.
        assert!(limiter.admit(t + Duration::hours(1)));
        assert!(!limiter.admit(t + Duration::minutes(65)));
        assert!(limiter.admit(t + Duration::minutes(71)));
        assert!(!RateLimiter::new(0).admit(t));
    }

    #[test]
    fn settings_read_from_toml_with_defaults() {
        let s: AlertSettings =
            toml::from_str("base_load_tolerance = 0.5\nmin_severity = \"critical\"").unwrap();
        assert_eq!(s.base_load_tolerance, d("0.5"));
        assert_eq!(s.min_severity, Severity::Critical);
        assert_eq!(s.history_days, 28);
        assert!(s.validate().is_empty());
        assert!(toml::from_str::<AlertSettings>("night_hours = 3").is_err());
        let bad = AlertSettings {
            night_end_hour: 24,
            leak_min_m3_per_hour: Decimal::ZERO,
            ..AlertSettings::default()
        };
        assert_eq!(bad.validate().len(), 2);
        assert_eq!(AlertSettings::default().leak_min_m3_per_hour, d("0.01"));
    }

    fn kind() -> impl Strategy<Value = AlertKind> {
        (0..AlertKind::ALL.len()).prop_map(|i| AlertKind::ALL[i])
    }

    fn severity() -> impl Strategy<Value = Severity> {
        prop_oneof![
            Just(Severity::Info),
            Just(Severity::Warning),
            Just(Severity::Critical)
        ]
    }

    fn findings() -> impl Strategy<Value = Vec<Finding>> {
        let t = local("2026-11-10 09:00");
        prop::collection::vec(
            (kind(), 0..3u8, severity(), 0..120i64).prop_map(move |(k, s, sev, m)| {
                finding(k, &format!("m{s}"), sev, t + Duration::minutes(m))
            }),
            0..12,
        )
    }

    proptest! {
        #[test]
        fn reconciling_the_same_findings_twice_raises_nothing_new(
            earlier in findings(),
            now in findings(),
        ) {
            let t = local("2026-11-10 12:00");
            let mut alerts = Vec::new();
            let changes = reconcile(&alerts, &earlier);
            apply(&mut alerts, &changes, t);
            let changes = reconcile(&alerts, &now);
            apply(&mut alerts, &changes, t);
            let count = alerts.len();
            let second = reconcile(&alerts, &now);
            let raised_or_cleared = second
                .iter()
                .any(|c| matches!(c, Change::New(_) | Change::Cleared { .. }));
            prop_assert!(!raised_or_cleared);
            apply(&mut alerts, &second, t);
            prop_assert_eq!(alerts.len(), count);
            // One live alert per condition.
            let mut live: Vec<(AlertKind, &str)> = alerts
                .iter()
                .filter(|a| a.status != Status::Resolved)
                .map(|a| (a.kind, a.subject.as_str()))
                .collect();
            let n = live.len();
            live.sort();
            live.dedup();
            prop_assert_eq!(live.len(), n);
        }

        #[test]
        fn detectors_never_panic(
            secs in -100_000_000_000i64..300_000_000_000i64,
            values in prop::collection::vec(any::<i64>(), 0..60),
            scale in 0u32..28,
            start in 0u32..30,
            end in 0u32..30,
            history_days in 0u32..2000,
        ) {
            let now = DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default();
            let base = now - Duration::hours(48);
            let rows: Vec<Row> = values
                .iter()
                .enumerate()
                .map(|(i, v)| Row {
                    start: base + Duration::hours(i as i64),
                    end: base + Duration::hours(i as i64 + 1),
                    consumption: Decimal::new(*v, scale),
                    quality: if v % 7 == 0 { Quality::Missing } else { Quality::Measured },
                })
                .collect();
            let s = AlertSettings {
                night_start_hour: start,
                night_end_hour: end,
                history_days,
                leak_baseline_nights: history_days,
                ..AlertSettings::default()
            };
            let _ = night_base_load("m", &rows, TZ, &s, now);
            let _ = weekend_base_load("m", &rows, TZ, &s, now);
            let _ = water_leak("m", &rows, TZ, &s, &Calendar::default(), now);
            let _ = water_leak_span(TZ, &s, &Calendar::default(), now);
            let _ = data_gaps("m", &rows, &s, now);
            let _ = quota("m", Decimal::MAX, Decimal::MAX, Decimal::new(1, 28), "kWh", now);
        }
    }
}
