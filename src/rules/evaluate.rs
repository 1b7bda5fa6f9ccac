//! One round of alert detection: the detectors of `alert` run over the ledger (hourly figures,
//! anomalies, quota months) and what collection observed (meters offline, bad payloads).

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};

use super::alert::{self, AlertSettings, Finding};
use super::quota::quota_month;
use crate::energy::category::top_level;
use crate::energy::category::{COOLING, ELECTRICITY, HEAT, WATER};
use crate::energy::ledger::{Ledger, Step, register_quantity};
use crate::site::Site;
use crate::store::StoreError;
use crate::time::Month;

/// What collection saw, for the detectors that do not read the ledger.
#[derive(Debug, Clone, Default)]
pub struct Observations {
    /// (meter, offline, why).
    pub meters: Vec<(String, bool, Option<String>)>,
    /// (topic, bad payloads in the last hour).
    pub bad_payloads: Vec<(String, u64)>,
}

/// Every finding now.
pub fn findings(
    ledger: &Ledger<'_>,
    site: &Site,
    settings: &AlertSettings,
    seen: &Observations,
    now: DateTime<Utc>,
) -> Result<Vec<Finding>, StoreError> {
    let tz = ledger.timezone();
    let mut out = Vec::new();
    for (meter, offline, detail) in &seen.meters {
        out.extend(alert::meter_offline(
            meter,
            detail.as_deref(),
            *offline,
            now,
        ));
    }
    for (topic, bad) in &seen.bad_payloads {
        out.extend(alert::bad_payloads(topic, *bad, settings, now));
    }
    // Hourly figures up to the last full hour, over the history the base loads compare with.
    let local = now.with_timezone(&tz);
    let hour_end = local
        .date_naive()
        .and_hms_opt(local.hour(), 0, 0)
        .and_then(|t| t.and_local_timezone(tz).earliest())
        .map_or(now, |t| t.with_timezone(&Utc));
    let history_from = hour_end - Duration::days(i64::from(settings.history_days) + 8);
    let day_ago = hour_end - Duration::hours(24);
    // Water meters are judged on nights only, but against more of them: from the earliest
    // night their usual night flow comes from.
    let water_from = alert::water_leak_span(tz, settings, &site.calendar, now)
        .map_or(day_ago, |(from, _)| from.min(day_ago));
    for meter in &site.meters {
        let quantity = register_quantity(meter);
        let water = top_level(meter.category.code) == WATER;
        let from = if water { water_from } else { history_from };
        let hours = ledger.meter(meter, quantity, from, hour_end, Step::Hour)?;
        let last_day: Vec<_> = hours
            .iter()
            .filter(|r| r.start >= day_ago)
            .cloned()
            .collect();
        // A meter read by hand has readings weeks apart by design: its last day is never
        // bridged until the next reading, which is not a gap in collection.
        if !matches!(meter.source, crate::site::MeterSource::Manual { .. }) {
            out.extend(alert::data_gaps(&meter.id, &last_day, settings, now));
        }
        let anomalies = ledger.anomalies(meter, quantity, day_ago, hour_end)?;
        out.extend(alert::register_anomalies(&meter.id, &anomalies, now));
        match top_level(meter.category.code) {
            WATER => out.extend(alert::water_leak(
                &meter.id,
                &hours,
                tz,
                settings,
                &site.calendar,
                now,
            )),
            ELECTRICITY if meter.parent_meter.is_none() => {
                out.extend(alert::night_base_load(&meter.id, &hours, tz, settings, now));
                out.extend(alert::weekend_base_load(
                    &meter.id, &hours, tz, settings, now,
                ));
            }
            _ => {}
        }
    }
    for q in site
        .quotas
        .iter()
        .filter(|q| q.year.is_none_or(|y| y == local.year()))
    {
        let m = quota_month(ledger, site, q, Month::of(local.date_naive()), now)?;
        let unit = match top_level(&q.category) {
            "kgce" => "kgce",
            ELECTRICITY => "kWh",
            HEAT | COOLING => "GJ",
            _ => "m³",
        };
        out.extend(alert::quota(
            &format!("{}/{}", q.unit, q.category),
            m.used,
            m.projected,
            m.allocation,
            unit,
            now,
        ));
    }
    Ok(out)
}
