//! Tenants billed for their utilities: canteens, shops, dormitory rooms. Each has meters priced
//! by a tariff, a billing cycle and, for dormitory rooms, a free quota per person per month
//! with its carry-over policy (超额自付、节约留用).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantKind {
    Canteen,
    Shop,
    DormitoryRoom,
    #[default]
    Other,
}

impl TenantKind {
    pub fn name_zh(self) -> &'static str {
        match self {
            TenantKind::Canteen => "食堂",
            TenantKind::Shop => "商铺",
            TenantKind::DormitoryRoom => "宿舍",
            TenantKind::Other => "其他",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            TenantKind::Canteen => "canteen",
            TenantKind::Shop => "shop",
            TenantKind::DormitoryRoom => "dormitory room",
            TenantKind::Other => "other",
        }
    }

    /// What a statement calls the one who pays: a room is a 宿舍, not a 商户.
    pub fn payer_zh(self) -> &'static str {
        match self {
            TenantKind::Canteen => "食堂",
            TenantKind::Shop => "商户",
            TenantKind::DormitoryRoom => "宿舍",
            TenantKind::Other => "缴费单位",
        }
    }
}

/// How often a tenant is settled: every month, or every quarter (statements for the quarter
/// ending with the month asked for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cycle {
    #[default]
    Monthly,
    Quarterly,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TenantMeter {
    pub meter: String,
    pub tariff: String,
    /// Line and transformer losses charged on top of the metered quantity (0.10 = 10%).
    #[serde(default)]
    pub loss_rate: Decimal,
}

/// A dormitory room's free allowance.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FreeQuota {
    /// Free units (kWh, m³) per occupant per month.
    pub per_person: Decimal,
    /// Months with a free quota (summer months usually have none); all months when absent.
    pub months: Option<Vec<u32>>,
    /// Unused quota carries to the next month (节约留用).
    #[serde(default)]
    pub carry_over: bool,
    /// Months whose start clears what was carried (a new semester).
    #[serde(default)]
    pub reset_months: Vec<u32>,
}

impl FreeQuota {
    pub fn applies_in(&self, month: u32) -> bool {
        self.months.as_ref().is_none_or(|m| m.contains(&month))
    }
}

/// `[[tenants]]` in the site config.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub kind: TenantKind,
    #[serde(default)]
    pub contract: String,
    #[serde(default)]
    pub cycle: Cycle,
    pub meters: Vec<TenantMeter>,
    /// Dormitory rooms: the occupants sharing the quota and the excess.
    pub occupants: Option<u32>,
    pub free_quota: Option<FreeQuota>,
    /// Days from issue to due date; `[billing] due_days` when absent.
    pub due_days: Option<u32>,
    /// Late fee per day overdue, as a fraction of what is outstanding (0.005 = 0.5%);
    /// `[billing] late_fee_per_day` when absent.
    pub late_fee_per_day: Option<Decimal>,
}

impl Tenant {
    /// Problems that need only the tenant itself; references are checked by the site.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.meters.is_empty() {
            problems.push("a tenant needs at least one meter".to_string());
        }
        for m in &self.meters {
            if m.loss_rate < Decimal::ZERO || m.loss_rate > Decimal::ONE {
                problems.push(format!(
                    "meter `{}`: loss_rate is a fraction from 0 to 1 (0.10 = 10%)",
                    m.meter
                ));
            }
        }
        if let Some(q) = &self.free_quota {
            if self.occupants.is_none_or(|n| n == 0) {
                problems.push("free_quota needs `occupants` (1 or more)".to_string());
            }
            if q.per_person < Decimal::ZERO {
                problems.push("free_quota.per_person must be ≥ 0".to_string());
            }
            let months = q.months.iter().flatten().chain(&q.reset_months);
            if months.into_iter().any(|m| !(1..=12).contains(m)) {
                problems.push("free_quota: months are 1..12".to_string());
            }
            if self.meters.len() != 1 {
                problems.push("a free quota applies to a tenant with one meter".to_string());
            }
        }
        if self.late_fee_per_day.is_some_and(|f| f < Decimal::ZERO) {
            problems.push("late_fee_per_day must be ≥ 0".to_string());
        }
        problems
    }
}

/// Who pays the odd fen when a room's total does not divide evenly among its occupants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareRemainder {
    /// The first occupant (the usual rule).
    #[default]
    First,
    /// The last occupant.
    Last,
    /// One fen each to the first occupants until it is used up.
    Spread,
}

/// `[billing]` in the site config.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BillingSettings {
    /// Who issues statements (printed on them).
    pub issuer: String,
    /// Statement numbers: `{prefix}-{YYYYMM}-{tenant}`.
    pub number_prefix: String,
    pub due_days: u32,
    pub late_fee_per_day: Decimal,
    /// Printed at the foot of each statement: where and how to pay.
    pub payment_note: String,
    /// Rooms' shares: who pays the remainder so that the shares add up to the total.
    pub share_remainder: ShareRemainder,
    /// The share of a meter's quantity that may be interpolated or estimated before its
    /// statement is held for review (0.01 = 1%); any missing or invalid stretch holds it.
    pub review_threshold: Decimal,
}

impl Default for BillingSettings {
    fn default() -> Self {
        BillingSettings {
            issuer: String::new(),
            number_prefix: "JN".into(),
            due_days: 15,
            late_fee_per_day: Decimal::ZERO,
            payment_note: String::new(),
            share_remainder: ShareRemainder::First,
            review_threshold: Decimal::new(1, 2),
        }
    }
}

impl BillingSettings {
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.late_fee_per_day < Decimal::ZERO {
            problems.push("late_fee_per_day must be ≥ 0".to_string());
        }
        if !(Decimal::ZERO..=Decimal::ONE).contains(&self.review_threshold) {
            problems.push(format!(
                "review_threshold {}: a share between 0 and 1 (0.01 = 1%)",
                self.review_threshold
            ));
        }
        let ok = |c: char| c.is_ascii_alphanumeric() || c == '_';
        if self.number_prefix.is_empty() || !self.number_prefix.chars().all(ok) {
            problems.push("number_prefix: letters, digits or _".to_string());
        }
        problems
    }
}
