//! A meter's status as everyone shows and judges it (the meter API and pages, the alert loop):
//! what its collector last reported (`ingest::MeterLive`), and, for a meter that publishes
//! (MQTT) and so cannot say it is gone, offline once it has been silent too long. Pure.

use chrono::{DateTime, Utc};

use crate::ingest::{LiveState, MeterLive, MeterStatus};
use crate::site::{Meter, MeterSource};

/// A meter's status now, with why it is not online when it is not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub status: MeterStatus,
    pub detail: Option<String>,
}

impl Status {
    /// Offline or answering wrongly: what the alert loop raises `meter_offline` for.
    pub fn is_down(&self) -> bool {
        matches!(self.status, MeterStatus::Offline | MeterStatus::Error)
    }
}

/// The status of `meter` at `now`, from its live entry (none: not known yet, waiting).
pub fn status(meter: &Meter, live: Option<&MeterLive>, now: DateTime<Utc>) -> Status {
    let silence = silent_for(
        &meter.source,
        live.and_then(|l| l.last_seen),
        meter.live_interval,
        now,
    );
    match (silence, live) {
        (Some(silence), _) => Status {
            status: MeterStatus::Offline,
            detail: Some(silence),
        },
        (None, Some(l)) => Status {
            status: l.status,
            detail: l.detail.clone(),
        },
        (None, None) => Status {
            status: MeterStatus::Waiting,
            detail: None,
        },
    }
}

/// The status of `meter` in `live` at `now`.
pub fn current(live: &LiveState, meter: &Meter, now: DateTime<Utc>) -> Status {
    status(meter, live.get(&meter.id).as_ref(), now)
}

/// A meter that publishes (MQTT) is offline when nothing came for three of its intervals
/// (at least five minutes): it cannot say so itself.
pub fn silent_for(
    source: &MeterSource,
    last_seen: Option<DateTime<Utc>>,
    interval: std::time::Duration,
    now: DateTime<Utc>,
) -> Option<String> {
    if !matches!(source, MeterSource::Mqtt { .. }) {
        return None;
    }
    let limit = chrono::Duration::from_std(interval * 3)
        .unwrap_or_default()
        .max(chrono::Duration::minutes(5));
    let silent = now - last_seen?;
    (silent > limit).then(|| format!("no message for {} min", silent.num_minutes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn publishing_meters_go_offline_when_silent() {
        let mqtt = MeterSource::Mqtt {
            connection: "b".into(),
            name: "m".into(),
        };
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap();
        let interval = std::time::Duration::from_secs(10);
        assert_eq!(
            silent_for(
                &mqtt,
                Some(now - chrono::Duration::minutes(4)),
                interval,
                now
            ),
            None
        );
        assert_eq!(
            silent_for(
                &mqtt,
                Some(now - chrono::Duration::minutes(12)),
                interval,
                now
            )
            .as_deref(),
            Some("no message for 12 min")
        );
        let manual = MeterSource::Manual {
            quantity: crate::quantity::Quantity::named("gas_m3"),
        };
        assert_eq!(
            silent_for(
                &manual,
                Some(now - chrono::Duration::days(30)),
                interval,
                now
            ),
            None
        );
    }
}
