//! The parts of a site config whose changes are audited: quotas (the committee's allowances),
//! tariffs, tenants and billing settings (what finance charges), and each meter's place,
//! category and multiplier (what the ledger counts). Edits to the file show up in the audit
//! log with before and after when the service starts or reloads.

use serde_json::{Value, json};

use crate::site::Site;

impl Site {
    /// (section, its content) for every audited section.
    pub fn audited_sections(&self) -> Vec<(&'static str, Value)> {
        let meters: Vec<Value> = self
            .meters
            .iter()
            .map(|m| {
                json!({
                    "id": m.id,
                    "unit": m.unit,
                    "category": m.category.code,
                    "multiplier": m.multiplier.to_string(),
                    "multiplier_history": m
                        .multiplier_history
                        .iter()
                        .map(|(until, x)| json!({ "until": until.to_rfc3339(), "multiplier": x.to_string() }))
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        let value = |v: Result<Value, serde_json::Error>| v.unwrap_or(Value::Null);
        vec![
            ("quotas", value(serde_json::to_value(&self.quotas))),
            ("tariffs", value(serde_json::to_value(&self.tariffs))),
            ("tenants", value(serde_json::to_value(&self.tenants))),
            ("billing", value(serde_json::to_value(&self.billing))),
            ("meters", Value::Array(meters)),
        ]
    }
}

/// Records every audited section that changed since last recorded; the sections changed.
pub fn record_changes(
    site: &Site,
    store: &crate::store::SqliteStore,
    source: &str,
) -> Result<Vec<&'static str>, crate::store::StoreError> {
    let mut writer = store.writer()?;
    let mut changed = Vec::new();
    for (section, value) in site.audited_sections() {
        if writer.record_config_section(section, &value, source)? {
            changed.push(section);
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use crate::store::SqliteStore;

    const CONFIG: &str = r#"
[site]
name = "测试"
timezone = "Asia/Shanghai"

[[units]]
id = "org"
name = "学院"
kind = "organisation"
occupants = 100

[[meters]]
id = "m1"
name = "电表"
unit = "org"
category = "01000"
read_by_hand = "energy_import_kwh"
multiplier = 40

[[quotas]]
unit = "org"
category = "01000"
basis = "absolute"
annual = 100000
"#;

    #[test]
    fn edits_to_quotas_and_multipliers_are_audited_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("site.toml");
        let load = |text: &str| {
            std::fs::write(&path, text).unwrap();
            crate::site::Site::load(&path).unwrap_or_else(|e| panic!("{e}"))
        };
        let store = SqliteStore::open(&dir.path().join("jieneng.db")).unwrap();
        let site = load(CONFIG);
        let first = super::record_changes(&site, &store, "site.toml").unwrap();
        assert_eq!(
            first,
            vec!["quotas", "tariffs", "tenants", "billing", "meters"]
        );
        assert!(
            super::record_changes(&site, &store, "site.toml")
                .unwrap()
                .is_empty()
        );
        let edited = load(
            &CONFIG
                .replace("annual = 100000", "annual = 90000")
                .replace("multiplier = 40", "multiplier = 60"),
        );
        let changed = super::record_changes(&edited, &store, "site.toml").unwrap();
        assert_eq!(changed, vec!["quotas", "meters"]);
        let audit = store.reader().unwrap().audit(None, 20).unwrap();
        let quota = audit.iter().find(|a| a.action == "config.quotas").unwrap();
        assert_eq!(quota.who, "config");
        assert_eq!(quota.before[0]["annual"], "100000");
        assert_eq!(quota.after[0]["annual"], "90000");
        assert_eq!(quota.note, "changed in the config file");
    }
}
