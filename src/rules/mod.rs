//! Rules over the ledger: quotas (定额), alerts and monthly ratings (考核评价). Deterministic
//! functions of ledger figures + config + clock; no I/O of their own except notification
//! delivery (`notify`).

pub mod alert;
pub mod alert_settings;
pub mod calendar;
pub mod evaluate;
pub mod intensity;
pub mod notify;
pub mod notify_settings;
pub mod quota;
pub mod quota_settings;
pub mod rating;
pub mod rating_settings;

use chrono::{DateTime, Utc};

use crate::energy::aggregate::subtree;
use crate::energy::ledger::Ledger;
use crate::site::Site;
use crate::store::StoreError;
use crate::store::sqlite::StoreReader;
use crate::time::{Month, local_midnight};
use rating::{Records, UnitRating};

/// Every unit's rating for `month`, with the alerts and committee points on record (read
/// through `reader`).
pub fn month_ratings(
    ledger: &Ledger<'_>,
    reader: &StoreReader,
    site: &Site,
    month: Month,
    now: DateTime<Utc>,
) -> Result<Vec<UnitRating>, StoreError> {
    let ledger = &ledger.snapshot();
    let tz = ledger.timezone();
    let bounds =
        local_midnight(month.first_day(), tz).zip(local_midnight(month.next().first_day(), tz));
    let alerts = match bounds {
        Some((a, b)) => reader.alerts_between(a, b)?,
        None => vec![],
    };
    let label = month.to_string();
    let mut committee = std::collections::HashMap::new();
    for u in &site.units {
        if let Some((points, note, who)) = reader.committee_points(&u.id, &label)? {
            committee.insert(u.id.clone(), (points, format!("{note}（{who}）")));
        }
    }
    let records = |unit: &str| {
        let units: Vec<&str> = subtree(&site.units, unit)
            .iter()
            .map(|u| u.id.as_str())
            .collect();
        // Subjects are meters, units, or `unit/category` for quota alerts.
        let mine = |subject: &str| {
            units.contains(&subject.split('/').next().unwrap_or(subject))
                || site
                    .meter(subject)
                    .is_some_and(|m| units.contains(&m.unit.as_str()))
        };
        let of_unit: Vec<_> = alerts.iter().filter(|(s, _)| mine(s)).collect();
        let handled = of_unit
            .iter()
            .filter(|(_, st)| *st != alert::Status::Open)
            .count() as u32;
        Records {
            alerts: Some((of_unit.len() as u32, handled)),
            committee: committee.get(unit).cloned(),
        }
    };
    rating::ratings(ledger, site, month, now, &records)
}
