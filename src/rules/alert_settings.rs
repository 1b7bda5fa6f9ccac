//! Alert rules' settings (the site config's `[alerts]`) and alert severities: plain data and
//! their validation, so the site model can hold them without the detectors.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Ordered: `Info < Warning < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn label_zh(self) -> &'static str {
        match self {
            Severity::Info => "提示",
            Severity::Warning => "警告",
            Severity::Critical => "严重",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// Alert rules' settings (the site config's `[alerts]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertSettings {
    /// Night hours are [night_start_hour, night_end_hour) local; 22 and 6 make a night that
    /// starts the evening before.
    pub night_start_hour: u32,
    pub night_end_hour: u32,
    /// How far above its own history a base load may go: 0.3 = 30% above the median.
    pub base_load_tolerance: Decimal,
    /// Days of history a base load is compared with.
    pub history_days: u32,
    /// Flow every night hour must reach to look like a leak (m³/h); also the smallest rise
    /// above a meter's usual night minimum that counts.
    pub leak_min_m3_per_hour: Decimal,
    /// Nights a meter's usual night minimum is taken from (minimum night flow analysis).
    pub leak_baseline_nights: u32,
    /// How far above its usual night minimum a night's minimum must be to look like a leak:
    /// 0.3 = 30% above (or `leak_min_m3_per_hour` above, whichever is more).
    pub leak_rise_fraction: Decimal,
    /// Missing or invalid data for this many hours in a row is a gap worth an alert.
    pub gap_hours: u32,
    /// Bad payloads per hour on one topic that make a burst.
    pub bad_payloads_per_hour: u32,
    /// Alerts below this severity are kept but not sent.
    pub min_severity: Severity,
    /// An open alert is re-sent at most this often (0: never).
    pub renotify_hours: u32,
    /// Notifications over any rolling hour, all alerts together.
    pub max_notifications_per_hour: u32,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            night_start_hour: 0,
            night_end_hour: 5,
            base_load_tolerance: Decimal::new(3, 1),
            history_days: 28,
            leak_min_m3_per_hour: Decimal::new(1, 2),
            leak_baseline_nights: 56,
            leak_rise_fraction: Decimal::new(3, 1),
            gap_hours: 2,
            bad_payloads_per_hour: 20,
            min_severity: Severity::Warning,
            renotify_hours: 24,
            max_notifications_per_hour: 20,
        }
    }
}

/// History longer than a year adds nothing but work.
pub(crate) const MAX_HISTORY_DAYS: u32 = 366;
/// Fewer comparable nights or days than this make no baseline: a new meter stays quiet.
pub(crate) const MIN_HISTORY: usize = 3;
/// Fewer baseline nights with data than this make no usual night minimum: a new water meter
/// is judged by `leak_min_m3_per_hour` alone.
pub const LEAK_MIN_BASELINE_NIGHTS: usize = 7;
/// The usual night minimum is this percentile (nearest rank) of the baseline nights' minima:
/// low, so that a few nights of a leak or of unusual use do not raise it.
pub const LEAK_BASELINE_PERCENTILE: u32 = 25;
/// Baselines longer than half a year add nothing but work (the look-back is twice as long).
pub(crate) const MAX_LEAK_BASELINE_NIGHTS: u32 = 183;

impl AlertSettings {
    /// What is wrong with the settings, one message per problem.
    pub fn validate(&self) -> Vec<String> {
        let mut errors = Vec::new();
        for (name, hour) in [
            ("night_start_hour", self.night_start_hour),
            ("night_end_hour", self.night_end_hour),
        ] {
            if hour > 23 {
                errors.push(format!("{name} = {hour}: use an hour from 0 to 23"));
            }
        }
        if self.night_start_hour == self.night_end_hour {
            errors.push("night_start_hour equals night_end_hour: the night would be empty".into());
        }
        if self.base_load_tolerance < Decimal::ZERO {
            errors.push("base_load_tolerance must not be negative (0.3 = 30% above)".into());
        }
        if !(1..=MAX_HISTORY_DAYS).contains(&self.history_days) {
            errors.push(format!(
                "history_days = {}: use 1 to {MAX_HISTORY_DAYS}",
                self.history_days
            ));
        }
        if self.leak_min_m3_per_hour <= Decimal::ZERO {
            errors.push("leak_min_m3_per_hour must be above 0".into());
        }
        let nights = LEAK_MIN_BASELINE_NIGHTS as u32..=MAX_LEAK_BASELINE_NIGHTS;
        if !nights.contains(&self.leak_baseline_nights) {
            errors.push(format!(
                "leak_baseline_nights = {}: use {} to {}",
                self.leak_baseline_nights,
                nights.start(),
                nights.end()
            ));
        }
        if self.leak_rise_fraction < Decimal::ZERO {
            errors.push("leak_rise_fraction must not be negative (0.3 = 30% above)".into());
        }
        if self.gap_hours == 0 {
            errors.push("gap_hours must be at least 1".into());
        }
        if self.bad_payloads_per_hour == 0 {
            errors.push("bad_payloads_per_hour must be at least 1".into());
        }
        errors
    }
}
