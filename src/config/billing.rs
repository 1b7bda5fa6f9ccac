//! The billing sections: `[[tariffs]]`, `[[tenants]]` and `[billing]`.

use std::collections::HashMap;

use super::error::{At, ConfigError};
use super::site_file::SiteFile;
use crate::billing::tariff::{Kind as TariffKind, Tariff};
use crate::billing::tenant::{BillingSettings, Tenant};
use crate::energy::category;
use crate::energy::category::ELECTRICITY;
use crate::site::Meter;

/// `[[tariffs]]`, `[[tenants]]` and `[billing]`: each checked alone, then every reference.
pub(super) fn billing_section(
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
            let electricity = category::top_level(meter.category.code) == ELECTRICITY;
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
