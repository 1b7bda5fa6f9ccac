//! The site config file (`jieneng.toml`): the site, its unit hierarchy, Modbus connections and
//! meters (inline or from CSV inventories). [`Site::load`] returns a validated model or every
//! problem found, each as `FILE:LINE:COL: message`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::error::{ConfigError, ConfigErrors, Source};
use super::influx::{InfluxConfig, InfluxFile};
use super::inventory;
use super::mqtt::{Broker, MqttKeys, build_broker, is_mqtt_url};
use super::payload::PayloadLibrary;
use super::profile::{Profile, ProfileLibrary};
use crate::billing::tariff::{Kind as TariffKind, Tariff};
use crate::billing::tenant::{BillingSettings, Tenant};
use crate::collect::modbus::url::ModbusUrl;
use crate::energy::category::{self, Category};
use crate::energy::coefficients::Coefficients;
use crate::energy::formula::Formula;
use crate::rules::alert::AlertSettings;
use crate::rules::calendar::Calendar;
use crate::rules::notify::NotifyConfig;
use crate::rules::quota::{Allocation, Basis, Quota};
use crate::rules::rating::Scorecard;

/// Where a value came from, for error messages.
#[derive(Debug, Clone)]
pub struct At {
    pub file: PathBuf,
    pub line: usize,
    pub col: Option<usize>,
}

impl At {
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.clone(),
            line: self.line,
            col: self.col,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    Organisation,
    Campus,
    Building,
    Department,
    Canteen,
    Dormitory,
    Shop,
    PublicArea,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClimateZone {
    SevereCold,
    Cold,
    HotSummerColdWinter,
    HotSummerWarmWinter,
    Mild,
}

/// A node of the hierarchy: organisation > campus/building > unit (department, tenant).
#[derive(Debug, Clone, Serialize)]
pub struct Unit {
    pub id: String,
    pub name: String,
    pub kind: UnitKind,
    pub parent: Option<String>,
    pub floor_area_m2: Option<f64>,
    pub occupants: Option<u32>,
    /// For the GB/T 51161 office-building check: A (windows open) or B (sealed).
    pub office_class: Option<OfficeClass>,
    /// Hours a year the building is in use (the check's hours correction).
    pub annual_hours: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OfficeClass {
    A,
    B,
}

#[derive(Debug, Clone)]
pub struct Connection {
    pub id: String,
    pub url: ModbusUrl,
    /// Overrides the profiles' timeouts for every device on this connection.
    pub timeout_ms: Option<u64>,
    /// Pause between two requests on this bus.
    pub pause_ms: u64,
    /// Wait after connecting before the first request (devices that ignore it).
    pub connect_delay_ms: u64,
    /// Attempts before a device is marked offline (1–3).
    pub tries: u32,
}

/// How a meter's values arrive.
#[derive(Debug, Clone)]
pub enum MeterSource {
    Modbus {
        connection: String,
        profile: Arc<Profile>,
        slave_id: u8,
        /// Overrides the connection's and the profile's timeout for this device.
        timeout_ms: Option<u64>,
    },
    /// Published to an MQTT broker; `name` is how topics and payloads name the meter.
    Mqtt { connection: String, name: String },
    /// Read by hand: values come from imports and the readings API only.
    Manual { quantity: crate::quantity::Quantity },
}

#[derive(Debug, Clone)]
pub struct Meter {
    pub id: String,
    pub name: String,
    pub unit: String,
    pub category: &'static Category,
    pub source: MeterSource,
    /// CT/PT ratio (倍率) in effect now: consumption = register delta × multiplier.
    pub multiplier: Decimal,
    /// Earlier multipliers, oldest first: each was in effect until its instant (a CT change).
    pub multiplier_history: Vec<(DateTime<Utc>, Decimal)>,
    /// Highest plausible rate after the multiplier (kW, m³/h, GJ/h); faster register growth is
    /// an implausible jump.
    pub max_power: Option<Decimal>,
    /// The meter this one is a sub-meter of (its consumption is part of the parent's).
    pub parent_meter: Option<String>,
    pub live_interval: Duration,
    pub energy_interval_min: u32,
}

impl Meter {
    /// The multiplier in effect at `t`.
    pub fn multiplier_at(&self, t: DateTime<Utc>) -> Decimal {
        self.multiplier_history
            .iter()
            .find(|(until, _)| t < *until)
            .map_or(self.multiplier, |(_, m)| *m)
    }
}

/// A meter computed from others: `admin-main - admin-light - admin-hvac` (public areas and losses).
#[derive(Debug, Clone)]
pub struct VirtualMeter {
    pub id: String,
    pub name: String,
    pub unit: String,
    pub category: &'static Category,
    pub formula: Formula,
}

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

    pub fn load(path: &Path) -> Result<Site, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| super::profile::io_error(path, &e))?;
        Self::from_str(path, &text)
    }

    pub fn from_str(path: &Path, text: &str) -> Result<Site, ConfigErrors> {
        let src = Source { file: path, text };
        let raw: SiteFile = src.parse()?;
        let base = path.parent().unwrap_or(Path::new("."));
        let at = |span: std::ops::Range<usize>| {
            let (line, col) = super::error::line_col(text, span.start);
            At {
                file: path.to_path_buf(),
                line,
                col: Some(col),
            }
        };
        let mut errors = Vec::new();

        let timezone = match raw.site.timezone.get_ref().parse::<Tz>() {
            Ok(tz) => tz,
            Err(_) => {
                errors.push(at(raw.site.timezone.span()).error(format!(
                    "unknown time zone `{}` (an IANA name such as Asia/Shanghai)",
                    raw.site.timezone.get_ref()
                )));
                chrono_tz::Asia::Shanghai
            }
        };

        let profile_dirs: Vec<PathBuf> =
            raw.site.profile_dirs.iter().map(|d| base.join(d)).collect();
        let profiles = match ProfileLibrary::load(&profile_dirs) {
            Ok(lib) => lib,
            Err(e) => {
                errors.extend(e.0);
                ProfileLibrary::builtin()
            }
        };

        // Units and the hierarchy.
        let mut units = Vec::new();
        let mut unit_at = HashMap::new();
        for u in &raw.units {
            let id = u.id.get_ref().clone();
            if unit_at.insert(id.clone(), at(u.id.span())).is_some() {
                errors.push(at(u.id.span()).error(format!("duplicate unit id `{id}`")));
                continue;
            }
            if let Some(a) = u
                .floor_area_m2
                .as_ref()
                .filter(|a| a.get_ref().partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater))
            {
                errors.push(at(a.span()).error("floor_area_m2 must be greater than 0"));
            }
            units.push(Unit {
                id,
                name: u.name.clone(),
                kind: u.kind,
                parent: u.parent.as_ref().map(|p| p.get_ref().clone()),
                floor_area_m2: u.floor_area_m2.as_ref().map(|a| *a.get_ref()),
                occupants: u.occupants,
                office_class: u.office_class,
                annual_hours: u.annual_hours,
            });
        }
        for (u, raw_u) in units.iter().zip(&raw.units) {
            match (&raw_u.parent, u.kind) {
                (None, UnitKind::Organisation) => {}
                (Some(p), UnitKind::Organisation) => errors.push(
                    at(p.span())
                        .error("an organisation is the top of the hierarchy and has no parent"),
                ),
                (None, _) => errors.push(at(raw_u.id.span()).error(format!(
                    "unit `{}` needs a `parent` (only an organisation has none)",
                    u.id
                ))),
                (Some(p), _) if !unit_at.contains_key(p.get_ref()) => errors
                    .push(at(p.span()).error(format!("unknown parent unit `{}`", p.get_ref()))),
                (Some(_), _) => {
                    if has_cycle(&units, &u.id) {
                        errors.push(at(raw_u.id.span()).error(format!(
                            "unit `{}` is its own ancestor (a cycle in `parent`)",
                            u.id
                        )));
                    }
                }
            }
        }

        let payload_dirs: Vec<PathBuf> =
            raw.site.payload_dirs.iter().map(|d| base.join(d)).collect();
        let payloads = match PayloadLibrary::load(&payload_dirs) {
            Ok(lib) => lib,
            Err(e) => {
                errors.extend(e.0);
                PayloadLibrary::builtin()
            }
        };

        // Connections: Modbus buses and MQTT brokers.
        let mut connections = Vec::new();
        let mut brokers = Vec::new();
        let mut connection_ids = HashSet::new();
        for c in &raw.connections {
            let id = c.id.get_ref().clone();
            if !connection_ids.insert(id.clone()) {
                errors.push(at(c.id.span()).error(format!("duplicate connection id `{id}`")));
                continue;
            }
            let mqtt_keys = MqttKeys {
                mqtt_version: c.mqtt_version.clone(),
                client_id: c.client_id.clone(),
                username: c.username.clone(),
                password_env: c.password_env.clone(),
                password_file: c.password_file.clone(),
                ca_file: c.ca_file.clone(),
                keep_alive_s: c.keep_alive_s,
                clean_session: c.clean_session,
                subscriptions: c.subscriptions.clone(),
            };
            if is_mqtt_url(c.url.get_ref()) {
                if c.timeout_ms.is_some()
                    || c.pause_ms.is_some()
                    || c.connect_delay_ms.is_some()
                    || c.tries.is_some()
                {
                    errors.push(at(c.url.span()).error("timeout_ms, pause_ms, connect_delay_ms and tries apply to Modbus connections, not MQTT"));
                }
                if let Some(b) = build_broker(
                    &id,
                    &c.url,
                    &mqtt_keys,
                    &payloads,
                    &raw.site.name,
                    base,
                    &at,
                    &mut errors,
                ) {
                    brokers.push(b);
                }
                continue;
            }
            if mqtt_keys.any() {
                errors.push(at(c.url.span()).error(format!("connection `{id}` is Modbus: MQTT keys (subscriptions, username ...) need an mqtt:// URL")));
            }
            let tries = match &c.tries {
                None => 2,
                Some(t) if (1..=3).contains(t.get_ref()) => *t.get_ref(),
                Some(t) => {
                    errors.push(at(t.span()).error("tries must be 1, 2 or 3"));
                    2
                }
            };
            if let Some(t) = c
                .timeout_ms
                .as_ref()
                .filter(|t| !(10..=60_000).contains(t.get_ref()))
            {
                errors.push(at(t.span()).error("timeout_ms must be between 10 and 60000"));
            }
            match ModbusUrl::parse(c.url.get_ref()) {
                Ok(url) => connections.push(Connection {
                    id,
                    url,
                    timeout_ms: c.timeout_ms.as_ref().map(|t| *t.get_ref()),
                    pause_ms: c.pause_ms.unwrap_or(0),
                    connect_delay_ms: c.connect_delay_ms.unwrap_or(0),
                    tries,
                }),
                Err(e) => errors.push(at(c.url.span()).error(e)),
            }
        }

        // Meters: inline ones, then each inventory CSV.
        let mut drafts: Vec<MeterDraft> = raw
            .meters
            .iter()
            .map(|m| MeterDraft {
                id: (m.id.get_ref().clone(), at(m.id.span())),
                name: m.name.clone(),
                unit: (m.unit.get_ref().clone(), at(m.unit.span())),
                category: (m.category.get_ref().clone(), at(m.category.span())),
                profile: m
                    .profile
                    .as_ref()
                    .map(|p| (p.get_ref().clone(), at(p.span()))),
                connection: m
                    .connection
                    .as_ref()
                    .map(|c| (c.get_ref().clone(), at(c.span()))),
                slave_id: m.slave_id.as_ref().map(|s| (*s.get_ref(), at(s.span()))),
                multiplier: m.multiplier.as_ref().map(|x| (*x.get_ref(), at(x.span()))),
                live_interval_s: m
                    .live_interval_s
                    .as_ref()
                    .map(|x| (*x.get_ref(), at(x.span()))),
                energy_interval_min: m
                    .energy_interval_min
                    .as_ref()
                    .map(|x| (*x.get_ref(), at(x.span()))),
                timeout_ms: m.timeout_ms.as_ref().map(|x| (*x.get_ref(), at(x.span()))),
                mqtt_name: m
                    .mqtt_name
                    .as_ref()
                    .map(|x| (x.get_ref().clone(), at(x.span()))),
                read_by_hand: m
                    .read_by_hand
                    .as_ref()
                    .map(|r| (r.get_ref().clone(), at(r.span()))),
                max_power: m.max_power.as_ref().map(|x| (*x.get_ref(), at(x.span()))),
                parent_meter: m
                    .parent_meter
                    .as_ref()
                    .map(|x| (x.get_ref().clone(), at(x.span()))),
                multiplier_history: m
                    .multiplier_history
                    .iter()
                    .map(|c| {
                        (
                            (c.until.get_ref().clone(), at(c.until.span())),
                            (*c.multiplier.get_ref(), at(c.multiplier.span())),
                        )
                    })
                    .collect(),
            })
            .collect();
        for csv in &raw.site.meters_csv {
            let (more, problems) = inventory::read_meters_csv(&base.join(csv.get_ref()));
            drafts.extend(more);
            errors.extend(problems);
        }

        let mut meters = Vec::new();
        let mut meter_ids: HashMap<String, At> = HashMap::new();
        for d in drafts {
            if let Some(first) = meter_ids.get(&d.id.0) {
                errors.push(d.id.1.error(format!(
                    "duplicate meter id `{}` (first defined at {}:{})",
                    d.id.0,
                    first.file.display(),
                    first.line
                )));
                continue;
            }
            meter_ids.insert(d.id.0.clone(), d.id.1.clone());
            match d.build(&unit_at, &connections, &brokers, &profiles, timezone) {
                Ok(m) => meters.push(m),
                Err(e) => errors.extend(e),
            }
        }

        // Sub-meters: the parent exists, measures the same kind of energy, and no loops.
        for (m, d_at) in meters.iter().map(|m| (m, &meter_ids[&m.id])) {
            let Some(parent) = &m.parent_meter else {
                continue;
            };
            match meters.iter().find(|p| p.id == *parent) {
                None => errors.push(d_at.error(format!(
                    "meter `{}`: unknown parent_meter `{parent}`",
                    m.id
                ))),
                Some(p) if category::top_level(p.category.code) != category::top_level(m.category.code) => {
                    errors.push(d_at.error(format!(
                        "meter `{}` ({}) cannot be a sub-meter of `{parent}` ({}): different kinds of energy",
                        m.id, m.category.code, p.category.code
                    )))
                }
                Some(_) => {
                    let mut seen = HashSet::from([m.id.as_str()]);
                    let mut cur = m.parent_meter.as_deref();
                    while let Some(c) = cur {
                        if !seen.insert(c) {
                            errors.push(d_at.error(format!(
                                "meter `{}` is its own ancestor (a cycle in `parent_meter`)",
                                m.id
                            )));
                            break;
                        }
                        cur = meters.iter().find(|x| x.id == c).and_then(|x| x.parent_meter.as_deref());
                    }
                }
            }
        }

        // Virtual meters: formulas over real meters of the same kind of energy.
        let mut virtual_meters = Vec::new();
        for v in &raw.virtual_meters {
            let id = v.id.get_ref().clone();
            if meter_ids.contains_key(&id)
                || virtual_meters.iter().any(|x: &VirtualMeter| x.id == id)
            {
                errors.push(at(v.id.span()).error(format!("duplicate meter id `{id}`")));
                continue;
            }
            if !unit_at.contains_key(v.unit.get_ref()) {
                errors
                    .push(at(v.unit.span()).error(format!("unknown unit `{}`", v.unit.get_ref())));
            }
            let Some(cat) = category::category(v.category.get_ref()) else {
                errors.push(
                    at(v.category.span())
                        .error(format!("unknown category code `{}`", v.category.get_ref())),
                );
                continue;
            };
            let formula = match Formula::parse(v.formula.get_ref()) {
                Ok(f) => f,
                Err(e) => {
                    let mut a = at(v.formula.span());
                    // The formula starts one column after its opening quote.
                    a.col = a.col.map(|c| c + e.column);
                    errors.push(a.error(format!("formula: {}", e.message)));
                    continue;
                }
            };
            for name in formula.meters() {
                match meters.iter().find(|m| m.id == name) {
                    None => errors.push(at(v.formula.span()).error(format!(
                        "formula: unknown meter `{name}` (formulas combine real meters)"
                    ))),
                    Some(m) if category::top_level(m.category.code) != category::top_level(cat.code) => {
                        errors.push(at(v.formula.span()).error(format!(
                            "formula: meter `{name}` ({}) is not the same kind of energy as {} ({})",
                            m.category.code, id, cat.code
                        )))
                    }
                    Some(_) => {}
                }
            }
            virtual_meters.push(VirtualMeter {
                id,
                name: v.name.clone(),
                unit: v.unit.get_ref().clone(),
                category: cat,
                formula,
            });
        }

        if !(1..=400).contains(raw.ledger.max_gap_days.get_ref()) {
            errors.push(
                at(raw.ledger.max_gap_days.span()).error("max_gap_days must be between 1 and 400"),
            );
        }
        let coefficients = match &raw.coefficients {
            None => Coefficients::default(),
            Some(c) => {
                for problem in c.get_ref().validate() {
                    errors.push(at(c.span()).error(format!("coefficients: {problem}")));
                }
                c.get_ref().clone()
            }
        };

        // Calendar, quotas and the scorecard.
        let calendar = match &raw.calendar {
            None => Calendar::default(),
            Some(c) => {
                for problem in c.get_ref().validate() {
                    errors.push(at(c.span()).error(format!("calendar: {problem}")));
                }
                c.get_ref().clone()
            }
        };
        let scorecard = match &raw.rating {
            None => Scorecard::default(),
            Some(c) => {
                for problem in c.get_ref().validate() {
                    errors.push(at(c.span()).error(format!("rating: {problem}")));
                }
                c.get_ref().clone()
            }
        };
        let alerts = match &raw.alerts {
            None => AlertSettings::default(),
            Some(c) => {
                for problem in c.get_ref().validate() {
                    errors.push(at(c.span()).error(format!("alerts: {problem}")));
                }
                c.get_ref().clone()
            }
        };
        let notify = match &raw.notify {
            None => NotifyConfig::default(),
            Some(c) => {
                for problem in c.get_ref().validate() {
                    errors.push(at(c.span()).error(format!("notify: {problem}")));
                }
                c.get_ref().clone()
            }
        };
        let mut quotas = Vec::new();
        for q in &raw.quotas {
            if !unit_at.contains_key(q.unit.get_ref()) {
                errors
                    .push(at(q.unit.span()).error(format!("unknown unit `{}`", q.unit.get_ref())));
            }
            let cat = q.category.get_ref();
            if cat != "kgce" && category::category(cat).is_none() {
                errors.push(at(q.category.span()).error(format!(
                    "unknown category `{cat}`: a category code (01000, 02000 ...) or `kgce` for standard coal"
                )));
            }
            if *q.annual.get_ref() <= Decimal::ZERO {
                errors.push(at(q.annual.span()).error("annual must be greater than 0"));
            }
            let allocation = match (q.allocation.get_ref().as_str(), &q.shares) {
                ("equal", None) => Allocation::Equal,
                ("days", None) => Allocation::Days,
                ("last_year", None) => Allocation::LastYear,
                ("explicit", Some(shares))
                    if shares.get_ref().len() == 12
                        && shares.get_ref().iter().all(|s| *s >= Decimal::ZERO)
                        && shares.get_ref().iter().any(|s| *s > Decimal::ZERO) =>
                {
                    Allocation::Explicit(shares.get_ref().clone())
                }
                ("explicit", Some(shares)) => {
                    errors.push(
                        at(shares.span())
                            .error("shares: twelve numbers ≥ 0, January first, not all 0"),
                    );
                    Allocation::Days
                }
                ("explicit", None) => {
                    errors.push(at(q.allocation.span()).error(
                        "allocation = \"explicit\" needs `shares` (twelve numbers, January first)",
                    ));
                    Allocation::Days
                }
                (_, Some(shares)) => {
                    errors.push(
                        at(shares.span()).error("`shares` goes with allocation = \"explicit\""),
                    );
                    Allocation::Days
                }
                (other, None) => {
                    errors.push(at(q.allocation.span()).error(format!(
                        "allocation `{other}`: use equal, days, last_year or explicit"
                    )));
                    Allocation::Days
                }
            };
            quotas.push(Quota {
                unit: q.unit.get_ref().clone(),
                category: cat.clone(),
                basis: q.basis,
                annual: *q.annual.get_ref(),
                year: q.year,
                allocation,
            });
        }

        let (tariffs, tenants, billing) = billing_section(&raw, &meters, &at, &mut errors);

        if !errors.is_empty() {
            errors.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
            return Err(ConfigErrors(errors));
        }
        let data_dir = base.join(raw.site.data_dir.clone().unwrap_or_else(|| "data".into()));
        let influx = raw
            .influx
            .as_ref()
            .map(|i| i.build(base, &data_dir, &at, &mut errors));
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        Ok(Site {
            config_file: path.to_path_buf(),
            brokers,
            influx,
            payloads,
            name: raw.site.name,
            timezone,
            climate_zone: raw.site.climate_zone,
            data_dir,
            http_listen: raw.http.listen,
            http_public_overview: raw.http.public_overview,
            http_secure_cookies: raw.http.secure_cookies,
            telemetry_retention_days: raw.store.telemetry_retention_days,
            units,
            connections,
            meters,
            virtual_meters,
            coefficients,
            tariffs,
            tenants,
            billing,
            calendar,
            quotas,
            scorecard,
            alerts,
            notify,
            ledger: LedgerSettings {
                max_gap: chrono::Duration::days(i64::from(*raw.ledger.max_gap_days.get_ref())),
            },
            profiles,
        })
    }
}

fn has_cycle(units: &[Unit], start: &str) -> bool {
    let by_id: BTreeMap<&str, &Unit> = units.iter().map(|u| (u.id.as_str(), u)).collect();
    let mut current = by_id.get(start).and_then(|u| u.parent.as_deref());
    for _ in 0..=units.len() {
        match current {
            None => return false,
            Some(id) if id == start => return true,
            Some(id) => current = by_id.get(id).and_then(|u| u.parent.as_deref()),
        }
    }
    true
}

/// A meter as written (TOML table or CSV row), with the location of each field.
pub(crate) struct MeterDraft {
    pub id: (String, At),
    pub name: String,
    pub unit: (String, At),
    pub category: (String, At),
    pub profile: Option<(String, At)>,
    pub connection: Option<(String, At)>,
    pub slave_id: Option<(i64, At)>,
    pub multiplier: Option<(Decimal, At)>,
    pub live_interval_s: Option<(i64, At)>,
    pub energy_interval_min: Option<(i64, At)>,
    pub timeout_ms: Option<(i64, At)>,
    /// How MQTT topics and payloads name the meter, when not by its id.
    pub mqtt_name: Option<(String, At)>,
    /// The quantity read by hand (`water_m3`, `gas_m3`, ...), for meters without communication.
    pub read_by_hand: Option<(String, At)>,
    pub max_power: Option<(Decimal, At)>,
    pub parent_meter: Option<(String, At)>,
    /// (until as written, multiplier), each with where it was written.
    pub multiplier_history: Vec<((String, At), (Decimal, At))>,
}

impl MeterDraft {
    fn build(
        self,
        units: &HashMap<String, At>,
        connections: &[Connection],
        brokers: &[Broker],
        profiles: &ProfileLibrary,
        timezone: Tz,
    ) -> Result<Meter, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let (id, id_at) = self.id;
        if id.is_empty() || id.contains(char::is_whitespace) || id.contains('/') {
            errors.push(id_at.error(format!(
                "meter id `{id}` must be non-empty, without spaces or `/`"
            )));
        }
        if !units.contains_key(&self.unit.0) {
            errors.push(self.unit.1.error(format!("unknown unit `{}`", self.unit.0)));
        }
        let category = category::category(&self.category.0);
        if category.is_none() {
            errors.push(self.category.1.error(format!(
                "unknown category code `{}` (e.g. 01000 electricity, 01A00 lighting, 02000 water; see docs/configuration.md)",
                self.category.0
            )));
        }
        let multiplier = match self.multiplier {
            None => Decimal::ONE,
            Some((m, at)) if m <= Decimal::ZERO || m > Decimal::from(1_000_000) => {
                errors.push(at.error(format!(
                    "multiplier must be greater than 0 and at most 1000000, not {m}"
                )));
                Decimal::ONE
            }
            Some((m, _)) => m,
        };
        let mut multiplier_history: Vec<(DateTime<Utc>, Decimal)> = Vec::new();
        for ((until, until_at), (m, m_at)) in self.multiplier_history {
            if m <= Decimal::ZERO || m > Decimal::from(1_000_000) {
                errors.push(m_at.error(format!(
                    "multiplier must be greater than 0 and at most 1000000, not {m}"
                )));
            }
            match crate::energy::ledger::parse_time(&until, timezone) {
                Ok(t) if multiplier_history.last().is_some_and(|(prev, _)| *prev >= t) => {
                    errors.push(until_at.error(
                        "multiplier_history must be in time order, oldest first (each entry is the multiplier in effect until `until`)",
                    ))
                }
                Ok(t) => multiplier_history.push((t, m)),
                Err(e) => errors.push(until_at.error(format!("until: {e}"))),
            }
        }
        let max_power = match self.max_power {
            Some((p, at)) if p <= Decimal::ZERO => {
                errors.push(at.error(format!("max_power must be greater than 0, not {p}")));
                None
            }
            other => other.map(|(p, _)| p),
        };
        let live_interval_s = match self.live_interval_s {
            None => 30,
            Some((s, at)) if !(1..=86_400).contains(&s) => {
                errors.push(at.error("live_interval_s must be between 1 and 86400"));
                30
            }
            Some((s, _)) => s as u64,
        };
        let energy_interval_min = match self.energy_interval_min {
            None => 15,
            Some((m, at)) if !matches!(m, 1 | 5 | 15 | 30 | 60) => {
                errors.push(at.error(
                    "energy_interval_min must be 1, 5, 15, 30 or 60 (it must divide an hour)",
                ));
                15
            }
            Some((m, _)) => m as u32,
        };

        let broker = self
            .connection
            .as_ref()
            .and_then(|(c, _)| brokers.iter().find(|b| b.id == *c));
        if let Some((_, at)) = self.mqtt_name.as_ref().filter(|_| broker.is_none()) {
            errors.push(at.error("mqtt_name applies to meters on an MQTT connection"));
        }
        let source = match (self.read_by_hand, self.profile, self.connection) {
            (None, profile, Some((c, _))) if broker.is_some() => {
                if let Some((_, pat)) = profile {
                    errors.push(pat.error("meters on an MQTT connection have no `profile`: the subscription's `format` decodes them"));
                }
                let name = self.mqtt_name.map_or_else(|| id.clone(), |(n, _)| n);
                Some(MeterSource::Mqtt {
                    connection: c,
                    name,
                })
            }
            (Some((q, at)), profile, connection) => {
                if let Some((_, pat)) = profile.or(connection) {
                    errors.push(pat.error("a meter read by hand has no `profile` or `connection`"));
                }
                match crate::quantity::Quantity::parse(&q).filter(|q| q.is_cumulative()) {
                    Some(quantity) => Some(MeterSource::Manual { quantity }),
                    None => {
                        errors.push(at.error(format!(
                            "read_by_hand names the register read by hand, a cumulative quantity such as energy_import_kwh or water_m3; `{q}` is not one"
                        )));
                        None
                    }
                }
            }
            (None, Some((p, pat)), Some((c, cat))) => {
                let profile = profiles.get(&p);
                if profile.is_none() {
                    errors
                        .push(pat.error(format!("unknown profile `{p}`{}", profiles.suggest(&p))));
                }
                let connection = connections.iter().find(|x| x.id == c);
                if connection.is_none() {
                    errors.push(cat.error(format!("unknown connection `{c}`")));
                }
                let slave_id = match self.slave_id {
                    None => 1,
                    Some((s, at)) => {
                        let max = match connection.map(|c| &c.url) {
                            Some(ModbusUrl::Tcp { .. }) => 255,
                            _ => 247,
                        };
                        if !(1..=max).contains(&s) {
                            errors.push(at.error(format!("slave_id must be between 1 and {max}")));
                        }
                        s.clamp(0, 255) as u8
                    }
                };
                let timeout_ms = match self.timeout_ms {
                    None => None,
                    Some((t, at)) if !(10..=60_000).contains(&t) => {
                        errors.push(at.error("timeout_ms must be between 10 and 60000"));
                        None
                    }
                    Some((t, _)) => Some(t as u64),
                };
                profile.map(|profile| MeterSource::Modbus {
                    connection: c,
                    profile,
                    slave_id,
                    timeout_ms,
                })
            }
            (None, None, _) => {
                errors.push(id_at.error(format!(
                    "meter `{id}` needs a `profile` and a `connection`, or `read_by_hand`"
                )));
                None
            }
            (None, Some(_), None) => {
                errors.push(id_at.error(format!("meter `{id}` has a profile but no `connection`")));
                None
            }
        };

        match (errors.is_empty(), source, category) {
            (true, Some(source), Some(category)) => Ok(Meter {
                id,
                name: self.name,
                unit: self.unit.0,
                category,
                source,
                multiplier,
                multiplier_history,
                max_power,
                parent_meter: self.parent_meter.map(|(p, _)| p),
                live_interval: Duration::from_secs(live_interval_s),
                energy_interval_min,
            }),
            _ => Err(errors),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteFile {
    site: SiteSection,
    #[serde(default)]
    http: HttpSection,
    #[serde(default)]
    store: StoreSection,
    #[serde(default)]
    ledger: LedgerSection,
    #[serde(default)]
    units: Vec<UnitFile>,
    #[serde(default)]
    connections: Vec<ConnectionFile>,
    #[serde(default)]
    meters: Vec<MeterFile>,
    #[serde(default)]
    virtual_meters: Vec<VirtualMeterFile>,
    coefficients: Option<Spanned<Coefficients>>,
    calendar: Option<Spanned<Calendar>>,
    #[serde(default)]
    quotas: Vec<QuotaFile>,
    rating: Option<Spanned<Scorecard>>,
    alerts: Option<Spanned<AlertSettings>>,
    notify: Option<Spanned<NotifyConfig>>,
    influx: Option<InfluxFile>,
    #[serde(default)]
    tariffs: Vec<Spanned<Tariff>>,
    #[serde(default)]
    tenants: Vec<Spanned<Tenant>>,
    billing: Option<Spanned<BillingSettings>>,
}

/// `[[tariffs]]`, `[[tenants]]` and `[billing]`: each checked alone, then every reference.
fn billing_section(
    raw: &SiteFile,
    meters: &[Meter],
    at: &dyn Fn(std::ops::Range<usize>) -> At,
    errors: &mut Vec<ConfigError>,
) -> (Vec<Tariff>, Vec<Tenant>, BillingSettings) {
    let mut tariffs: Vec<Tariff> = Vec::new();
    for t in &raw.tariffs {
        let tariff = t.get_ref();
        for problem in tariff.validate() {
            errors.push(at(t.span()).error(format!("tariff `{}`: {problem}", tariff.id)));
        }
        if tariffs.iter().any(|o| o.id == tariff.id) {
            errors.push(at(t.span()).error(format!("duplicate tariff id `{}`", tariff.id)));
        }
        tariffs.push(tariff.clone());
    }
    let mut tenants: Vec<Tenant> = Vec::new();
    let mut billed_meters: HashMap<&str, &str> = HashMap::new();
    for t in &raw.tenants {
        let tenant = t.get_ref();
        let here = |msg: String| at(t.span()).error(format!("tenant `{}`: {msg}", tenant.id));
        for problem in tenant.validate() {
            errors.push(here(problem));
        }
        if tenants.iter().any(|o| o.id == tenant.id) {
            errors.push(at(t.span()).error(format!("duplicate tenant id `{}`", tenant.id)));
        }
        for tm in &tenant.meters {
            let Some(meter) = meters.iter().find(|m| m.id == tm.meter) else {
                errors.push(here(format!("unknown meter `{}`", tm.meter)));
                continue;
            };
            if let Some(other) = billed_meters.insert(meter.id.as_str(), tenant.id.as_str()) {
                errors.push(here(format!(
                    "meter `{}` is already billed to tenant `{other}`",
                    tm.meter
                )));
            }
            let Some(tariff) = tariffs.iter().find(|x| x.id == tm.tariff) else {
                errors.push(here(format!("unknown tariff `{}`", tm.tariff)));
                continue;
            };
            let electricity = crate::energy::category::top_level(meter.category.code) == "01000";
            if !electricity
                && tariff
                    .versions
                    .iter()
                    .any(|v| v.kind() == TariffKind::TimeOfUse)
            {
                errors.push(here(format!(
                    "meter `{}` is not an electricity meter: a time-of-use tariff prices kWh",
                    tm.meter
                )));
            }
        }
        tenants.push(tenant.clone());
    }
    let billing = match &raw.billing {
        None => BillingSettings::default(),
        Some(b) => {
            for problem in b.get_ref().validate() {
                errors.push(at(b.span()).error(format!("billing: {problem}")));
            }
            b.get_ref().clone()
        }
    };
    (tariffs, tenants, billing)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuotaFile {
    unit: Spanned<String>,
    category: Spanned<String>,
    #[serde(default = "absolute")]
    basis: Basis,
    annual: Spanned<Decimal>,
    year: Option<i32>,
    #[serde(default = "by_days")]
    allocation: Spanned<String>,
    shares: Option<Spanned<Vec<Decimal>>>,
}

fn absolute() -> Basis {
    Basis::Absolute
}

fn by_days() -> Spanned<String> {
    Spanned::new(0..0, "days".into())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteSection {
    name: String,
    #[serde(default = "default_tz")]
    timezone: Spanned<String>,
    climate_zone: Option<ClimateZone>,
    data_dir: Option<PathBuf>,
    #[serde(default)]
    profile_dirs: Vec<PathBuf>,
    #[serde(default)]
    meters_csv: Vec<Spanned<PathBuf>>,
    #[serde(default)]
    payload_dirs: Vec<PathBuf>,
}

fn default_tz() -> Spanned<String> {
    Spanned::new(0..0, "Asia/Shanghai".to_string())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpSection {
    #[serde(default = "default_listen")]
    listen: String,
    /// The overview page without signing in (a wall screen in the lobby); off by default.
    #[serde(default)]
    public_overview: bool,
    /// Session cookies only over HTTPS; turn off only when serving plain HTTP on a trusted
    /// network or localhost.
    #[serde(default = "yes")]
    secure_cookies: bool,
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
struct StoreSection {
    #[serde(default = "default_retention")]
    telemetry_retention_days: u32,
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
struct LedgerSection {
    #[serde(default = "default_max_gap_days_spanned")]
    max_gap_days: Spanned<u32>,
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

/// How the ledger treats gaps.
#[derive(Debug, Clone)]
pub struct LedgerSettings {
    /// Gaps between readings up to this long are bridged linearly (flagged interpolated);
    /// longer ones stay missing.
    pub max_gap: chrono::Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitFile {
    id: Spanned<String>,
    name: String,
    kind: UnitKind,
    parent: Option<Spanned<String>>,
    floor_area_m2: Option<Spanned<f64>>,
    occupants: Option<u32>,
    office_class: Option<OfficeClass>,
    annual_hours: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnectionFile {
    id: Spanned<String>,
    url: Spanned<String>,
    timeout_ms: Option<Spanned<u64>>,
    pause_ms: Option<u64>,
    connect_delay_ms: Option<u64>,
    tries: Option<Spanned<u32>>,
    // MQTT brokers (mqtt:// and mqtts:// URLs); see config/mqtt.rs.
    mqtt_version: Option<Spanned<String>>,
    client_id: Option<String>,
    username: Option<String>,
    password_env: Option<String>,
    password_file: Option<String>,
    ca_file: Option<PathBuf>,
    keep_alive_s: Option<u64>,
    clean_session: Option<bool>,
    #[serde(default)]
    subscriptions: Vec<super::mqtt::SubscriptionFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MeterFile {
    id: Spanned<String>,
    name: String,
    unit: Spanned<String>,
    category: Spanned<String>,
    profile: Option<Spanned<String>>,
    connection: Option<Spanned<String>>,
    slave_id: Option<Spanned<i64>>,
    multiplier: Option<Spanned<Decimal>>,
    live_interval_s: Option<Spanned<i64>>,
    energy_interval_min: Option<Spanned<i64>>,
    timeout_ms: Option<Spanned<i64>>,
    read_by_hand: Option<Spanned<String>>,
    mqtt_name: Option<Spanned<String>>,
    max_power: Option<Spanned<Decimal>>,
    parent_meter: Option<Spanned<String>>,
    #[serde(default)]
    multiplier_history: Vec<MultiplierChangeFile>,
}

/// An earlier multiplier and the instant it stopped applying.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MultiplierChangeFile {
    until: Spanned<String>,
    multiplier: Spanned<Decimal>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VirtualMeterFile {
    id: Spanned<String>,
    name: String,
    unit: Spanned<String>,
    category: Spanned<String>,
    formula: Spanned<String>,
}
