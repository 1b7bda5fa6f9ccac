//! The Grafana dashboards parse and ask only for what the InfluxDB sink writes: every
//! measurement, field and tag a Flux query names exists in the sink's schema.

use std::collections::BTreeSet;

use jieneng::store::influx::line::{TAGS, schema};

/// Values compared in `r.<name> == "<value>"` (or `!=`) inside a Flux query.
fn comparisons<'a>(query: &'a str, name: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let needle = format!("r.{name} ");
    let mut rest = query;
    while let Some(i) = rest.find(&needle) {
        rest = &rest[i + needle.len()..];
        let after = rest.trim_start_matches(['=', '!', ' ']);
        if let Some(v) = after.strip_prefix('"').and_then(|s| s.split('"').next()) {
            out.push(v);
        }
    }
    out
}

#[test]
fn dashboards_query_only_what_the_sink_writes() {
    let schema: BTreeSet<(&str, &str)> = schema().into_iter().collect();
    let measurements: BTreeSet<&str> = schema.iter().map(|(m, _)| *m).collect();
    let fields: BTreeSet<&str> = schema.iter().map(|(_, f)| *f).collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards/json");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let dashboard: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(dashboard["title"].as_str().is_some_and(|t| !t.is_empty()));
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let query = target["query"].as_str().unwrap();
                let ms = comparisons(query, "_measurement");
                assert!(
                    !ms.is_empty(),
                    "{}: a query without a measurement: {query}",
                    path.display()
                );
                for m in &ms {
                    assert!(
                        measurements.contains(m),
                        "{}: unknown measurement {m}",
                        path.display()
                    );
                }
                for f in comparisons(query, "_field") {
                    assert!(fields.contains(f), "{}: unknown field {f}", path.display());
                    assert!(
                        ms.iter().any(|m| schema.contains(&(*m, f))),
                        "{}: field {f} is not written to {ms:?}",
                        path.display()
                    );
                }
                for (i, _) in query.match_indices("r.") {
                    let name: String = query[i + 2..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !name.starts_with('_') {
                        assert!(
                            TAGS.contains(&name.as_str()),
                            "{}: unknown tag {name}",
                            path.display()
                        );
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} queries");
    for provisioning in [
        "dashboards/provisioning/datasources/influxdb.yaml",
        "dashboards/provisioning/dashboards/jieneng.yaml",
    ] {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(provisioning),
        )
        .unwrap();
        assert!(text.contains("apiVersion: 1"), "{provisioning}");
    }
}
