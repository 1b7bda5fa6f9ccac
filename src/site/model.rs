//! The site: everything the site config describes, validated, with lookups by id.

use std::path::PathBuf;

use chrono_tz::Tz;

use super::meter::{Connection, Meter, VirtualMeter};
use super::unit::{ClimateZone, Unit};
use crate::billing::tariff::Tariff;
use crate::billing::tenant::{BillingSettings, Tenant};
use crate::config::influx::InfluxConfig;
use crate::config::mqtt::Broker;
use crate::config::payload::PayloadLibrary;
use crate::config::profile::ProfileLibrary;
use crate::energy::coefficients::Coefficients;
use crate::rules::alert_settings::AlertSettings;
use crate::rules::calendar::Calendar;
use crate::rules::notify_settings::NotifyConfig;
use crate::rules::quota_settings::Quota;
use crate::rules::rating_settings::Scorecard;

/// A validated site.
#[derive(Debug, Clone)]
pub struct Site {
    pub config_file: PathBuf,
    pub name: String,
    pub timezone: Tz,
    pub climate_zone: Option<ClimateZone>,
    pub data_dir: PathBuf,
    pub http_listen: String,
    pub http_public_overview: bool,
    pub http_secure_cookies: bool,
    pub telemetry_retention_days: u32,
    pub units: Vec<Unit>,
    pub connections: Vec<Connection>,
    pub brokers: Vec<Broker>,
    pub meters: Vec<Meter>,
    pub virtual_meters: Vec<VirtualMeter>,
    pub ledger: LedgerSettings,
    pub calendar: Calendar,
    pub quotas: Vec<Quota>,
    pub scorecard: Scorecard,
    pub alerts: AlertSettings,
    pub notify: NotifyConfig,
    /// Standard coal and CO₂ factors, with their sources.
    pub coefficients: Coefficients,
    pub tariffs: Vec<Tariff>,
    pub tenants: Vec<Tenant>,
    pub billing: BillingSettings,
    pub profiles: ProfileLibrary,
    pub payloads: PayloadLibrary,
    pub influx: Option<InfluxConfig>,
}

impl Site {
    pub fn meter(&self, id: &str) -> Option<&Meter> {
        self.meters.iter().find(|m| m.id == id)
    }

    pub fn virtual_meter(&self, id: &str) -> Option<&VirtualMeter> {
        self.virtual_meters.iter().find(|m| m.id == id)
    }

    pub fn tariff(&self, id: &str) -> Option<&Tariff> {
        self.tariffs.iter().find(|t| t.id == id)
    }

    pub fn tenant(&self, id: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.id == id)
    }

    pub fn unit(&self, id: &str) -> Option<&Unit> {
        self.units.iter().find(|u| u.id == id)
    }
}

/// How the ledger treats gaps.
#[derive(Debug, Clone)]
pub struct LedgerSettings {
    /// Gaps between readings up to this long are bridged linearly (flagged interpolated);
    /// longer ones stay missing.
    pub max_gap: chrono::Duration,
}

impl Default for LedgerSettings {
    /// Gaps up to 62 days.
    fn default() -> Self {
        LedgerSettings {
            max_gap: chrono::Duration::days(62),
        }
    }
}

impl LedgerSettings {
    /// Gaps up to `days` long are bridged: 1 to 400 days.
    pub fn with_max_gap_days(days: u32) -> Result<LedgerSettings, String> {
        if !(1..=400).contains(&days) {
            return Err("max_gap_days must be between 1 and 400".into());
        }
        Ok(LedgerSettings {
            max_gap: chrono::Duration::days(i64::from(days)),
        })
    }
}
