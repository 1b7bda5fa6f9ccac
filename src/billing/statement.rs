//! Statements and how a meter's consumption becomes priced lines. Pure.
//!
//! Per meter and segment (a stretch of days under one tariff version, within one month):
//! metered (after the multiplier) − free quota, plus the loss allowance, rounded half-up to
//! 0.01 → the billed quantity; × price rounded half-up to 0.01 → the amount. The total is the
//! sum of the rounded amounts.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::review::{Acceptance, DataQuality, Hold};
use super::tariff::{Kind, TariffVersion, TouPeriod, split_tiers};
use super::tenant::{ShareRemainder, TenantKind};
use crate::energy::intervals::Quality;

pub use crate::decimal::cents;
use crate::energy::category::{COOLING, GAS, HEAT, WATER};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Energy,
    Sewage,
    Management,
}

/// One priced line of a statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub meter: String,
    pub kind: LineKind,
    /// In Chinese: 电费·峰 (10-01至10-14) ...
    pub description: String,
    pub description_en: String,
    pub period: Option<TouPeriod>,
    /// 1-based tier, for tiered tariffs.
    pub tier: Option<usize>,
    pub from: NaiveDate,
    /// Last day included.
    pub to: NaiveDate,
    /// Metered consumption behind the line (after the multiplier, before quota and losses);
    /// absent on tier lines, which split the segment's billed quantity.
    pub metered: Option<Decimal>,
    /// Billed quantity, rounded half-up to 0.01.
    pub quantity: Decimal,
    pub unit: String,
    pub price: Decimal,
    /// quantity × price, rounded half-up to 0.01 yuan.
    pub amount: Decimal,
}

/// A stretch of days of one meter priced by one tariff version.
#[derive(Debug, Clone)]
pub struct Segment {
    pub from: NaiveDate,
    /// First day not included.
    pub to: NaiveDate,
    pub version: TariffVersion,
    /// Metered per TOU period (time-of-use versions) or one total under `None`.
    pub metered: Vec<(Option<TouPeriod>, Decimal)>,
    /// Free quota to take from this segment's consumption first.
    pub free: Decimal,
    /// Where a new tier period (month or year) starts: the billed quantity already in it
    /// before this segment. `None`: the segment continues the one before it.
    pub tier_before: Option<Decimal>,
}

/// The charge's name by unit: 电费, 水费 ...
pub fn charge_name(unit: &str, category_top: &str) -> (&'static str, &'static str) {
    match (category_top, unit) {
        (WATER, _) => ("水费", "water"),
        (GAS, _) => ("燃气费", "gas"),
        (HEAT, _) | (COOLING, _) => ("热费", "heat"),
        (_, _) => ("电费", "electricity"),
    }
}

/// Prices one meter's segments. `loss_rate` is added on the quantity left after the free
/// quota. Returns the lines and the free quota used.
pub fn price_meter(
    meter: &str,
    unit: &str,
    charge: (&str, &str),
    loss_rate: Decimal,
    segments: &[Segment],
) -> (Vec<Line>, Decimal) {
    let mut lines = Vec::new();
    let mut free_used = Decimal::ZERO;
    let several = segments.len() > 1;
    let mut tier_position = Decimal::ZERO;
    let mut fees: Vec<Fee> = Vec::new();
    for seg in segments {
        if let Some(before) = seg.tier_before {
            tier_position = before;
        }
        let last_day = seg.to.pred_opt().unwrap_or(seg.to);
        let dates = if several {
            format!(
                " ({}至{})",
                seg.from.format("%m-%d"),
                last_day.format("%m-%d")
            )
        } else {
            String::new()
        };
        let dates_en = if several {
            format!(
                " ({} to {})",
                seg.from.format("%m-%d"),
                last_day.format("%m-%d")
            )
        } else {
            String::new()
        };
        let line = |kind, description: String, description_en: String| Line {
            meter: meter.to_string(),
            kind,
            description,
            description_en,
            period: None,
            tier: None,
            from: seg.from,
            to: last_day,
            metered: None,
            quantity: Decimal::ZERO,
            unit: unit.to_string(),
            price: Decimal::ZERO,
            amount: Decimal::ZERO,
        };
        let mut free_left = seg.free;
        let mut billed_total = Decimal::ZERO;
        for (period, metered) in &seg.metered {
            // A TOU period the meter counted nothing in (尖峰 outside summer) is no line.
            if period.is_some() && metered.is_zero() {
                continue;
            }
            let free = free_left.min(*metered).max(Decimal::ZERO);
            free_left -= free;
            free_used += free;
            let billed = cents((metered - free) * (Decimal::ONE + loss_rate));
            billed_total += billed;
            let tier_start = tier_position;
            tier_position += billed;
            match (seg.version.kind(), period) {
                (Kind::Tiered, _) => {
                    for (i, take, price) in split_tiers(&seg.version.tiers, tier_start, billed) {
                        lines.push(Line {
                            tier: Some(i + 1),
                            quantity: take,
                            price,
                            amount: cents(take * price),
                            ..line(
                                LineKind::Energy,
                                format!("{}·第{}档{dates}", charge.0, i + 1),
                                format!("{} tier {}{dates_en}", charge.1, i + 1),
                            )
                        });
                    }
                }
                (_, p) => {
                    let price = match (p, &seg.version.prices) {
                        (Some(p), Some(prices)) => prices.get(p).copied().unwrap_or_default(),
                        _ => seg.version.price.unwrap_or_default(),
                    };
                    let (zh, en) = match p {
                        Some(p) => (
                            format!("{}·{}{dates}", charge.0, p.name_zh()),
                            format!("{} {}{dates_en}", charge.1, p.name_en()),
                        ),
                        None => (
                            format!("{}{dates}", charge.0),
                            format!("{}{dates_en}", charge.1),
                        ),
                    };
                    lines.push(Line {
                        period: *p,
                        metered: Some(*metered),
                        quantity: billed,
                        price,
                        amount: cents(billed * price),
                        ..line(LineKind::Energy, zh, en)
                    });
                }
            }
        }
        for (kind, fee) in [
            (LineKind::Sewage, seg.version.sewage_fee),
            (LineKind::Management, seg.version.management_fee),
        ] {
            if let Some(price) = fee.filter(|f| !f.is_zero()) {
                match fees.iter_mut().rev().find(|f| f.kind == kind) {
                    // The same fee goes on across a change of the energy price.
                    Some(f) if f.price == price => {
                        f.quantity += billed_total;
                        f.to = last_day;
                    }
                    _ => fees.push(Fee {
                        kind,
                        price,
                        quantity: billed_total,
                        from: seg.from,
                        to: last_day,
                    }),
                }
            }
        }
    }
    // Fees per unit of billed quantity: one line per fee and price over the days it applied,
    // rounded once.
    for (kind, zh, en) in [
        (LineKind::Sewage, "污水处理费", "sewage fee"),
        (LineKind::Management, "管理费", "management fee"),
    ] {
        let of_kind: Vec<&Fee> = fees.iter().filter(|f| f.kind == kind).collect();
        let dated = of_kind.len() > 1;
        for f in of_kind {
            let (dates, dates_en) = if dated {
                (
                    format!(" ({}至{})", f.from.format("%m-%d"), f.to.format("%m-%d")),
                    format!(" ({} to {})", f.from.format("%m-%d"), f.to.format("%m-%d")),
                )
            } else {
                (String::new(), String::new())
            };
            lines.push(Line {
                meter: meter.to_string(),
                kind,
                description: format!("{zh}{dates}"),
                description_en: format!("{en}{dates_en}"),
                period: None,
                tier: None,
                from: f.from,
                to: f.to,
                metered: None,
                quantity: f.quantity,
                unit: unit.to_string(),
                price: f.price,
                amount: cents(f.quantity * f.price),
            });
        }
    }
    (lines, free_used)
}

/// A fee per unit of billed quantity over consecutive segments at one price.
struct Fee {
    kind: LineKind,
    price: Decimal,
    quantity: Decimal,
    from: NaiveDate,
    to: NaiveDate,
}

impl Statement {
    /// The meters that read nothing at all in the period: a statement resting on them has no
    /// figure to charge, and is not issued.
    pub fn meters_without_data(&self) -> Vec<String> {
        self.meters
            .iter()
            .filter(|m| m.quality == Quality::Missing && m.metered.is_zero())
            .map(|m| m.meter.clone())
            .collect()
    }
}

/// `total` split among `n` occupants to the fen, adding up to `total` exactly: each pays the
/// total divided and cut to the fen, and `rule` says who pays the fen left over.
pub fn split_shares(total: Decimal, n: u32, rule: ShareRemainder) -> Vec<Decimal> {
    if n == 0 {
        return Vec::new();
    }
    let count = Decimal::from(n);
    let base = (total / count).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero);
    let mut shares = vec![base; n as usize];
    let left = total - base * count;
    match rule {
        ShareRemainder::First => shares[0] += left,
        ShareRemainder::Last => shares[n as usize - 1] += left,
        ShareRemainder::Spread => {
            let fen = if left < Decimal::ZERO {
                Decimal::new(-1, 2)
            } else {
                Decimal::new(1, 2)
            };
            let mut rest = left;
            for share in shares.iter_mut() {
                if rest.is_zero() {
                    break;
                }
                *share += fen;
                rest -= fen;
            }
        }
    }
    shares
}

/// A register's value at a statement's boundary: the value the ledger's consumption starts or
/// ends at, so that (end − start) × multiplier is the metered quantity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoundaryReading {
    /// The boundary (local midnight); earlier versions stored the time of a reading near it.
    pub time: DateTime<Utc>,
    /// The same instant in the site's time zone, as printed: `2026-10-01 00:00`.
    pub local_time: String,
    /// At the register's resolution when a reading sits on the boundary, two places finer (at
    /// most 4) when interpolated; none when a replacement, reset or drop lies between the
    /// readings either side.
    pub value: Option<Decimal>,
    /// The reading's own (measured, manual, corrected), interpolated, or missing without a
    /// value.
    pub quality: Quality,
    /// The stored readings the value comes from: the nearest before the boundary and the
    /// nearest at or after it.
    #[serde(default)]
    pub readings: Vec<RawReading>,
}

/// A register reading as stored, at the register's resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawReading {
    pub time: DateTime<Utc>,
    /// `2026-09-30 23:50` in the site's time zone.
    pub local_time: String,
    pub value: Decimal,
    /// measured, manual or corrected.
    pub quality: Quality,
}

/// Decimal places of a register's readings: those of its resolution (0.01 → 2, 1 → 0), 2
/// where it is not known (a float register, a meter read by hand or over MQTT).
pub fn reading_places(resolution: Decimal) -> u32 {
    if resolution.is_zero() {
        2
    } else {
        resolution.normalize().scale()
    }
}

/// Decimal places of a value interpolated between readings: two more than a reading's, at
/// most 4 (never fewer than a reading's).
pub fn interpolated_places(resolution: Decimal) -> u32 {
    let places = reading_places(resolution);
    (places + 2).min(4).max(places)
}

/// `value` half-up to `places`, keeping trailing zeros (235293.109375 → 235293.11,
/// 1024 → 1024.00), so every rendering prints the same figure.
pub fn at_places(value: Decimal, places: u32) -> Decimal {
    let mut d = crate::decimal::round_half_up(value, places);
    d.rescale(places);
    d
}

/// A unit as printed on a statement: m³ for the stored `m3`; kWh, GJ and others as they are.
pub fn display_unit(unit: &str) -> &str {
    match unit {
        "m3" => "m³",
        "m3/h" => "m³/h",
        other => other,
    }
}

/// What a statement says about each meter: where its figures come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeterBlock {
    pub meter: String,
    pub name: String,
    pub unit: String,
    pub tariff: String,
    pub tariff_name: String,
    /// The multiplier at the end of the period (changes inside it are in `notes`).
    pub multiplier: Decimal,
    pub start: Option<BoundaryReading>,
    pub end: Option<BoundaryReading>,
    /// Replacements, resets and multiplier changes inside the period, in Chinese.
    pub notes: Vec<String>,
    /// Consumption over the period from the ledger, multiplier applied.
    pub metered: Decimal,
    /// The worst quality of the 15-minute intervals in the period.
    pub quality: Quality,
    pub loss_rate: Decimal,
    /// Whether TOU quantities come from the meter's own 尖/峰/平/谷 registers.
    pub tou_registers: bool,
    /// Where the period's quantity comes from: read, bridged, estimated, or absent.
    #[serde(default)]
    pub data: DataQuality,
}

/// A dormitory room's free quota over the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FreeQuotaUse {
    pub occupants: u32,
    pub per_person: Decimal,
    /// Granted for the period (occupants × per person, months with a quota).
    pub granted: Decimal,
    /// Carried in from earlier months (节约留用).
    pub carried_in: Decimal,
    pub used: Decimal,
    /// Left to carry into the next month (0 without carry-over).
    pub carried_out: Decimal,
    /// Months of the period the meter read nothing in: they earned no quota.
    #[serde(default)]
    pub months_without_data: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    /// A draft whose data holds it for review: not issued until a finance user accepts it.
    NeedsReview,
    Issued,
    PartlyPaid,
    Paid,
    Overdue,
    /// Replaced by a re-issued statement.
    Superseded,
}

impl Status {
    /// Whether a statement in this status has been issued (a demand for payment): issued,
    /// partly paid, paid, overdue or superseded. A draft, or one held for review, is not, and
    /// its PDF and Excel sheet say so.
    pub fn is_issued(self) -> bool {
        matches!(
            self,
            Status::Issued
                | Status::PartlyPaid
                | Status::Paid
                | Status::Overdue
                | Status::Superseded
        )
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Status::Draft => "草稿",
            Status::NeedsReview => "待复核",
            Status::Issued => "已开具",
            Status::PartlyPaid => "部分缴费",
            Status::Paid => "已缴清",
            Status::Overdue => "逾期",
            Status::Superseded => "已重开",
        }
    }
}

/// A utility-charge statement for one tenant and period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    pub number: String,
    pub tenant: String,
    pub tenant_name: String,
    pub kind: TenantKind,
    pub contract: String,
    /// `2026-10`, or `2026-Q3` for quarterly settlement.
    pub period: String,
    pub start: NaiveDate,
    /// Last day included.
    pub end: NaiveDate,
    pub issue_date: NaiveDate,
    pub due_date: NaiveDate,
    pub status: Status,
    pub meters: Vec<MeterBlock>,
    pub lines: Vec<Line>,
    pub free_quota: Option<FreeQuotaUse>,
    /// Sum of the lines' amounts.
    pub total: Decimal,
    /// Dormitory rooms: the share most occupants pay (the total divided, down to the fen).
    pub per_occupant: Option<Decimal>,
    /// Dormitory rooms: every occupant's share, in order; they add up to the total exactly
    /// (`[billing] share_remainder` says who pays the odd fen).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shares: Vec<Decimal>,
    /// The statement this one re-issues, its total and the difference.
    pub replaces: Option<String>,
    pub previous_total: Option<Decimal>,
    pub difference: Option<Decimal>,
    pub paid: Decimal,
    /// Late fee accrued so far (per day overdue on what is outstanding).
    pub late_fee: Decimal,
    /// total + late fee − paid.
    pub outstanding: Decimal,
    /// A reading or event in the billed period changed after issue: re-issue it.
    #[serde(default)]
    pub reissue_needed: bool,
    /// What the tenant still owed for earlier periods on the day shown (上期欠费): not part
    /// of this statement's total, printed beside it.
    #[serde(default)]
    pub arrears: Decimal,
    /// What holds the statement for review (none: it can be issued as it is).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holds: Vec<Hold>,
    /// A finance user's acceptance of the holds, carried onto the issued statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<Acceptance>,
}

/// The sum of the lines (each already rounded).
pub fn total(lines: &[Line]) -> Decimal {
    lines.iter().map(|l| l.amount).sum()
}

/// Late fee on `outstanding` for the days from the due date to `today`, half-up to 0.01.
pub fn late_fee(
    outstanding: Decimal,
    rate_per_day: Decimal,
    due: NaiveDate,
    today: NaiveDate,
) -> Decimal {
    let days = (today - due).num_days();
    if days <= 0 || outstanding <= Decimal::ZERO {
        return Decimal::ZERO;
    }
    cents(outstanding * rate_per_day * Decimal::from(days))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn flat(price: Decimal) -> TariffVersion {
        toml::from_str(&format!("from = 2026-01-01\nprice = \"{price}\"")).unwrap()
    }

    #[test]
    fn loss_and_fees_are_lines_of_their_own() {
        // Water: 123.456 m³ metered, 10% loss → 135.8016 → 135.80 m³ billed.
        let mut v = flat(dec!(3.45));
        v.sewage_fee = Some(dec!(0.95));
        v.management_fee = Some(dec!(0.10));
        let seg = Segment {
            from: day("2026-10-01"),
            to: day("2026-11-01"),
            version: v,
            metered: vec![(None, dec!(123.456))],
            free: dec!(0),
            tier_before: Some(dec!(0)),
        };
        let (lines, _) = price_meter("w", "m³", ("水费", "water"), dec!(0.10), &[seg]);
        let got: Vec<_> = lines
            .iter()
            .map(|l| (l.description.as_str(), l.quantity, l.price, l.amount))
            .collect();
        assert_eq!(
            got,
            vec![
                ("水费", dec!(135.80), dec!(3.45), dec!(468.51)),
                ("污水处理费", dec!(135.80), dec!(0.95), dec!(129.01)),
                ("管理费", dec!(135.80), dec!(0.10), dec!(13.58)),
            ]
        );
        assert_eq!(total(&lines), dec!(611.10));
    }

    #[test]
    fn shares_add_up_to_the_total_with_the_odd_fen_where_the_rule_says() {
        let split = |rule| split_shares(dec!(2.54), 3, rule);
        // Each share rounded half-up would be 0.85 × 3 = 2.55, a fen more than the bill.
        assert_eq!(
            split(ShareRemainder::First),
            vec![dec!(0.86), dec!(0.84), dec!(0.84)]
        );
        assert_eq!(
            split(ShareRemainder::Last),
            vec![dec!(0.84), dec!(0.84), dec!(0.86)]
        );
        assert_eq!(
            split(ShareRemainder::Spread),
            vec![dec!(0.85), dec!(0.85), dec!(0.84)]
        );
        assert_eq!(
            split_shares(dec!(7.64), 4, ShareRemainder::First),
            vec![dec!(1.91); 4]
        );
        assert!(split_shares(dec!(1), 0, ShareRemainder::First).is_empty());
    }

    #[test]
    fn a_fee_is_one_line_rounded_once_across_an_energy_price_change() {
        // 100.05 kWh at each of two energy prices, the management fee 0.10 throughout:
        // 200.10 × 0.10 = 20.01 (two lines rounded apart would be 10.01 + 10.01 = 20.02).
        let mut v1 = flat(dec!(0.60));
        v1.management_fee = Some(dec!(0.10));
        let mut v2 = flat(dec!(0.65));
        v2.from = day("2026-10-16");
        v2.management_fee = Some(dec!(0.10));
        let seg = |from: &str, to: &str, version: &TariffVersion| Segment {
            from: day(from),
            to: day(to),
            version: version.clone(),
            metered: vec![(None, dec!(100.05))],
            free: dec!(0),
            tier_before: None,
        };
        let segs = [
            seg("2026-10-01", "2026-10-16", &v1),
            seg("2026-10-16", "2026-11-01", &v2),
        ];
        let (lines, _) = price_meter("m", "kWh", ("电费", "electricity"), dec!(0), &segs);
        let fees: Vec<_> = lines
            .iter()
            .filter(|l| l.kind == LineKind::Management)
            .map(|l| (l.description.as_str(), l.quantity, l.amount, l.from, l.to))
            .collect();
        assert_eq!(
            fees,
            vec![(
                "管理费",
                dec!(200.10),
                dec!(20.01),
                day("2026-10-01"),
                day("2026-10-31")
            )]
        );
        // A fee whose own price changes is a line per price, each with its days.
        let mut v3 = v2.clone();
        v3.management_fee = Some(dec!(0.12));
        let segs = [
            seg("2026-10-01", "2026-10-16", &v1),
            seg("2026-10-16", "2026-11-01", &v3),
        ];
        let (lines, _) = price_meter("m", "kWh", ("电费", "electricity"), dec!(0), &segs);
        let fees: Vec<_> = lines
            .iter()
            .filter(|l| l.kind == LineKind::Management)
            .map(|l| (l.description.as_str(), l.amount))
            .collect();
        assert_eq!(
            fees,
            vec![
                ("管理费 (10-01至10-15)", dec!(10.01)),
                ("管理费 (10-16至10-31)", dec!(12.01))
            ]
        );
    }

    #[test]
    fn free_quota_is_taken_first_and_tiers_continue_across_versions() {
        let mut v1: TariffVersion = toml::from_str(
            "from = 2026-01-01\ntiers = [{ up_to = \"50\", price = \"0.50\" }, { price = \"0.80\" }]",
        )
        .unwrap();
        let v2 = {
            let mut v = v1.clone();
            v.from = day("2026-10-16");
            v.tiers[1].price = dec!(0.90);
            v
        };
        v1.from = day("2026-01-01");
        let segs = [
            Segment {
                from: day("2026-10-01"),
                to: day("2026-10-16"),
                version: v1,
                metered: vec![(None, dec!(60))],
                free: dec!(32),
                tier_before: Some(dec!(0)),
            },
            Segment {
                from: day("2026-10-16"),
                to: day("2026-11-01"),
                version: v2,
                metered: vec![(None, dec!(40))],
                free: dec!(0),
                tier_before: None,
            },
        ];
        let (lines, free) = price_meter("r", "kWh", ("电费", "electricity"), dec!(0), &segs);
        assert_eq!(free, dec!(32));
        let got: Vec<_> = lines
            .iter()
            .map(|l| (l.description.as_str(), l.quantity, l.price, l.amount))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "电费·第1档 (10-01至10-15)",
                    dec!(28),
                    dec!(0.50),
                    dec!(14.00)
                ),
                (
                    "电费·第1档 (10-16至10-31)",
                    dec!(22),
                    dec!(0.50),
                    dec!(11.00)
                ),
                (
                    "电费·第2档 (10-16至10-31)",
                    dec!(18),
                    dec!(0.90),
                    dec!(16.20)
                ),
            ]
        );
    }

    #[test]
    fn readings_carry_the_places_of_the_registers_resolution() {
        assert_eq!(reading_places(dec!(0.01)), 2);
        assert_eq!(reading_places(dec!(0.100)), 1);
        assert_eq!(reading_places(dec!(1)), 0);
        assert_eq!(reading_places(dec!(10)), 0);
        // Not known (a float register): two places.
        assert_eq!(reading_places(dec!(0)), 2);
        assert_eq!(interpolated_places(dec!(0.01)), 4);
        assert_eq!(interpolated_places(dec!(0.1)), 3);
        assert_eq!(interpolated_places(dec!(0.001)), 4);
        assert_eq!(interpolated_places(dec!(0.00001)), 5);
        // Half-up, trailing zeros kept: every rendering prints the same figure.
        assert_eq!(at_places(dec!(235293.109375), 2).to_string(), "235293.11");
        assert_eq!(at_places(dec!(1024), 2).to_string(), "1024.00");
        assert_eq!(at_places(dec!(0.125), 2).to_string(), "0.13");
        assert_eq!(at_places(dec!(8231.185), 4).to_string(), "8231.1850");
    }

    #[test]
    fn a_boundary_stored_by_an_earlier_version_still_loads() {
        // No `readings`, a value rounded to the cent and normalized.
        let stored = r#"{"time": "2026-09-30T16:00:00Z", "local_time": "2026-10-01 00:00",
            "value": "1024", "quality": "measured"}"#;
        let b: BoundaryReading = serde_json::from_str(stored).unwrap();
        assert_eq!(
            (b.value, b.quality, b.readings.len()),
            (Some(dec!(1024)), Quality::Measured, 0)
        );
    }

    #[test]
    fn only_a_draft_or_a_held_statement_is_unissued() {
        assert!(!Status::Draft.is_issued() && !Status::NeedsReview.is_issued());
        for s in [
            Status::Issued,
            Status::PartlyPaid,
            Status::Paid,
            Status::Overdue,
            Status::Superseded,
        ] {
            assert!(s.is_issued(), "{s:?}");
        }
    }

    #[test]
    fn late_fee_counts_days_after_the_due_date() {
        let due = day("2026-11-15");
        assert_eq!(late_fee(dec!(1000), dec!(0.005), due, due), dec!(0));
        assert_eq!(
            late_fee(dec!(1000), dec!(0.005), due, day("2026-11-18")),
            dec!(15.00)
        );
        assert_eq!(
            late_fee(dec!(0), dec!(0.005), due, day("2026-12-18")),
            dec!(0)
        );
    }

    proptest! {
        #[test]
        fn shares_always_sum_to_the_total(fen in -1_000_000i64..100_000_000, n in 1u32..13, rule in 0u8..3) {
            let total = Decimal::new(fen, 2);
            let rule = [ShareRemainder::First, ShareRemainder::Last, ShareRemainder::Spread][rule as usize];
            let shares = split_shares(total, n, rule);
            prop_assert_eq!(shares.len(), n as usize);
            prop_assert_eq!(shares.iter().copied().sum::<Decimal>(), total);
            prop_assert!(shares.iter().all(|s| s.scale() <= 2));
            let (lo, hi) = (shares.iter().min().unwrap(), shares.iter().max().unwrap());
            // Nobody pays more than a fen per occupant above another.
            prop_assert!(hi - lo < Decimal::new(i64::from(n), 2));
            if rule == ShareRemainder::Spread {
                prop_assert!(hi - lo <= Decimal::new(1, 2));
            }
        }

        #[test]
        fn the_total_is_the_sum_of_the_rounded_lines(
            periods in proptest::collection::vec((0u8..4, 0i64..10_000_000), 1..6),
            loss in 0i64..30,
            price in 1i64..30_000,
        ) {
            let mut v: TariffVersion = toml::from_str(
                "from = 2026-01-01\nprices = { sharp = \"1.3311\", peak = \"1.0649\", flat = \"0.6264\", valley = \"0.2379\" }\n[[seasons]]\nmonths = [1,2,3,4,5,6,7,8,9,10,11,12]\nschedule = { \"00:00\" = \"flat\" }",
            ).unwrap();
            v.management_fee = Some(Decimal::new(price, 4));
            let metered = periods
                .iter()
                .map(|(p, m)| (Some(TouPeriod::ALL[*p as usize]), Decimal::new(*m, 3)))
                .collect();
            let seg = Segment { from: day("2026-10-01"), to: day("2026-11-01"), version: v, metered, free: dec!(0), tier_before: Some(dec!(0)) };
            let (lines, _) = price_meter("m", "kWh", ("电费", "electricity"), Decimal::new(loss, 2), &[seg]);
            let mut sum = Decimal::ZERO;
            for l in &lines {
                prop_assert_eq!(l.amount, cents(l.quantity * l.price));
                prop_assert_eq!(l.amount.scale() <= 2, true);
                sum += l.amount;
            }
            prop_assert_eq!(total(&lines), sum);
        }
    }
}
