//! The scorecard as the site config sets it (`[rating]`): items with their breakpoints and
//! weights, grade thresholds, the reduction target and peer averages. Plain data and its
//! validation; scoring is in `rating`.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// What an item scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKey {
    /// Use against the month's quota allowance: used / allowance (the worst of the unit's quotas).
    Quota,
    /// Reduction against the same month last year minus the reduction target, in percentage
    /// points (0 = target met exactly).
    YearOnYear,
    /// Standard coal per m² over the last 12 months against the peer average (a ratio).
    IntensityArea,
    /// Standard coal per person over the last 12 months against the peer average (a ratio).
    IntensityPerson,
    /// Share of the month's meter-days measured (or read by hand, or corrected), per cent.
    Completeness,
    /// Share of the month's alerts acknowledged or resolved, per cent.
    Alarms,
    /// Points the committee entered for the month (0–100).
    Committee,
}

impl ItemKey {
    pub fn name_zh(self) -> &'static str {
        match self {
            ItemKey::Quota => "定额完成情况",
            ItemKey::YearOnYear => "同比节能率",
            ItemKey::IntensityArea => "单位建筑面积能耗",
            ItemKey::IntensityPerson => "人均综合能耗",
            ItemKey::Completeness => "数据完整率",
            ItemKey::Alarms => "告警处理率",
            ItemKey::Committee => "节能委员会评分",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            ItemKey::Quota => "Quota compliance",
            ItemKey::YearOnYear => "Reduction vs last year",
            ItemKey::IntensityArea => "Energy per m²",
            ItemKey::IntensityPerson => "Energy per person",
            ItemKey::Completeness => "Data completeness",
            ItemKey::Alarms => "Alarms handled",
            ItemKey::Committee => "Committee points",
        }
    }
}

/// One scorecard item: breakpoints `(input, score)` in ascending input; the score is linear
/// between them and flat outside. Two breakpoints at the same input make a step: at exactly
/// that input the first applies ("≤ 0.9 → 100, above → 85.7").
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub key: ItemKey,
    pub weight: Decimal,
    pub points: Vec<(Decimal, Decimal)>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Grade {
    /// The lowest score of the grade.
    pub min: Decimal,
    pub name: String,
}

/// `[rating]` in the site config.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scorecard {
    pub items: Vec<Item>,
    /// Highest first; a score below the last is `below`.
    pub grades: Vec<Grade>,
    pub below: String,
    /// The yearly reduction target against last year, per cent.
    pub reduction_target_percent: Decimal,
    /// Peer averages (a year) for the intensity items, with their source.
    pub peer_kgce_per_m2: Option<Decimal>,
    pub peer_kgce_per_person: Option<Decimal>,
    pub peer_source: String,
}

pub(crate) fn d(s: &str) -> Decimal {
    s.parse().unwrap_or_default()
}

fn pts(list: &[(&str, &str)]) -> Vec<(Decimal, Decimal)> {
    list.iter().map(|(x, y)| (d(x), d(y))).collect()
}

/// The 0.9/1.0/1.1/1.2 bands against the peer average (7/6/5/4/0 of 7 points), as 100 points.
pub(crate) fn peer_bands() -> Vec<(Decimal, Decimal)> {
    pts(&[
        ("0.9", "100"),
        ("0.9", "85.71"),
        ("1.0", "85.71"),
        ("1.0", "71.43"),
        ("1.1", "71.43"),
        ("1.1", "57.14"),
        ("1.2", "57.14"),
        ("1.2", "0"),
    ])
}

impl Default for Scorecard {
    fn default() -> Self {
        Scorecard {
            items: vec![
                Item {
                    key: ItemKey::Quota,
                    weight: d("30"),
                    points: pts(&[("0.9", "100"), ("1.0", "80"), ("1.1", "60"), ("1.2", "0")]),
                },
                Item {
                    key: ItemKey::YearOnYear,
                    weight: d("20"),
                    points: pts(&[("-10", "0"), ("-5", "60"), ("0", "100")]),
                },
                Item {
                    key: ItemKey::IntensityArea,
                    weight: d("15"),
                    points: peer_bands(),
                },
                Item {
                    key: ItemKey::IntensityPerson,
                    weight: d("15"),
                    points: peer_bands(),
                },
                Item {
                    key: ItemKey::Completeness,
                    weight: d("10"),
                    points: pts(&[("80", "0"), ("95", "60"), ("100", "100")]),
                },
                Item {
                    key: ItemKey::Alarms,
                    weight: d("5"),
                    points: pts(&[("0", "0"), ("100", "100")]),
                },
                Item {
                    key: ItemKey::Committee,
                    weight: d("5"),
                    points: pts(&[("0", "0"), ("100", "100")]),
                },
            ],
            grades: vec![
                Grade {
                    min: d("90"),
                    name: "优秀".into(),
                },
                Grade {
                    min: d("80"),
                    name: "良好".into(),
                },
                Grade {
                    min: d("60"),
                    name: "合格".into(),
                },
            ],
            below: "不合格".into(),
            reduction_target_percent: d("2"),
            // Guangdong 2021, universities (FIELD-NOTES): 4.77 kgce/m², 102.80 kgce/person.
            peer_kgce_per_m2: Some(d("4.77")),
            peer_kgce_per_person: Some(d("102.80")),
            peer_source: "广东省2021年高等院校平均值".into(),
        }
    }
}

impl Scorecard {
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.items.is_empty() {
            problems.push("the scorecard has no items".into());
        }
        for item in &self.items {
            let name = format!("{:?}", item.key).to_lowercase();
            if item.weight <= Decimal::ZERO {
                problems.push(format!("item {name}: weight must be greater than 0"));
            }
            if item.points.is_empty() {
                problems.push(format!("item {name}: needs at least one breakpoint"));
            }
            if item.points.windows(2).any(|w| w[1].0 < w[0].0) {
                problems.push(format!(
                    "item {name}: breakpoints must be in ascending input"
                ));
            }
            if item
                .points
                .iter()
                .any(|(_, s)| *s < Decimal::ZERO || *s > Decimal::ONE_HUNDRED)
            {
                problems.push(format!("item {name}: scores must be between 0 and 100"));
            }
        }
        if self.grades.windows(2).any(|w| w[1].min >= w[0].min) {
            problems.push("grades must go from the highest `min` down".into());
        }
        problems
    }
}
