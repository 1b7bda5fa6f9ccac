//! History for the demo: what the simulated meters would have shown, written through ingest
//! as if it had been collected — register readings every 15 minutes for 13 months, live
//! quantities every 5 minutes for the telemetry window, and monthly hand readings. Resumable:
//! each series continues after its newest stored reading.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, TimeZone, Utc};

use super::campus::{DemoCampus, DemoMeter};
use super::load::SLOT_SECS;
use crate::collect::modbus::decode::{decode, encode};
use crate::config::line_profile::LineValue;
use crate::config::profile::RegisterSpec;
use crate::ingest::Ingest;
use crate::quantity::Quantity;
use crate::reading::{Reading, ReadingQuality};
use crate::site::Site;
use crate::store::SqliteStore;

/// Start of the history: the first day of the month 13 months before `now`'s month (local),
/// so last month has the same month a year earlier to compare with.
pub fn history_start(now: DateTime<Utc>, tz: chrono_tz::Tz) -> DateTime<Utc> {
    let local = now.with_timezone(&tz).date_naive();
    let first =
        NaiveDate::from_ymd_opt(local.year(), local.month(), 1).unwrap_or(local) - Months::new(13);
    tz.from_local_datetime(&first.and_hms_opt(0, 0, 0).unwrap_or_default())
        .earliest()
        .map_or(now, |t| t.with_timezone(&Utc))
}

/// The first day of the month before `now`'s month (local).
fn first_of_last_month(now: DateTime<Utc>, tz: chrono_tz::Tz) -> NaiveDate {
    let local = now.with_timezone(&tz).date_naive();
    NaiveDate::from_ymd_opt(local.year(), local.month(), 1).unwrap_or(local) - Months::new(1)
}

/// Finance's history in a new demo: the shop's statement for the month before last, issued
/// and half paid, so last month's statement shows arrears (上期欠费). Only once: nothing is
/// done when any statement is already issued.
pub fn demo_statements(site: &Site, store: &SqliteStore, now: DateTime<Utc>) -> anyhow::Result<()> {
    let reader = store.reader()?;
    if !reader.issued_statements(None, None)?.is_empty() {
        return Ok(());
    }
    let tz = site.timezone;
    let month = first_of_last_month(now, tz) - Months::new(1);
    let Some(month) = crate::time::Month::new(month.year(), month.month()) else {
        return Ok(());
    };
    let ledger = crate::energy::ledger::Ledger::new(&reader, site);
    let mut writer = store.writer()?;
    let today = now.with_timezone(&tz).date_naive();
    let issued = crate::billing::book::issue(
        &ledger,
        &reader,
        site,
        &mut writer,
        month,
        Some("shop"),
        "finance",
        today,
    )?;
    let Some(shop) = issued.iter().find(|i| i.outcome == "issued") else {
        tracing::warn!(month = %month, "the demo shop statement was not issued");
        return Ok(());
    };
    let half = crate::decimal::cents(shop.total / rust_decimal::Decimal::TWO);
    writer.record_payments(
        &[crate::store::billing::NewPayment {
            statement: shop.number.clone(),
            amount: half,
            paid_on: first_of_last_month(now, tz) + Duration::days(9),
            method: "转账".into(),
            reference: "DEMO-0001".into(),
        }],
        "finance",
    )?;
    Ok(())
}

/// The value as the meter's registers carry it (its resolution, its type's range).
fn as_registered(value: f64, spec: &RegisterSpec) -> f64 {
    decode(&encode(value, spec), spec).unwrap_or(value)
}

/// Readings one meter is missing between its newest stored reading and `now`.
fn missing_readings(
    m: &DemoMeter,
    site: &Site,
    last: &dyn Fn(Quantity) -> Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    telemetry_days: i64,
) -> Vec<Reading> {
    let meter: Arc<str> = Arc::from(m.id.as_str());
    let start = history_start(now, m.sim.tz);
    let mut out = Vec::new();
    let push = |out: &mut Vec<Reading>, q, time, value, quality| {
        out.push(Reading {
            meter: meter.clone(),
            quantity: q,
            time,
            value,
            quality,
        })
    };
    // What the meter reports, each value as its registers or payload carry it.
    type Quantize = Box<dyn Fn(f64) -> f64>;
    let series: Vec<(Quantity, Quantize)> = if let Some(mq) = &m.mqtt {
        mq.quantities
            .iter()
            .map(|q| {
                (
                    Quantity::named(q),
                    Box::new(|v: f64| (v * 1000.0).round() / 1000.0) as Quantize,
                )
            })
            .collect()
    } else if let Some(line) = &m.line {
        // As the meter's BCD registers carry each value: to the format's decimals.
        let Some(profile) =
            crate::config::line_profile::LineProfileLibrary::builtin().get(line.profile)
        else {
            return out;
        };
        profile
            .values
            .iter()
            .flat_map(|v| match v {
                LineValue::Dlt645 {
                    quantities, format, ..
                } => quantities
                    .iter()
                    .map(|q| (*q, format.decimals))
                    .collect::<Vec<_>>(),
                LineValue::Cjt188 { quantity, .. } => vec![(*quantity, 2)],
            })
            .map(|(q, places)| {
                let scale = 10f64.powi(places as i32);
                (
                    q,
                    Box::new(move |v: f64| (v * scale).round() / scale) as Quantize,
                )
            })
            .collect()
    } else if let Some(profile) = m.profile.and_then(|p| site.profiles.get(p)) {
        profile
            .registers
            .iter()
            .map(|spec| {
                let spec = spec.clone();
                (
                    spec.quantity,
                    Box::new(move |v: f64| as_registered(v, &spec)) as Quantize,
                )
            })
            .collect()
    } else {
        // Read by hand: the first of every month at 09:00, except that last month's reading
        // was missed (the reader was away), so last month's figure is a straight line across
        // two months and its statement is held for review.
        let q = Quantity::named("gas_m3");
        let missed = first_of_last_month(now, m.sim.tz);
        let from = last(q).map_or(start, |t| t + Duration::seconds(1));
        let mut month = history_start(now, m.sim.tz)
            .with_timezone(&m.sim.tz)
            .date_naive();
        while let Some(t) = m
            .sim
            .tz
            .from_local_datetime(&month.and_hms_opt(9, 0, 0).unwrap_or_default())
            .earliest()
        {
            let t = t.with_timezone(&Utc);
            if t > now {
                break;
            }
            if t >= from && month != missed {
                let v = (m.sim.value(q, t) * 10.0).round() / 10.0;
                push(&mut out, q, t, v, ReadingQuality::Manual);
            }
            month = month + Months::new(1);
        }
        return out;
    };
    let now_slot = now.timestamp().div_euclid(SLOT_SECS);
    let live_start = now - Duration::days(telemetry_days);
    for (quantity, quantize) in &series {
        if quantity.is_cumulative() {
            let first = last(*quantity).map_or(start.timestamp().div_euclid(SLOT_SECS), |t| {
                t.timestamp().div_euclid(SLOT_SECS) + 1
            });
            for slot in first..=now_slot {
                let t = DateTime::from_timestamp(slot * SLOT_SECS, 0).unwrap_or(now);
                push(
                    &mut out,
                    *quantity,
                    t,
                    quantize(m.sim.value(*quantity, t)),
                    ReadingQuality::Measured,
                );
            }
        } else {
            let from = last(*quantity).map_or(live_start, |t| t.max(live_start));
            let mut t = DateTime::from_timestamp((from.timestamp().div_euclid(300) + 1) * 300, 0)
                .unwrap_or(now);
            while t <= now {
                push(
                    &mut out,
                    *quantity,
                    t,
                    quantize(m.sim.value(*quantity, t)),
                    ReadingQuality::Measured,
                );
                t += Duration::minutes(5);
            }
        }
    }
    out
}

/// Fills every demo series up to `now` (the moment live collection took over), continuing
/// each series after its newest reading before `now`; returns the number of readings written.
pub async fn backfill(
    campus: &DemoCampus,
    site: Arc<Site>,
    store: &SqliteStore,
    ingest: &Ingest,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let mut total = 0;
    let telemetry_days = site.telemetry_retention_days as i64;
    let mut pending = Vec::new();
    for m in &campus.meters {
        let store = store.clone();
        let site = site.clone();
        let meter = m.clone();
        pending.push(tokio::task::spawn_blocking(
            move || -> anyhow::Result<Vec<Reading>> {
                let reader = store.reader()?;
                // Where the stored history ends, looking back past the last quarter hour:
                // live MQTT messages already stored may carry times just before `now` (a
                // gateway's batch, a payload's whole-second clock) and must not be taken for it.
                // Writing the same instants again is harmless (same values, replaced).
                let before = now - chrono::Duration::minutes(15);
                let last = |q: Quantity| {
                    reader
                        .latest_before(&meter.id, q, before)
                        .ok()
                        .flatten()
                        .map(|r| r.time)
                };
                Ok(missing_readings(&meter, &site, &last, now, telemetry_days))
            },
        ));
    }
    for task in pending {
        let readings = task.await??;
        total += readings.len();
        let mut readings = readings.into_iter().peekable();
        while readings.peek().is_some() {
            let chunk: Vec<Reading> = readings.by_ref().take(2_000).collect();
            ingest.accept_all(chunk).await?;
        }
    }
    ingest.flush().await?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_starts_thirteen_months_back_on_a_local_month_boundary() {
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 4, 0, 0).unwrap();
        let start = history_start(now, chrono_tz::Asia::Shanghai);
        assert_eq!(start, Utc.with_ymd_and_hms(2025, 9, 30, 16, 0, 0).unwrap());
    }
}
