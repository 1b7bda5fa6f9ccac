//! The site config file as written: serde structures with the spans errors point at. Loading
//! turns them into the site model (`super::load`).

use std::path::PathBuf;

use rust_decimal::Decimal;
use serde::Deserialize;
use toml::Spanned;

use super::influx::InfluxFile;
use super::mqtt::SubscriptionFile;
use crate::billing::tariff::Tariff;
use crate::billing::tenant::{BillingSettings, Tenant};
use crate::energy::coefficients::Coefficients;
use crate::rules::alert_settings::AlertSettings;
use crate::rules::calendar::Calendar;
use crate::rules::notify_settings::NotifyConfig;
use crate::rules::quota_settings::Basis;
use crate::rules::rating_settings::Scorecard;
use crate::site::{ClimateZone, OfficeClass, UnitKind};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SiteFile {
    pub(super) site: SiteSection,
    #[serde(default)]
    pub(super) http: HttpSection,
    #[serde(default)]
    pub(super) store: StoreSection,
    #[serde(default)]
    pub(super) ledger: LedgerSection,
    #[serde(default)]
    pub(super) units: Vec<UnitFile>,
    #[serde(default)]
    pub(super) connections: Vec<ConnectionFile>,
    #[serde(default)]
    pub(super) meters: Vec<MeterFile>,
    #[serde(default)]
    pub(super) virtual_meters: Vec<VirtualMeterFile>,
    pub(super) coefficients: Option<Spanned<Coefficients>>,
    pub(super) calendar: Option<Spanned<Calendar>>,
    #[serde(default)]
    pub(super) quotas: Vec<QuotaFile>,
    pub(super) rating: Option<Spanned<Scorecard>>,
    pub(super) alerts: Option<Spanned<AlertSettings>>,
    pub(super) notify: Option<Spanned<NotifyConfig>>,
    pub(super) influx: Option<InfluxFile>,
    #[serde(default)]
    pub(super) tariffs: Vec<Spanned<Tariff>>,
    #[serde(default)]
    pub(super) tenants: Vec<Spanned<Tenant>>,
    pub(super) billing: Option<Spanned<BillingSettings>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct QuotaFile {
    pub(super) unit: Spanned<String>,
    pub(super) category: Spanned<String>,
    #[serde(default = "absolute")]
    pub(super) basis: Basis,
    pub(super) annual: Spanned<Decimal>,
    pub(super) year: Option<i32>,
    #[serde(default = "by_days")]
    pub(super) allocation: Spanned<String>,
    pub(super) shares: Option<Spanned<Vec<Decimal>>>,
}

fn absolute() -> Basis {
    Basis::Absolute
}

fn by_days() -> Spanned<String> {
    Spanned::new(0..0, "days".into())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SiteSection {
    pub(super) name: String,
    #[serde(default = "default_tz")]
    pub(super) timezone: Spanned<String>,
    pub(super) climate_zone: Option<ClimateZone>,
    pub(super) data_dir: Option<PathBuf>,
    #[serde(default)]
    pub(super) profile_dirs: Vec<PathBuf>,
    #[serde(default)]
    pub(super) meters_csv: Vec<Spanned<PathBuf>>,
    #[serde(default)]
    pub(super) payload_dirs: Vec<PathBuf>,
}

fn default_tz() -> Spanned<String> {
    Spanned::new(0..0, "Asia/Shanghai".to_string())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HttpSection {
    #[serde(default = "default_listen")]
    pub(super) listen: String,
    /// The overview page without signing in (a wall screen in the lobby); off by default.
    #[serde(default)]
    pub(super) public_overview: bool,
    /// Session cookies only over HTTPS; turn off only when serving plain HTTP on a trusted
    /// network or localhost.
    #[serde(default = "yes")]
    pub(super) secure_cookies: bool,
}

fn yes() -> bool {
    true
}

impl Default for HttpSection {
    fn default() -> Self {
        HttpSection {
            listen: default_listen(),
            public_overview: false,
            secure_cookies: true,
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoreSection {
    #[serde(default = "default_retention")]
    pub(super) telemetry_retention_days: u32,
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            telemetry_retention_days: default_retention(),
        }
    }
}

fn default_retention() -> u32 {
    7
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LedgerSection {
    #[serde(default = "default_max_gap_days_spanned")]
    pub(super) max_gap_days: Spanned<u32>,
}

impl Default for LedgerSection {
    fn default() -> Self {
        LedgerSection {
            max_gap_days: default_max_gap_days_spanned(),
        }
    }
}

fn default_max_gap_days() -> u32 {
    62
}

fn default_max_gap_days_spanned() -> Spanned<u32> {
    Spanned::new(0..0, default_max_gap_days())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UnitFile {
    pub(super) id: Spanned<String>,
    pub(super) name: String,
    pub(super) kind: UnitKind,
    pub(super) parent: Option<Spanned<String>>,
    pub(super) floor_area_m2: Option<Spanned<f64>>,
    pub(super) occupants: Option<u32>,
    pub(super) office_class: Option<OfficeClass>,
    pub(super) annual_hours: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConnectionFile {
    pub(super) id: Spanned<String>,
    pub(super) url: Spanned<String>,
    pub(super) timeout_ms: Option<Spanned<u64>>,
    pub(super) pause_ms: Option<u64>,
    pub(super) connect_delay_ms: Option<u64>,
    pub(super) tries: Option<Spanned<u32>>,
    /// modbus (the default), dlt645 or cjt188: what the meters on this bus speak.
    pub(super) protocol: Option<Spanned<String>>,
    /// DL/T 645 buses: broadcast the time every this many hours (off when absent).
    pub(super) time_sync_hours: Option<Spanned<u32>>,
    // MQTT brokers (mqtt:// and mqtts:// URLs); see config/mqtt.rs.
    pub(super) mqtt_version: Option<Spanned<String>>,
    pub(super) client_id: Option<String>,
    pub(super) username: Option<String>,
    pub(super) password_env: Option<String>,
    pub(super) password_file: Option<String>,
    pub(super) ca_file: Option<PathBuf>,
    pub(super) keep_alive_s: Option<u64>,
    pub(super) clean_session: Option<bool>,
    #[serde(default)]
    pub(super) subscriptions: Vec<SubscriptionFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MeterFile {
    pub(super) id: Spanned<String>,
    pub(super) name: String,
    pub(super) unit: Spanned<String>,
    pub(super) category: Spanned<String>,
    pub(super) profile: Option<Spanned<String>>,
    pub(super) connection: Option<Spanned<String>>,
    pub(super) slave_id: Option<Spanned<i64>>,
    /// DL/T 645 and CJ/T 188 meters: the address on the nameplate.
    pub(super) address: Option<Spanned<String>>,
    pub(super) multiplier: Option<Spanned<Decimal>>,
    pub(super) live_interval_s: Option<Spanned<i64>>,
    pub(super) energy_interval_min: Option<Spanned<i64>>,
    pub(super) timeout_ms: Option<Spanned<i64>>,
    pub(super) read_by_hand: Option<Spanned<String>>,
    pub(super) mqtt_name: Option<Spanned<String>>,
    pub(super) max_power: Option<Spanned<Decimal>>,
    pub(super) parent_meter: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) multiplier_history: Vec<MultiplierChangeFile>,
}

/// An earlier multiplier and the instant it stopped applying.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MultiplierChangeFile {
    pub(super) until: Spanned<String>,
    pub(super) multiplier: Spanned<Decimal>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VirtualMeterFile {
    pub(super) id: Spanned<String>,
    pub(super) name: String,
    pub(super) unit: Spanned<String>,
    pub(super) category: Spanned<String>,
    pub(super) formula: Spanned<String>,
}
