//! Tariffs: flat, time-of-use (尖峰/峰/平/谷 by time of day, by season, with a holiday
//! schedule) and tiered (monthly or annual tiers), with a sewage fee for water and a management
//! fee per unit. Prices change by effective-dated versions, each from a local date on. Pure.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A time-of-use period. Meters' TOU registers 1..4 are 尖/峰/平/谷 in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TouPeriod {
    Sharp,
    Peak,
    Flat,
    Valley,
}

impl TouPeriod {
    pub const ALL: [TouPeriod; 4] = [
        TouPeriod::Sharp,
        TouPeriod::Peak,
        TouPeriod::Flat,
        TouPeriod::Valley,
    ];

    pub fn name_zh(self) -> &'static str {
        match self {
            TouPeriod::Sharp => "尖峰",
            TouPeriod::Peak => "峰",
            TouPeriod::Flat => "平",
            TouPeriod::Valley => "谷",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            TouPeriod::Sharp => "critical peak",
            TouPeriod::Peak => "peak",
            TouPeriod::Flat => "flat",
            TouPeriod::Valley => "valley",
        }
    }

    /// The meter register that counts this period.
    pub fn register(self) -> &'static str {
        crate::quantity::TOU_REGISTERS[self as usize]
    }
}

/// Time of day (`"HH:MM"`, on a quarter hour) → the period starting then; the first key is
/// `"00:00"` and each period runs to the next key.
pub type Schedule = BTreeMap<String, TouPeriod>;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Season {
    /// Months 1..12 this schedule applies to.
    pub months: Vec<u32>,
    pub schedule: Schedule,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Upper bound of the tier in the billed unit per month (or year); absent on the last tier.
    pub up_to: Option<Decimal>,
    pub price: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TierPeriod {
    #[default]
    Month,
    Year,
}

/// One version of a tariff's prices, in effect from `from` (a local date) to the next version.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TariffVersion {
    #[serde(deserialize_with = "local_date")]
    pub from: NaiveDate,
    /// Flat: one price per unit (yuan/kWh, yuan/m³ ...).
    pub price: Option<Decimal>,
    /// Time of use: a price per period, with `seasons` saying when each period is.
    pub prices: Option<BTreeMap<TouPeriod, Decimal>>,
    #[serde(default)]
    pub seasons: Vec<Season>,
    /// Used instead of the season's schedule on the public holidays of the site's `[calendar]`.
    pub holiday_schedule: Option<Schedule>,
    /// Tiered: ascending tiers, the last without `up_to`.
    #[serde(default)]
    pub tiers: Vec<Tier>,
    #[serde(default)]
    pub tier_period: TierPeriod,
    /// Water: sewage treatment fee per m³ (污水处理费), billed on its own line.
    pub sewage_fee: Option<Decimal>,
    /// Management fee per unit (管理费), billed on its own line.
    pub management_fee: Option<Decimal>,
}

/// A date written bare (`2026-10-16`, a TOML date) or quoted (`"2026-10-16"`).
fn local_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Toml(toml::value::Datetime),
        Text(String),
    }
    let text = match Written::deserialize(d)? {
        Written::Toml(dt) => match (dt.date, dt.time) {
            (Some(date), None) => date.to_string(),
            _ => {
                return Err(serde::de::Error::custom(format!(
                    "`{dt}`: give a date (YYYY-MM-DD) without a time"
                )));
            }
        },
        Written::Text(t) => t,
    };
    NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map_err(|_| serde::de::Error::custom(format!("`{text}` is not a date (YYYY-MM-DD)")))
}

/// How a version prices consumption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Flat,
    TimeOfUse,
    Tiered,
}

/// `[[tariffs]]` in the site config.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Tariff {
    pub id: String,
    pub name: String,
    pub versions: Vec<TariffVersion>,
}

impl TariffVersion {
    pub fn kind(&self) -> Kind {
        if self.prices.is_some() {
            Kind::TimeOfUse
        } else if !self.tiers.is_empty() {
            Kind::Tiered
        } else {
            Kind::Flat
        }
    }

    /// The TOU period at local `date` and `time`; `holiday`: the date is a public holiday.
    pub fn period_at(&self, date: NaiveDate, time: NaiveTime, holiday: bool) -> TouPeriod {
        let schedule = match (&self.holiday_schedule, holiday) {
            (Some(h), true) => Some(h),
            _ => self
                .seasons
                .iter()
                .find(|s| s.months.contains(&date.month()))
                .map(|s| &s.schedule),
        };
        let key = format!("{:02}:{:02}", time.hour(), time.minute());
        schedule
            .and_then(|s| s.range(..=key).next_back().map(|(_, p)| *p))
            .unwrap_or(TouPeriod::Flat)
    }

    fn validate(&self, problems: &mut Vec<String>) {
        let at = format!("version from {}", self.from);
        let kinds = [
            self.price.is_some(),
            self.prices.is_some(),
            !self.tiers.is_empty(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            problems.push(format!(
                "{at}: give exactly one of `price` (flat), `prices` with `seasons` (time of use) or `tiers`"
            ));
            return;
        }
        let negative = |d: &Decimal| *d < Decimal::ZERO;
        if self.price.as_ref().is_some_and(negative)
            || self.sewage_fee.as_ref().is_some_and(negative)
            || self.management_fee.as_ref().is_some_and(negative)
        {
            problems.push(format!("{at}: prices and fees must be ≥ 0"));
        }
        if let Some(prices) = &self.prices {
            for p in TouPeriod::ALL {
                match prices.get(&p) {
                    None => problems.push(format!(
                        "{at}: prices: no price for `{}` ({})",
                        serde_name(p),
                        p.name_zh()
                    )),
                    Some(d) if *d < Decimal::ZERO => {
                        problems.push(format!("{at}: prices must be ≥ 0"))
                    }
                    _ => {}
                }
            }
            let mut seen = [0u8; 13];
            for s in &self.seasons {
                for m in &s.months {
                    match seen.get_mut(*m as usize) {
                        Some(n) if *m >= 1 => *n += 1,
                        _ => problems.push(format!("{at}: seasons: month {m} is not 1..12")),
                    }
                }
                check_schedule(&s.schedule, &at, problems);
            }
            let uncovered: Vec<String> = (1..=12)
                .filter(|m| seen[*m] != 1)
                .map(|m| m.to_string())
                .collect();
            if !uncovered.is_empty() {
                problems.push(format!(
                    "{at}: seasons must cover each month exactly once; months {} do not",
                    uncovered.join(", ")
                ));
            }
            if let Some(h) = &self.holiday_schedule {
                check_schedule(h, &at, problems);
            }
        } else if !self.seasons.is_empty() || self.holiday_schedule.is_some() {
            problems.push(format!(
                "{at}: `seasons` and `holiday_schedule` go with `prices` (time of use)"
            ));
        }
        if !self.tiers.is_empty() {
            let mut last = Decimal::ZERO;
            for (i, t) in self.tiers.iter().enumerate() {
                let final_tier = i + 1 == self.tiers.len();
                match (t.up_to, final_tier) {
                    (None, true) => {}
                    (None, false) => problems.push(format!(
                        "{at}: tiers: only the last tier may leave out `up_to`"
                    )),
                    (Some(_), true) => problems.push(format!(
                        "{at}: tiers: the last tier has no `up_to` (it takes the rest)"
                    )),
                    (Some(u), false) if u <= last => problems.push(format!(
                        "{at}: tiers: `up_to` must increase ({u} after {last})"
                    )),
                    (Some(u), false) => last = u,
                }
                if t.price < Decimal::ZERO {
                    problems.push(format!("{at}: tiers: prices must be ≥ 0"));
                }
            }
        }
    }
}

fn serde_name(p: TouPeriod) -> &'static str {
    match p {
        TouPeriod::Sharp => "sharp",
        TouPeriod::Peak => "peak",
        TouPeriod::Flat => "flat",
        TouPeriod::Valley => "valley",
    }
}

fn check_schedule(schedule: &Schedule, at: &str, problems: &mut Vec<String>) {
    if !schedule.contains_key("00:00") {
        problems.push(format!("{at}: a schedule starts at \"00:00\""));
    }
    for key in schedule.keys() {
        let ok = NaiveTime::parse_from_str(key, "%H:%M")
            .is_ok_and(|t| t.minute() % 15 == 0 && key.len() == 5);
        if !ok {
            problems.push(format!(
                "{at}: schedule time `{key}`: use \"HH:MM\" on a quarter hour (00:00, 08:30 ...)"
            ));
        }
    }
}

impl Tariff {
    /// The version in effect on local `date` (None before the first).
    pub fn version_at(&self, date: NaiveDate) -> Option<&TariffVersion> {
        self.versions.iter().rev().find(|v| v.from <= date)
    }

    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.versions.is_empty() {
            problems.push("a tariff needs at least one `[[tariffs.versions]]`".to_string());
        }
        if self.versions.windows(2).any(|w| w[0].from >= w[1].from) {
            problems.push("versions must be in order of `from`, each date once".to_string());
        }
        for v in &self.versions {
            v.validate(&mut problems);
        }
        problems
    }
}

/// Splits `quantity` across tiers, starting `before` into the tier period (consumption
/// already billed this month or year): (tier index, quantity, price) for each tier touched.
pub fn split_tiers(
    tiers: &[Tier],
    before: Decimal,
    quantity: Decimal,
) -> Vec<(usize, Decimal, Decimal)> {
    let mut out = Vec::new();
    let mut at = before;
    let end = before + quantity;
    for (i, t) in tiers.iter().enumerate() {
        let top = t.up_to.unwrap_or(Decimal::MAX);
        if at >= top {
            continue;
        }
        let take = end.min(top) - at;
        if take > Decimal::ZERO {
            out.push((i, take, t.price));
            at += take;
        }
        if at >= end {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn version(text: &str) -> TariffVersion {
        toml::from_str(text).unwrap()
    }

    const TOU: &str = r#"
from = 2026-01-01
prices = { sharp = "1.30", peak = "1.05", flat = "0.65", valley = "0.30" }
holiday_schedule = { "00:00" = "flat" }
[[seasons]]
months = [7, 8]
schedule = { "00:00" = "valley", "08:00" = "flat", "10:00" = "peak", "11:00" = "sharp", "12:00" = "peak", "14:00" = "flat", "23:00" = "valley" }
[[seasons]]
months = [1, 2, 3, 4, 5, 6, 9, 10, 11, 12]
schedule = { "00:00" = "valley", "08:00" = "flat", "10:00" = "peak", "12:00" = "flat", "23:00" = "valley" }
"#;

    #[test]
    fn periods_follow_the_season_and_the_holiday_schedule() {
        let v = version(TOU);
        assert!(v.validate_all().is_empty(), "{:?}", v.validate_all());
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        let july = NaiveDate::from_ymd_opt(2026, 7, 15).unwrap();
        let oct = NaiveDate::from_ymd_opt(2026, 10, 15).unwrap();
        assert_eq!(v.period_at(july, t(11, 0), false), TouPeriod::Sharp);
        assert_eq!(v.period_at(july, t(10, 45), false), TouPeriod::Peak);
        assert_eq!(v.period_at(july, t(7, 45), false), TouPeriod::Valley);
        assert_eq!(v.period_at(july, t(23, 0), false), TouPeriod::Valley);
        assert_eq!(v.period_at(oct, t(11, 0), false), TouPeriod::Peak);
        assert_eq!(v.period_at(oct, t(11, 0), true), TouPeriod::Flat);
    }

    impl TariffVersion {
        fn validate_all(&self) -> Vec<String> {
            let mut p = Vec::new();
            self.validate(&mut p);
            p
        }
    }

    #[test]
    fn bad_versions_are_explained() {
        let v = version("from = 2026-01-01\nprice = \"0.5\"\ntiers = [{ price = \"0.6\" }]");
        assert!(v.validate_all()[0].contains("exactly one"));
        let mut v = version(TOU);
        v.seasons.pop();
        assert!(v.validate_all().iter().any(|p| p.contains("months 1, 2")));
        let v = version(
            "from = 2026-01-01\ntiers = [{ up_to = \"200\", price = \"0.5\" }, { up_to = \"100\", price = \"0.6\" }, { price = \"0.8\" }]",
        );
        assert!(v.validate_all()[0].contains("must increase"));
        let v = version(
            "from = 2026-01-01\nprices = { peak = \"1\", flat = \"0.6\", valley = \"0.3\" }\n[[seasons]]\nmonths = [1,2,3,4,5,6,7,8,9,10,11,12]\nschedule = { \"00:00\" = \"flat\", \"08:10\" = \"peak\" }",
        );
        let p = v.validate_all();
        assert!(p.iter().any(|p| p.contains("`sharp`")), "{p:?}");
        assert!(p.iter().any(|p| p.contains("08:10")), "{p:?}");
    }

    #[test]
    fn tiers_split_where_the_period_already_stands() {
        let tiers = vec![
            Tier {
                up_to: Some(dec!(200)),
                price: dec!(0.56),
            },
            Tier {
                up_to: Some(dec!(400)),
                price: dec!(0.61),
            },
            Tier {
                up_to: None,
                price: dec!(0.86),
            },
        ];
        assert_eq!(
            split_tiers(&tiers, dec!(0), dec!(150)),
            vec![(0, dec!(150), dec!(0.56))]
        );
        assert_eq!(
            split_tiers(&tiers, dec!(150), dec!(300)),
            vec![
                (0, dec!(50), dec!(0.56)),
                (1, dec!(200), dec!(0.61)),
                (2, dec!(50), dec!(0.86))
            ]
        );
        assert_eq!(
            split_tiers(&tiers, dec!(500), dec!(10)),
            vec![(2, dec!(10), dec!(0.86))]
        );
        assert_eq!(split_tiers(&tiers, dec!(200), dec!(0)), vec![]);
    }
}
