//! Consumption above the single meter: virtual meters (formulas of meters), units up the
//! hierarchy by category, main-versus-sub-meter balance, and the indicators the energy
//! committee reports (综合能耗, 人均, 单位建筑面积). These are the rest of the ledger's
//! query API (`ledger.rs` has a meter's consumption); what rules, billing and reports make of
//! them lives with those, as functions of the ledger.
//!
//! A unit's consumption of a category counts each kilowatt-hour once: of the meters in the
//! unit's subtree with that category, a meter whose parent meter is also counted is left out
//! (the parent already measures it).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::category;
use super::category::{COOLING, ELECTRICITY, GAS, HEAT, WATER};
use super::intervals::Quality;
use super::ledger::{Ledger, Row, Step, register_quantity, round};
use crate::decimal::round_half_up;
use crate::site::{Meter, Unit, VirtualMeter};
use crate::store::StoreError;
use crate::time::local_midnight;

/// Whether `code` is `parent` or one of its sub-items (01A10 is within 01A00 and 01000).
pub fn within(code: &str, parent: &str) -> bool {
    let prefix = parent.trim_end_matches('0');
    let prefix = if prefix.len() < 2 {
        &parent[..2.min(parent.len())]
    } else {
        prefix
    };
    code.starts_with(prefix)
}

/// Units in the subtree of `unit_id`, itself included.
pub fn subtree<'a>(units: &'a [Unit], unit_id: &str) -> Vec<&'a Unit> {
    let mut out: Vec<&Unit> = units.iter().filter(|u| u.id == unit_id).collect();
    let mut i = 0;
    while i < out.len() {
        let id = out[i].id.clone();
        out.extend(
            units
                .iter()
                .filter(|u| u.parent.as_deref() == Some(id.as_str())),
        );
        i += 1;
    }
    out
}

/// The meters counted for a unit and category: in the subtree, of the category, and not
/// below another counted meter.
pub fn counted_meters<'a>(
    meters: &'a [Meter],
    units: &[Unit],
    unit_id: &str,
    category: &str,
) -> Vec<&'a Meter> {
    let ids: Vec<&str> = subtree(units, unit_id)
        .iter()
        .map(|u| u.id.as_str())
        .collect();
    let selected: Vec<&Meter> = meters
        .iter()
        .filter(|m| ids.contains(&m.unit.as_str()) && within(m.category.code, category))
        .collect();
    let is_selected = |id: &str| selected.iter().any(|m| m.id == id);
    selected
        .iter()
        .copied()
        .filter(|m| {
            let mut parent = m.parent_meter.as_deref();
            for _ in 0..meters.len() {
                match parent {
                    None => return true,
                    Some(p) if is_selected(p) => return false,
                    Some(p) => {
                        parent = meters
                            .iter()
                            .find(|x| x.id == p)
                            .and_then(|x| x.parent_meter.as_deref())
                    }
                }
            }
            true
        })
        .collect()
}

/// Adds `rows` × `coefficient` into `total` (same steps), keeping the worst quality.
fn accumulate(total: &mut Vec<Row>, rows: &[Row], coefficient: Decimal) {
    if total.is_empty() {
        *total = rows
            .iter()
            .map(|r| Row {
                consumption: Decimal::ZERO,
                quality: Quality::Measured,
                ..r.clone()
            })
            .collect();
    }
    for (t, r) in total.iter_mut().zip(rows) {
        t.consumption = t
            .consumption
            .saturating_add(r.consumption.saturating_mul(coefficient));
        t.quality = t.quality.max(r.quality);
    }
}

fn normalized(mut rows: Vec<Row>) -> Vec<Row> {
    for r in &mut rows {
        r.consumption = round(r.consumption);
    }
    rows
}

/// One category's total over a period, with its standard coal and CO₂.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryTotal {
    pub category: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    pub consumption: Decimal,
    /// kWh, m³ or GJ.
    pub unit_of_measure: &'static str,
    pub kgce: Decimal,
    pub co2_kg: Decimal,
    pub quality: Quality,
    pub meters: Vec<String>,
}

/// The committee's indicators for a unit over a period.
#[derive(Debug, Clone, Serialize)]
pub struct Indicators {
    pub unit: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub occupants: Option<u32>,
    pub floor_area_m2: Option<f64>,
    pub categories: Vec<CategoryTotal>,
    /// 综合能耗 (kgce)
    pub total_kgce: Decimal,
    pub total_co2_kg: Decimal,
    /// 人均综合能耗 (kgce/person)
    pub kgce_per_person: Option<Decimal>,
    /// 单位建筑面积能耗 (kgce/m²)
    pub kgce_per_m2: Option<Decimal>,
    /// 人均用水量 (m³/person)
    pub water_m3_per_person: Option<Decimal>,
    pub co2_source: String,
    pub co2_year: u16,
}

/// Main-versus-sub-meter balance of one meter with sub-meters.
#[derive(Debug, Clone, Serialize)]
pub struct Balance {
    pub meter: String,
    pub consumption: Decimal,
    pub sub_meters: Vec<String>,
    pub sub_total: Decimal,
    /// Main minus the sub-meters: public areas and losses (negative points at a metering fault).
    pub difference: Decimal,
    /// The difference as a share of the main meter, in per cent.
    pub difference_percent: Option<Decimal>,
    pub quality: Quality,
}

impl Ledger<'_> {
    /// The step that covers [from, to) exactly: days when both are local midnights (stored
    /// days make that fast), else 15-minute intervals.
    fn whole_step(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Step {
        let tz = self.site.timezone;
        let midnight = |t: DateTime<Utc>| {
            crate::time::local_midnight(t.with_timezone(&tz).date_naive(), tz) == Some(t)
        };
        if midnight(from) && midnight(to) {
            Step::Day
        } else {
            Step::Quarter
        }
    }

    /// A virtual meter's consumption: its formula applied step by step.
    pub fn virtual_meter(
        &self,
        v: &VirtualMeter,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        step: Step,
    ) -> Result<Vec<Row>, StoreError> {
        let mut total = Vec::new();
        for term in &v.formula.terms {
            let Some(meter) = self.site.meter(&term.meter) else {
                continue;
            };
            let rows = self.meter_exact(meter, register_quantity(meter), from, to, step)?;
            accumulate(&mut total, &rows, term.coefficient);
        }
        Ok(normalized(total))
    }

    /// A unit's consumption of a category (its subtree, each meter counted once).
    pub fn unit(
        &self,
        unit_id: &str,
        category: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        step: Step,
    ) -> Result<Vec<Row>, StoreError> {
        Ok(normalized(
            self.unit_exact(unit_id, category, from, to, step)?,
        ))
    }

    /// As [`Ledger::unit`] (and, for `kgce`, [`Ledger::unit_kgce`]), unrounded: for sums.
    pub(crate) fn unit_exact(
        &self,
        unit_id: &str,
        category: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        step: Step,
    ) -> Result<Vec<Row>, StoreError> {
        if category == "kgce" {
            return self.unit_kgce_exact(unit_id, from, to, step);
        }
        let mut total = Vec::new();
        for meter in counted_meters(&self.site.meters, &self.site.units, unit_id, category) {
            let rows = self.meter_exact(meter, register_quantity(meter), from, to, step)?;
            accumulate(&mut total, &rows, Decimal::ONE);
        }
        if total.is_empty() {
            total = empty_rows(self, from, to, step);
        }
        Ok(total)
    }

    /// A unit's total standard coal (kgce) per step, over every energy category.
    pub fn unit_kgce(
        &self,
        unit_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        step: Step,
    ) -> Result<Vec<Row>, StoreError> {
        Ok(normalized(self.unit_kgce_exact(unit_id, from, to, step)?))
    }

    fn unit_kgce_exact(
        &self,
        unit_id: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        step: Step,
    ) -> Result<Vec<Row>, StoreError> {
        let mut total = Vec::new();
        for top in [ELECTRICITY, GAS, HEAT] {
            if counted_meters(&self.site.meters, &self.site.units, unit_id, top).is_empty() {
                continue;
            }
            let rows = self.unit_exact(unit_id, top, from, to, step)?;
            let factor = self.site.coefficients.equivalent(top, Decimal::ONE).kgce;
            accumulate(&mut total, &rows, factor);
        }
        if total.is_empty() {
            total = empty_rows(self, from, to, step);
        }
        Ok(total)
    }

    /// A unit's daily consumption of `category` (a code or `kgce`) for local days [from, to),
    /// unrounded (for sums).
    pub fn unit_days(
        &self,
        unit: &str,
        category: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<(NaiveDate, Decimal)>, StoreError> {
        let tz = self.site.timezone;
        let (Some(a), Some(b)) = (local_midnight(from, tz), local_midnight(to, tz)) else {
            return Ok(vec![]);
        };
        let rows = self.unit_exact(unit, category, a, b, Step::Day)?;
        Ok(rows
            .into_iter()
            .map(|r| (r.start.with_timezone(&tz).date_naive(), r.consumption))
            .collect())
    }

    /// Consumption of `category` by `unit` over [from, to) (any instants), unrounded (for
    /// sums).
    pub fn unit_total(
        &self,
        unit: &str,
        category: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Decimal, StoreError> {
        if to <= from {
            return Ok(Decimal::ZERO);
        }
        // Whole local days from the stored days; only the partial days at either end are
        // computed from 15-minute intervals.
        let tz = self.site.timezone;
        let day_of = |t: DateTime<Utc>| t.with_timezone(&tz).date_naive();
        let first = local_midnight(day_of(from), tz)
            .filter(|m| *m >= from)
            .or_else(|| local_midnight(day_of(from) + Duration::days(1), tz));
        let last = local_midnight(day_of(to), tz).filter(|m| *m <= to);
        let sum = |a: DateTime<Utc>, b: DateTime<Utc>, step| -> Result<Decimal, StoreError> {
            if b <= a {
                return Ok(Decimal::ZERO);
            }
            let rows = self.unit_exact(unit, category, a, b, step)?;
            Ok(rows.iter().map(|r| r.consumption).sum())
        };
        match (first, last) {
            (Some(a), Some(b)) if a < b => Ok(sum(from, a, Step::Quarter)?
                + sum(a, b, Step::Day)?
                + sum(b, to, Step::Quarter)?),
            _ => sum(from, to, Step::Quarter),
        }
    }

    /// The committee's indicators for a unit over [from, to).
    pub fn indicators(
        &self,
        unit: &Unit,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Indicators, StoreError> {
        let coefficients = &self.site.coefficients;
        let mut categories = Vec::new();
        for top in [ELECTRICITY, WATER, GAS, HEAT, COOLING] {
            let meters = counted_meters(&self.site.meters, &self.site.units, &unit.id, top);
            if meters.is_empty() {
                continue;
            }
            let rows = self.unit_exact(&unit.id, top, from, to, self.whole_step(from, to))?;
            let consumption: Decimal = rows.iter().map(|r| r.consumption).sum();
            let quality = rows
                .iter()
                .map(|r| r.quality)
                .max()
                .unwrap_or(Quality::Missing);
            let eq = coefficients.equivalent(top, consumption);
            let c = category::category(top).expect("top-level categories exist");
            categories.push(CategoryTotal {
                category: c.code,
                name_zh: c.name_zh,
                name_en: c.name_en,
                consumption: round(consumption),
                unit_of_measure: register_quantity(meters[0]).unit(),
                kgce: round_half_up(eq.kgce, 3).normalize(),
                co2_kg: round_half_up(eq.co2_kg, 3).normalize(),
                quality,
                meters: meters.iter().map(|m| m.id.clone()).collect(),
            });
        }
        let total_kgce: Decimal = categories.iter().map(|c| c.kgce).sum();
        let total_co2_kg: Decimal = categories.iter().map(|c| c.co2_kg).sum();
        let water: Option<Decimal> = categories
            .iter()
            .find(|c| c.category == WATER)
            .map(|c| c.consumption);
        let per = |x: Decimal, d: Option<Decimal>| {
            d.filter(|d| !d.is_zero())
                .map(|d| round_half_up(x / d, 3).normalize())
        };
        let people = unit.occupants.map(Decimal::from);
        let area = unit.floor_area_m2.and_then(Decimal::from_f64_retain);
        Ok(Indicators {
            unit: unit.id.clone(),
            from,
            to,
            occupants: unit.occupants,
            floor_area_m2: unit.floor_area_m2,
            kgce_per_person: per(total_kgce, people),
            kgce_per_m2: per(total_kgce, area),
            water_m3_per_person: water.and_then(|w| per(w, people)),
            categories,
            total_kgce,
            total_co2_kg,
            co2_source: coefficients.co2_source.clone(),
            co2_year: coefficients.co2_year,
        })
    }

    /// The balance of every meter that has sub-meters, over [from, to).
    pub fn balances(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Balance>, StoreError> {
        let total = |m: &Meter| -> Result<(Decimal, Quality), StoreError> {
            let rows =
                self.meter_exact(m, register_quantity(m), from, to, self.whole_step(from, to))?;
            Ok((
                rows.iter().map(|r| r.consumption).sum(),
                rows.iter()
                    .map(|r| r.quality)
                    .max()
                    .unwrap_or(Quality::Missing),
            ))
        };
        let mut out = Vec::new();
        for main in &self.site.meters {
            let subs: Vec<&Meter> = self
                .site
                .meters
                .iter()
                .filter(|m| m.parent_meter.as_deref() == Some(main.id.as_str()))
                .collect();
            if subs.is_empty() {
                continue;
            }
            let (consumption, mut quality) = total(main)?;
            let mut sub_total = Decimal::ZERO;
            for s in &subs {
                let (c, q) = total(s)?;
                sub_total += c;
                quality = quality.max(q);
            }
            let difference = consumption - sub_total;
            out.push(Balance {
                meter: main.id.clone(),
                consumption: round(consumption),
                sub_meters: subs.iter().map(|m| m.id.clone()).collect(),
                sub_total: round(sub_total),
                difference: round(difference),
                difference_percent: (!consumption.is_zero())
                    .then(|| round_half_up(difference * Decimal::ONE_HUNDRED / consumption, 2)),
                quality,
            });
        }
        Ok(out)
    }
}

/// Zero rows for a unit without meters of the category, flagged missing.
fn empty_rows(ledger: &Ledger<'_>, from: DateTime<Utc>, to: DateTime<Utc>, step: Step) -> Vec<Row> {
    super::ledger::boundaries(from, to, step, ledger.timezone())
        .windows(2)
        .map(|w| Row {
            start: w[0],
            end: w[1],
            consumption: Decimal::ZERO,
            quality: Quality::Missing,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_codes_nest() {
        assert!(within("01A10", "01000"));
        assert!(within("01A10", "01A00"));
        assert!(within("01A10", "01A10"));
        assert!(!within("01B00", "01A00"));
        assert!(!within("02000", "01000"));
        assert!(within("03A00", "03000"));
    }
}
