//! What a config reload (SIGHUP) changes: the differences between the running site and the
//! reloaded one, which collectors must restart, and which settings only a restart applies.
//! Pure: sites in, a plan out; `Runtime::reload` carries it out.

use std::collections::{BTreeMap, BTreeSet};

use crate::site::{Meter, MeterSource, Site};

/// What the reloaded site changes.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Plan {
    /// Settings that only take effect after a restart (`key: running → in the file`); the
    /// running values are kept until then.
    pub needs_restart: Vec<String>,
    /// Sections of the config that differ (units, tariffs, alerts ...), applied live.
    pub sections: Vec<&'static str>,
    pub meters_added: Vec<String>,
    pub meters_removed: Vec<String>,
    pub meters_changed: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        *self == Plan::default()
    }
}

fn meter_line(m: &Meter) -> String {
    format!("{m:?}")
}

/// One collector per Modbus connection with meters (`modbus:<id>`) and per MQTT broker
/// (`mqtt:<id>`), each with a fingerprint of everything it was started from: a collector whose
/// fingerprint is unchanged keeps running through a reload.
pub fn collector_fingerprints(site: &Site) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for conn in &site.connections {
        let meters: Vec<String> = site
            .meters
            .iter()
            .filter(|m| matches!(&m.source, MeterSource::Modbus { connection, .. } | MeterSource::Line { connection, .. } if *connection == conn.id))
            .map(|m| {
                format!(
                    "{}|{:?}|{:?}|{}",
                    m.id, m.source, m.live_interval, m.energy_interval_min
                )
            })
            .collect();
        if meters.is_empty() {
            continue; // no poller runs for a connection without meters
        }
        out.insert(
            format!("modbus:{}", conn.id),
            format!("{conn:?}\n{}", meters.join("\n")),
        );
    }
    for broker in &site.brokers {
        let meters: Vec<String> = site
            .meters
            .iter()
            .filter(|m| matches!(&m.source, MeterSource::Mqtt { connection, .. } if *connection == broker.id))
            .map(|m| format!("{}|{:?}|{}", m.id, m.source, m.energy_interval_min))
            .collect();
        // The password is compared, never shown: the fingerprint is not logged.
        let password = broker.password.as_ref().map(|p| p.expose().to_string());
        out.insert(
            format!("mqtt:{}", broker.id),
            format!(
                "{broker:?}\n{password:?}\n{}\n{}",
                site.timezone,
                meters.join("\n")
            ),
        );
    }
    out
}

/// How a config section is compared: shown as text.
type Show = fn(&Site) -> String;

/// Compares the running site with the reloaded one. Settings that need a restart are put
/// back to their running values in `new`, so the site in use says what is in effect.
pub fn compare(old: &Site, new: &mut Site) -> Plan {
    let mut plan = Plan::default();
    if new.data_dir != old.data_dir {
        plan.needs_restart.push(format!(
            "site.data_dir: {} → {}",
            old.data_dir.display(),
            new.data_dir.display()
        ));
        new.data_dir = old.data_dir.clone();
    }
    if new.http_listen != old.http_listen {
        plan.needs_restart.push(format!(
            "http.listen: {} → {}",
            old.http_listen, new.http_listen
        ));
        new.http_listen = old.http_listen.clone();
    }
    if new.telemetry_retention_days != old.telemetry_retention_days {
        plan.needs_restart.push(format!(
            "telemetry retention: {} → {} days",
            old.telemetry_retention_days, new.telemetry_retention_days
        ));
        new.telemetry_retention_days = old.telemetry_retention_days;
    }
    let influx = |s: &Site| {
        s.influx.as_ref().map(|i| {
            format!(
                "{i:?}{:?}",
                i.token.as_ref().map(|t| t.expose().to_string())
            )
        })
    };
    if influx(new) != influx(old) {
        let url = |s: &Site| {
            s.influx
                .as_ref()
                .map_or("off".to_string(), |i| i.url.clone())
        };
        plan.needs_restart
            .push(format!("[influx]: {} → {}", url(old), url(new)));
        new.influx = old.influx.clone();
    }

    let sections: [(&'static str, Show); 18] = [
        ("site name", |s| s.name.clone()),
        ("time zone", |s| s.timezone.to_string()),
        ("climate zone", |s| format!("{:?}", s.climate_zone)),
        ("http.public_overview", |s| {
            s.http_public_overview.to_string()
        }),
        ("http.secure_cookies", |s| s.http_secure_cookies.to_string()),
        ("units", |s| format!("{:?}", s.units)),
        ("virtual meters", |s| format!("{:?}", s.virtual_meters)),
        ("ledger", |s| format!("{:?}", s.ledger)),
        ("calendar", |s| format!("{:?}", s.calendar)),
        ("quotas", |s| format!("{:?}", s.quotas)),
        ("scorecard", |s| format!("{:?}", s.scorecard)),
        ("alerts", |s| format!("{:?}", s.alerts)),
        ("notifications", |s| format!("{:?}", s.notify)),
        ("coefficients", |s| format!("{:?}", s.coefficients)),
        ("tariffs", |s| format!("{:?}", s.tariffs)),
        ("tenants", |s| format!("{:?}", s.tenants)),
        ("billing", |s| format!("{:?}", s.billing)),
        ("connections", |s| {
            format!("{:?}{:?}", s.connections, collector_fingerprints(s))
        }),
    ];
    for (name, show) in sections {
        if show(old) != show(new) {
            plan.sections.push(name);
        }
    }

    let before: BTreeMap<&str, String> = old
        .meters
        .iter()
        .map(|m| (m.id.as_str(), meter_line(m)))
        .collect();
    let after: BTreeMap<&str, String> = new
        .meters
        .iter()
        .map(|m| (m.id.as_str(), meter_line(m)))
        .collect();
    let ids: BTreeSet<&str> = before.keys().chain(after.keys()).copied().collect();
    for id in ids {
        match (before.get(id), after.get(id)) {
            (None, Some(_)) => plan.meters_added.push(id.to_string()),
            (Some(_), None) => plan.meters_removed.push(id.to_string()),
            (Some(a), Some(b)) if a != b => plan.meters_changed.push(id.to_string()),
            _ => {}
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "[site]\nname = \"t\"\ndata_dir = \"DATA\"\n\
        [[units]]\nid = \"o\"\nname = \"o\"\nkind = \"organisation\"\n\
        [[connections]]\nid = \"gw1\"\nurl = \"tcp://127.0.0.1:1502\"\n\
        [[connections]]\nid = \"gw2\"\nurl = \"tcp://127.0.0.1:1503\"\n\
        [[meters]]\nid = \"a\"\nname = \"a\"\nunit = \"o\"\ncategory = \"01000\"\nconnection = \"gw1\"\nprofile = \"eastron-sdm120\"\nslave_id = 1\n\
        [[meters]]\nid = \"b\"\nname = \"b\"\nunit = \"o\"\ncategory = \"01000\"\nconnection = \"gw2\"\nprofile = \"eastron-sdm120\"\nslave_id = 1\n";

    fn site(dir: &std::path::Path, text: &str) -> Site {
        let path = dir.join("jieneng.toml");
        std::fs::write(
            &path,
            text.replace("DATA", &dir.join("data").display().to_string()),
        )
        .unwrap();
        Site::load(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn only_the_changed_connection_restarts_and_restart_settings_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let old = site(dir.path(), BASE);
        let mut same = site(dir.path(), BASE);
        assert!(compare(&old, &mut same).is_empty());
        assert_eq!(collector_fingerprints(&old), collector_fingerprints(&same));

        let changed = BASE.replace(
            "slave_id = 1\n[[meters]]\nid = \"b\"",
            "slave_id = 2\n[[meters]]\nid = \"b\"",
        ) + "[[meters]]\nid = \"c\"\nname = \"c\"\nunit = \"o\"\ncategory = \"03000\"\nread_by_hand = \"gas_m3\"\n"
            + "[http]\nlisten = \"127.0.0.1:9999\"\n";
        let mut new = site(dir.path(), &changed);
        let plan = compare(&old, &mut new);
        assert_eq!(plan.meters_changed, vec!["a"]);
        assert_eq!(plan.meters_added, vec!["c"]);
        assert_eq!(plan.needs_restart.len(), 1, "{plan:?}");
        assert!(plan.needs_restart[0].starts_with("http.listen"), "{plan:?}");
        assert_eq!(new.http_listen, old.http_listen);
        let (a, b) = (collector_fingerprints(&old), collector_fingerprints(&new));
        assert_ne!(a["modbus:gw1"], b["modbus:gw1"]);
        assert_eq!(a["modbus:gw2"], b["modbus:gw2"]);
    }
}
