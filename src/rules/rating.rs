//! Monthly ratings (考核评价): a scorecard of items, each a piecewise-linear function of an
//! input with a weight, summed to a 100-point score and a grade. Every score shows its input,
//! the item's score and weight, so the committee sees why a unit got its grade.
//!
//! Items without an input this month (no quota, no area, no data last year ...) are left out
//! and the other weights scaled up to 100; the item says why it was left out.

use chrono::{DateTime, Months, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

pub use super::rating_settings::{Grade, Item, ItemKey, Scorecard};
use crate::decimal::{cents, round_half_up};
use crate::energy::category::{COOLING, ELECTRICITY, GAS, HEAT, WATER};
use crate::energy::intervals::Quality;
use crate::energy::ledger::Ledger;
use crate::rules::quota::quota_month;
use crate::site::Site;
use crate::site::UnitKind;
use crate::store::StoreError;
use crate::time::{Month, local_midnight};

/// The score of `x` on breakpoints `points` (see [`Item`]).
pub fn score(points: &[(Decimal, Decimal)], x: Decimal) -> Decimal {
    let Some(&(first_x, first_s)) = points.first() else {
        return Decimal::ZERO;
    };
    if x <= first_x {
        return first_s;
    }
    match points.iter().position(|(px, _)| *px >= x) {
        None => points.last().map_or(Decimal::ZERO, |p| p.1),
        Some(i) if points[i].0 == x => points[i].1,
        Some(i) => {
            let (x0, s0) = points[i - 1];
            let (x1, s1) = points[i];
            s0 + (s1 - s0) * (x - x0) / (x1 - x0)
        }
    }
}

/// The grade of a score.
pub fn grade(card: &Scorecard, score: Decimal) -> String {
    card.grades
        .iter()
        .find(|g| score >= g.min)
        .map_or_else(|| card.below.clone(), |g| g.name.clone())
}

/// One item of a unit's rating.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemScore {
    pub key: ItemKey,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    /// What was scored (a ratio, percentage points or per cent; see the key).
    pub input: Option<Decimal>,
    pub score: Option<Decimal>,
    /// The configured weight.
    pub weight: Decimal,
    /// Share of the total this item carried (weights of scored items scaled to 100).
    pub effective_weight: Option<Decimal>,
    /// score × effective weight / 100.
    pub points: Option<Decimal>,
    /// How the input was obtained, or why there is none.
    pub explanation: String,
    /// The same in English.
    pub explanation_en: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitRating {
    pub unit: String,
    pub unit_name: String,
    pub month: String,
    pub score: Decimal,
    pub grade: String,
    pub rank: usize,
    pub items: Vec<ItemScore>,
}

/// Inputs of one unit's rating, each with how it was obtained (or why it is missing).
pub type Inputs = Vec<(ItemKey, Result<Decimal, String>, Why)>;

/// How an input was obtained, in Chinese and in English.
pub type Why = (String, String);

/// Scores a unit from its inputs (pure).
pub fn rate(card: &Scorecard, inputs: &Inputs) -> (Decimal, Vec<ItemScore>) {
    let input_of = |k: ItemKey| inputs.iter().find(|(key, _, _)| *key == k);
    let scored_weight: Decimal = card
        .items
        .iter()
        .filter(|i| matches!(input_of(i.key), Some((_, Ok(_), _))))
        .map(|i| i.weight)
        .sum();
    let mut total = Decimal::ZERO;
    let items = card
        .items
        .iter()
        .map(|item| {
            let found = input_of(item.key);
            // Reasons for a missing input already carry both languages.
            let (input, (explanation, explanation_en)) = match found {
                Some((_, Ok(x), how)) => (Some(*x), how.clone()),
                Some((_, Err(why), _)) => (None, (why.clone(), why.clone())),
                None => (None, ("no input".to_string(), "no input".to_string())),
            };
            let s = input.map(|x| cents(score(&item.points, x)));
            let effective = (s.is_some() && scored_weight > Decimal::ZERO)
                .then(|| cents(item.weight * Decimal::ONE_HUNDRED / scored_weight));
            let points = s
                .zip(effective)
                .map(|(s, _)| cents(s * item.weight / scored_weight));
            total += points.unwrap_or_default();
            ItemScore {
                key: item.key,
                name_zh: item.key.name_zh(),
                name_en: item.key.name_en(),
                input: input.map(|x| round_half_up(x, 4).normalize()),
                score: s.map(|s| s.normalize()),
                weight: item.weight,
                effective_weight: effective.map(|w| w.normalize()),
                points: points.map(|p| p.normalize()),
                explanation,
                explanation_en,
            }
        })
        .collect();
    (total.min(Decimal::ONE_HUNDRED).normalize(), items)
}

/// What the ledger and the records say about a unit's month, besides the consumption.
#[derive(Debug, Clone, Default)]
pub struct Records {
    /// (alerts raised in the month, of them acknowledged or resolved), per unit or meter subject.
    pub alerts: Option<(u32, u32)>,
    /// Committee points for the unit and month, with the note.
    pub committee: Option<(Decimal, String)>,
}

/// Every unit's rating for a month (all units but the organisation), ranked, by the
/// site's scorecard, quotas and calendar.
pub fn ratings(
    ledger: &Ledger<'_>,
    site: &Site,
    month: Month,
    now: DateTime<Utc>,
    records: &dyn Fn(&str) -> Records,
) -> Result<Vec<UnitRating>, StoreError> {
    let card = &site.scorecard;
    let mut out = Vec::new();
    for unit in site
        .units
        .iter()
        .filter(|u| u.kind != UnitKind::Organisation)
    {
        let inputs = rating_inputs(ledger, site, &unit.id, month, now, &records(&unit.id))?;
        let (score, items) = rate(card, &inputs);
        out.push(UnitRating {
            unit: unit.id.clone(),
            unit_name: unit.name.clone(),
            month: month.to_string(),
            grade: grade(card, score),
            score,
            rank: 0,
            items,
        });
    }
    out.sort_by(|a, b| b.score.cmp(&a.score).then(a.unit.cmp(&b.unit)));
    for (i, r) in out.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    Ok(out)
}

fn rating_inputs(
    ledger: &Ledger<'_>,
    site: &Site,
    unit_id: &str,
    month: Month,
    now: DateTime<Utc>,
    records: &Records,
) -> Result<Inputs, StoreError> {
    let (card, quotas) = (&site.scorecard, &site.quotas);
    let tz = ledger.timezone();
    let (year, first, next) = (month.year(), month.first_day(), month.next().first_day());
    let bounds = |a: NaiveDate, b: NaiveDate| local_midnight(a, tz).zip(local_midnight(b, tz));
    let Some((start, end)) = bounds(first, next) else {
        return Ok(vec![]);
    };
    let unit = site.unit(unit_id);
    let mut inputs: Inputs = Vec::new();
    let pct = |x: Decimal| round_half_up(x, 2).normalize();

    // Quota: the worst of the unit's quotas for the month.
    let mut worst: Option<(Decimal, Why)> = None;
    for q in quotas
        .iter()
        .filter(|q| q.unit == unit_id && q.year.is_none_or(|y| y == year))
    {
        let m = quota_month(ledger, site, q, month, now)?;
        if m.allocation > Decimal::ZERO {
            let ratio = m.used / m.allocation;
            if worst.as_ref().is_none_or(|(w, _)| ratio > *w) {
                worst = Some((
                    ratio,
                    (
                        format!(
                            "{} 用量 {} / 定额 {} ({})",
                            q.category, m.used, m.allocation, m.month
                        ),
                        format!(
                            "{} used {} / quota {} ({})",
                            q.category, m.used, m.allocation, m.month
                        ),
                    ),
                ));
            }
        }
    }
    inputs.push(match worst {
        Some((r, how)) => (ItemKey::Quota, Ok(r), how),
        None => (
            ItemKey::Quota,
            Err("未设定额 (no quota)".into()),
            Why::default(),
        ),
    });

    // Year on year, in standard coal.
    let this = ledger.unit_total(unit_id, "kgce", start, end)?;
    let (ly_start, ly_end) =
        bounds(first - Months::new(12), next - Months::new(12)).unwrap_or((start, end));
    let last = ledger.unit_total(unit_id, "kgce", ly_start, ly_end)?;
    inputs.push(if last > Decimal::ZERO {
        let reduction = (last - this) * Decimal::ONE_HUNDRED / last;
        (
            ItemKey::YearOnYear,
            Ok(reduction - card.reduction_target_percent),
            (
                format!(
                    "本月 {} kgce, 去年同月 {} kgce, 节能率 {}%, 目标 {}%",
                    pct(this),
                    pct(last),
                    pct(reduction),
                    card.reduction_target_percent
                ),
                format!(
                    "this month {} kgce, same month last year {} kgce, saving {}%, target {}%",
                    pct(this),
                    pct(last),
                    pct(reduction),
                    card.reduction_target_percent
                ),
            ),
        )
    } else {
        (
            ItemKey::YearOnYear,
            Err("去年同月无数据 (no data for the same month last year)".into()),
            Why::default(),
        )
    });

    // Intensity over the last 12 months against the peer average.
    let (y_start, _) = bounds(next - Months::new(12), next).unwrap_or((start, end));
    let year_kgce = ledger.unit_total(unit_id, "kgce", y_start, end)?;
    for (key, divisor, peer, (what, what_en)) in [
        (
            ItemKey::IntensityArea,
            unit.and_then(|u| u.floor_area_m2)
                .and_then(Decimal::from_f64_retain),
            card.peer_kgce_per_m2,
            ("kgce/m²", "kgce/m²"),
        ),
        (
            ItemKey::IntensityPerson,
            unit.and_then(|u| u.occupants).map(Decimal::from),
            card.peer_kgce_per_person,
            ("kgce/人", "kgce/person"),
        ),
    ] {
        inputs.push(match (divisor.filter(|d| *d > Decimal::ZERO), peer) {
            (Some(div), Some(peer)) if peer > Decimal::ZERO && year_kgce > Decimal::ZERO => {
                let intensity = year_kgce / div;
                (
                    key,
                    Ok(intensity / peer),
                    (
                        format!(
                            "近12个月 {} {what}, 对标 {peer} {what} ({})",
                            pct(intensity),
                            card.peer_source
                        ),
                        format!(
                            "last 12 months {} {what_en}, peer average {peer} {what_en} ({})",
                            pct(intensity),
                            card.peer_source
                        ),
                    ),
                )
            }
            (None, _) => (
                key,
                Err("未配置面积或人数 (no floor area or occupants)".into()),
                Why::default(),
            ),
            (_, None) => (
                key,
                Err("未配置对标值 (no peer average)".into()),
                Why::default(),
            ),
            _ => (
                key,
                Err("无能耗数据 (no consumption data)".into()),
                Why::default(),
            ),
        });
    }

    // Completeness: meter-days of good quality.
    let meters: Vec<_> = [ELECTRICITY, WATER, GAS, HEAT, COOLING]
        .iter()
        .flat_map(|c| {
            crate::energy::aggregate::counted_meters(&site.meters, &site.units, unit_id, c)
        })
        .collect();
    let mut good = 0u32;
    let mut all = 0u32;
    for m in &meters {
        let rows = ledger.meter(
            m,
            crate::energy::ledger::register_quantity(m),
            start,
            end,
            crate::energy::ledger::Step::Day,
        )?;
        all += rows.len() as u32;
        good += rows
            .iter()
            .filter(|r| {
                matches!(
                    r.quality,
                    Quality::Measured | Quality::Manual | Quality::Corrected
                )
            })
            .count() as u32;
    }
    inputs.push(if all > 0 {
        (
            ItemKey::Completeness,
            Ok(Decimal::from(good) * Decimal::ONE_HUNDRED / Decimal::from(all)),
            (
                format!("{good}/{all} 表·日数据完整"),
                format!("{good}/{all} meter-days complete"),
            ),
        )
    } else {
        (
            ItemKey::Completeness,
            Err("无计量表 (no meters)".into()),
            Why::default(),
        )
    });

    inputs.push(match records.alerts {
        Some((0, _)) => (
            ItemKey::Alarms,
            Ok(Decimal::ONE_HUNDRED),
            ("本月无告警".into(), "no alerts this month".into()),
        ),
        Some((n, handled)) => (
            ItemKey::Alarms,
            Ok(Decimal::from(handled) * Decimal::ONE_HUNDRED / Decimal::from(n)),
            (
                format!("{handled}/{n} 条告警已确认或处理"),
                format!("{handled}/{n} alerts acknowledged or resolved"),
            ),
        ),
        None => (
            ItemKey::Alarms,
            Err("无告警记录 (no alert records)".into()),
            Why::default(),
        ),
    });
    inputs.push(match &records.committee {
        Some((p, note)) => (ItemKey::Committee, Ok(*p), (note.clone(), note.clone())),
        None => (
            ItemKey::Committee,
            Err("委员会未评分 (not entered)".into()),
            Why::default(),
        ),
    });
    Ok(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::rating_settings::{d, peer_bands};

    #[test]
    fn scores_are_linear_between_breakpoints_and_step_where_two_share_an_input() {
        let card = Scorecard::default();
        let quota = &card.items[0].points;
        assert_eq!(score(quota, d("0.5")), d("100"));
        assert_eq!(score(quota, d("0.9")), d("100"));
        assert_eq!(score(quota, d("0.95")), d("90"));
        assert_eq!(score(quota, d("1.0")), d("80"));
        assert_eq!(score(quota, d("1.15")), d("30"));
        assert_eq!(score(quota, d("1.2")), d("0"));
        assert_eq!(score(quota, d("3")), d("0"));
        let bands = peer_bands();
        assert_eq!(score(&bands, d("0.9")), d("100"));
        assert_eq!(score(&bands, d("0.9001")), d("85.71"));
        assert_eq!(score(&bands, d("1.0")), d("85.71"));
        assert_eq!(score(&bands, d("1.05")), d("71.43"));
        assert_eq!(score(&bands, d("1.2")), d("57.14"));
        assert_eq!(score(&bands, d("1.2001")), d("0"));
        let yoy = &card.items[1].points;
        assert_eq!(score(yoy, d("-7.5")), d("30"));
        assert_eq!(score(yoy, d("2")), d("100"));
    }

    #[test]
    fn grade_boundaries() {
        let card = Scorecard::default();
        assert_eq!(grade(&card, d("89.99")), "良好");
        assert_eq!(grade(&card, d("90.00")), "优秀");
        assert_eq!(grade(&card, d("80")), "良好");
        assert_eq!(grade(&card, d("79.99")), "合格");
        assert_eq!(grade(&card, d("60")), "合格");
        assert_eq!(grade(&card, d("59.99")), "不合格");
        assert!(card.validate().is_empty());
    }

    #[test]
    fn missing_inputs_are_left_out_and_the_weights_scaled() {
        let card = Scorecard::default();
        let inputs: Inputs = vec![
            (
                ItemKey::Quota,
                Ok(d("1.0")),
                ("定额".into(), "quota".into()),
            ),
            (ItemKey::YearOnYear, Err("no data".into()), Why::default()),
            (
                ItemKey::Completeness,
                Ok(d("100")),
                ("完整".into(), "complete".into()),
            ),
        ];
        let (total, items) = rate(&card, &inputs);
        // Quota 80 × 30/40 + completeness 100 × 10/40 = 60 + 25.
        assert_eq!(total, d("85"));
        assert_eq!(items[0].effective_weight, Some(d("75")));
        assert_eq!(items[1].score, None);
        assert_eq!(items[0].explanation_en, "quota");
        assert_eq!(items[1].explanation, "no data");
        assert_eq!(items[6].explanation, "no input");
    }
}
