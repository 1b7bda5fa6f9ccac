//! The site config file (`jieneng.toml`) into the site model: the site, its unit hierarchy,
//! Modbus connections and MQTT brokers, meters (inline or from CSV inventories), and the rules'
//! and billing sections. [`Site::load`] returns a validated model or every problem found, each
//! as `FILE:LINE:COL: message`, in the order of the file.

use std::path::{Path, PathBuf};

use chrono_tz::Tz;

use super::billing::billing_section;
use super::error::{At, ConfigError, ConfigErrors, Source, line_col};
use super::payload::PayloadLibrary;
use super::profile::{ProfileLibrary, io_error};
use super::site_file::SiteFile;
use super::{connections, meters, rules, units};
use crate::site::{LedgerSettings, Site};

impl Site {
    /// Reads and validates the site config file at `path`.
    pub fn load(path: &Path) -> Result<Site, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| io_error(path, &e))?;
        Self::from_str(path, &text)
    }

    /// Validates the site config `text`, read from `path` (relative paths in it are relative
    /// to `path`'s directory).
    pub fn from_str(path: &Path, text: &str) -> Result<Site, ConfigErrors> {
        let src = Source { file: path, text };
        let raw: SiteFile = src.parse()?;
        let base = path.parent().unwrap_or(Path::new("."));
        let at = |span: std::ops::Range<usize>| {
            let (line, col) = line_col(text, span.start);
            At {
                file: path.to_path_buf(),
                line,
                col: Some(col),
            }
        };
        let mut errors = Vec::new();

        let timezone = timezone(&raw, &at, &mut errors);
        let profile_dirs: Vec<PathBuf> =
            raw.site.profile_dirs.iter().map(|d| base.join(d)).collect();
        let profiles = match ProfileLibrary::load(&profile_dirs) {
            Ok(lib) => lib,
            Err(e) => {
                errors.extend(e.0);
                ProfileLibrary::builtin()
            }
        };
        let (units, unit_at) = units::units(&raw.units, &at, &mut errors);
        let payload_dirs: Vec<PathBuf> =
            raw.site.payload_dirs.iter().map(|d| base.join(d)).collect();
        let payloads = match PayloadLibrary::load(&payload_dirs) {
            Ok(lib) => lib,
            Err(e) => {
                errors.extend(e.0);
                PayloadLibrary::builtin()
            }
        };
        let (connections, brokers) = connections::connections(
            &raw.connections,
            &raw.site.name,
            &payloads,
            base,
            &at,
            &mut errors,
        );
        let drafts = meters::drafts(&raw.meters, &raw.site.meters_csv, base, &at, &mut errors);
        let (meters, meter_ids) = meters::meters(
            drafts,
            &unit_at,
            &connections,
            &brokers,
            &profiles,
            timezone,
            &mut errors,
        );
        let virtual_meters = meters::virtual_meters(
            &raw.virtual_meters,
            &meters,
            &meter_ids,
            &unit_at,
            &at,
            &mut errors,
        );

        let max_gap_days = &raw.ledger.max_gap_days;
        let ledger =
            LedgerSettings::with_max_gap_days(*max_gap_days.get_ref()).unwrap_or_else(|e| {
                errors.push(at(max_gap_days.span()).error(e));
                LedgerSettings::default()
            });
        let coefficients = rules::section(
            &raw.coefficients,
            "coefficients",
            |c| c.validate(),
            &at,
            &mut errors,
        );
        let calendar = rules::section(
            &raw.calendar,
            "calendar",
            |c| c.validate(),
            &at,
            &mut errors,
        );
        let scorecard = rules::section(&raw.rating, "rating", |c| c.validate(), &at, &mut errors);
        let alerts = rules::section(&raw.alerts, "alerts", |c| c.validate(), &at, &mut errors);
        let notify = rules::section(&raw.notify, "notify", |c| c.validate(), &at, &mut errors);
        let quotas = rules::quotas(&raw.quotas, &unit_at, &at, &mut errors);
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
            ledger,
            profiles,
        })
    }
}

/// `[site] timezone`: an IANA name; Asia/Shanghai when absent (or wrong, after the error).
fn timezone(
    raw: &SiteFile,
    at: &dyn Fn(std::ops::Range<usize>) -> At,
    errors: &mut Vec<ConfigError>,
) -> Tz {
    match raw.site.timezone.get_ref().parse::<Tz>() {
        Ok(tz) => tz,
        Err(_) => {
            errors.push(at(raw.site.timezone.span()).error(format!(
                "unknown time zone `{}` (an IANA name such as Asia/Shanghai)",
                raw.site.timezone.get_ref()
            )));
            chrono_tz::Asia::Shanghai
        }
    }
}
