//! Whether a statement's figures can be trusted enough to issue (复核): per meter, how much of
//! the billed quantity rests on readings and how much on bridged or estimated figures, which
//! stretches had no usable figure at all, and the register drops nobody explained. A
//! statement with any of these above `[billing] review_threshold` is held for review until a
//! finance user accepts it with a reason, or the data is corrected. Pure.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::energy::intervals::Quality;

/// Where a meter's quantity over the period comes from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataQuality {
    /// Quantity (multiplier applied) from readings close to both ends of each interval.
    pub measured: Decimal,
    /// From readings entered by hand.
    pub manual: Decimal,
    /// From an engineer's correction.
    pub corrected: Decimal,
    /// Bridged linearly across a gap in the readings.
    pub interpolated: Decimal,
    /// Estimated by an engineer (the meter could not measure it).
    pub estimated: Decimal,
    /// Hours with no usable figure: excluded (an unexplained drop, an implausible jump) ...
    pub invalid_hours: Decimal,
    /// ... or with no readings to bridge them.
    pub missing_hours: Decimal,
    /// Register drops nobody recorded a reason for, inside the period.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drops: Vec<Drop>,
}

/// A register that went down with no replacement or reset recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drop {
    pub time: DateTime<Utc>,
    /// The same instant in the site's time zone: `2026-10-12 08:15`.
    pub local_time: String,
    pub from: Decimal,
    pub to: Decimal,
}

impl DataQuality {
    /// Adds one ledger interval (15 minutes, a day ...) of `hours` length.
    pub fn add(&mut self, consumption: Decimal, quality: Quality, hours: Decimal) {
        match quality {
            Quality::Measured => self.measured += consumption,
            Quality::Manual => self.manual += consumption,
            Quality::Corrected => self.corrected += consumption,
            Quality::Interpolated => self.interpolated += consumption,
            Quality::Estimated => self.estimated += consumption,
            Quality::Invalid => self.invalid_hours += hours,
            Quality::Missing => self.missing_hours += hours,
        }
    }

    /// The quantity with a figure behind it.
    pub fn total(&self) -> Decimal {
        self.measured + self.manual + self.corrected + self.interpolated + self.estimated
    }

    /// The share of the quantity bridged or estimated rather than read (0 when nothing was).
    pub fn doubtful_share(&self) -> Decimal {
        let total = self.total();
        if total <= Decimal::ZERO {
            return Decimal::ZERO;
        }
        ((self.interpolated + self.estimated) / total).max(Decimal::ZERO)
    }

    /// Where the quantity comes from, in one line: `实抄 98.5% · 插值 1.5% · 缺数 3 小时`
    /// (English with `en`).
    pub fn summary(&self, en: bool) -> String {
        let t = |zh: &'static str, english: &'static str| if en { english } else { zh };
        let total = self.total();
        let mut parts = Vec::new();
        for (x, zh, english) in [
            (self.measured, "实抄", "read"),
            (self.manual, "人工抄表", "read by hand"),
            (self.corrected, "更正", "corrected"),
            (self.interpolated, "插值", "interpolated"),
            (self.estimated, "估算", "estimated"),
        ] {
            if !x.is_zero() && !total.is_zero() {
                let pct = crate::decimal::round_half_up(x / total * Decimal::ONE_HUNDRED, 1);
                parts.push(format!("{} {}%", t(zh, english), pct.normalize()));
            }
        }
        for (h, zh, english) in [
            (self.missing_hours, "缺数", "missing"),
            (self.invalid_hours, "无效", "invalid"),
        ] {
            if !h.is_zero() {
                parts.push(format!(
                    "{} {} {}",
                    t(zh, english),
                    h.normalize(),
                    t("小时", "h")
                ));
            }
        }
        if !self.drops.is_empty() {
            parts.push(format!(
                "{} {}",
                t("表码回落", "register drops"),
                self.drops.len()
            ));
        }
        if parts.is_empty() {
            parts.push(t("无数据", "no data").to_string());
        }
        parts.join(" · ")
    }

    /// Rounds the figures for printing: quantities to 0.0001, hours to 0.25.
    pub fn rounded(mut self) -> DataQuality {
        for q in [
            &mut self.measured,
            &mut self.manual,
            &mut self.corrected,
            &mut self.interpolated,
            &mut self.estimated,
        ] {
            *q = crate::decimal::round_half_up(*q, 4).normalize();
        }
        self.invalid_hours = self.invalid_hours.normalize();
        self.missing_hours = self.missing_hours.normalize();
        self
    }
}

/// What holds a statement for review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldKind {
    /// The period has not ended: its figures are not final.
    NotOver,
    /// A register drop nobody explained.
    Drop,
    /// Stretches excluded from the figure.
    Invalid,
    /// Stretches with no readings at all.
    Missing,
    /// More of the quantity bridged or estimated than the threshold allows.
    Doubtful,
}

/// One reason a statement is held, in both languages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hold {
    /// The meter concerned; empty for the whole statement.
    pub meter: String,
    pub kind: HoldKind,
    pub reason: String,
    pub reason_en: String,
}

/// A finance user's acceptance of a held statement as it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Acceptance {
    pub by: String,
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// Why one meter's data holds its statement (`threshold`: the share of the quantity that may
/// be bridged or estimated).
pub fn meter_holds(meter: &str, q: &DataQuality, threshold: Decimal) -> Vec<Hold> {
    let mut out = Vec::new();
    let (invalid, missing) = (q.invalid_hours.normalize(), q.missing_hours.normalize());
    let hold = |kind, reason: String, reason_en: String| Hold {
        meter: meter.to_string(),
        kind,
        reason,
        reason_en,
    };
    for d in &q.drops {
        out.push(hold(
            HoldKind::Drop,
            format!(
                "{meter}: {} 表码由 {} 降至 {}，未登记换表或清零",
                d.local_time, d.from, d.to
            ),
            format!(
                "{meter}: the register fell from {} to {} at {} with no replacement or reset recorded",
                d.from, d.to, d.local_time
            ),
        ));
    }
    if q.invalid_hours > Decimal::ZERO {
        out.push(hold(
            HoldKind::Invalid,
            format!("{meter}: {invalid} 小时数据无效（已剔除）"),
            format!("{meter}: {invalid} hours of invalid data (excluded)"),
        ));
    }
    if q.missing_hours > Decimal::ZERO {
        out.push(hold(
            HoldKind::Missing,
            format!("{meter}: {missing} 小时无数据"),
            format!("{meter}: {missing} hours without data"),
        ));
    }
    let share = q.doubtful_share();
    if share > threshold {
        let pct = crate::decimal::round_half_up(share * Decimal::ONE_HUNDRED, 1).normalize();
        let limit = (threshold * Decimal::ONE_HUNDRED).normalize();
        out.push(hold(
            HoldKind::Doubtful,
            format!("{meter}: {pct}% 的用量为插值或估算（上限 {limit}%）"),
            format!("{meter}: {pct}% of the quantity interpolated or estimated (limit {limit}%)"),
        ));
    }
    out
}

/// The hold of a period that has not ended on `today`.
pub fn not_over(last_day: chrono::NaiveDate) -> Hold {
    Hold {
        meter: String::new(),
        kind: HoldKind::NotOver,
        reason: format!("结算期至 {last_day} 尚未结束"),
        reason_en: format!("the period runs to {last_day} and has not ended"),
    }
}

/// What an acceptance is tied to: the holds it saw. A change of the data that changes them
/// (or the total) needs a new acceptance.
pub fn holds_key(holds: &[Hold]) -> String {
    holds
        .iter()
        .map(|h| format!("{}:{:?}", h.meter, h.kind))
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn kinds(h: &[Hold]) -> Vec<HoldKind> {
        h.iter().map(|h| h.kind).collect()
    }

    #[test]
    fn the_summary_gives_each_source_its_share() {
        let mut q = DataQuality::default();
        q.add(dec!(985), Quality::Measured, dec!(0.25));
        q.add(dec!(15), Quality::Interpolated, dec!(0.25));
        q.add(Decimal::ZERO, Quality::Missing, dec!(3));
        assert_eq!(q.summary(false), "实抄 98.5% · 插值 1.5% · 缺数 3 小时");
        assert_eq!(
            q.summary(true),
            "read 98.5% · interpolated 1.5% · missing 3 h"
        );
        assert_eq!(DataQuality::default().summary(false), "无数据");
    }

    #[test]
    fn measured_and_hand_read_data_holds_nothing() {
        let mut q = DataQuality::default();
        q.add(dec!(900), Quality::Measured, dec!(0.25));
        q.add(dec!(95), Quality::Manual, dec!(0.25));
        q.add(dec!(5), Quality::Corrected, dec!(0.25));
        assert!(meter_holds("m", &q, dec!(0.01)).is_empty());
    }

    #[test]
    fn more_than_the_threshold_interpolated_holds_the_statement() {
        let mut q = DataQuality::default();
        q.add(dec!(980), Quality::Measured, dec!(0.25));
        q.add(dec!(10), Quality::Interpolated, dec!(0.25));
        // 10 of 990: 1.01% > 1%.
        let holds = meter_holds("gas", &q, dec!(0.01));
        assert_eq!(kinds(&holds), vec![HoldKind::Doubtful]);
        assert!(holds[0].reason.contains("1% 的用量") || holds[0].reason.contains("1%"));
        // At 2% it passes.
        assert!(meter_holds("gas", &q, dec!(0.02)).is_empty());
    }

    #[test]
    fn any_missing_or_invalid_stretch_and_any_drop_holds_it() {
        let mut q = DataQuality::default();
        q.add(dec!(100), Quality::Measured, dec!(0.25));
        q.add(Decimal::ZERO, Quality::Missing, dec!(0.25));
        q.add(Decimal::ZERO, Quality::Invalid, dec!(0.25));
        q.drops.push(Drop {
            time: Utc::now(),
            local_time: "2026-10-12 08:15".into(),
            from: dec!(1500),
            to: dec!(1490),
        });
        let holds = meter_holds("m", &q, dec!(0.01));
        assert_eq!(
            kinds(&holds),
            vec![HoldKind::Drop, HoldKind::Invalid, HoldKind::Missing]
        );
        assert!(holds[0].reason.contains("1500") && holds[0].reason.contains("1490"));
    }
}
