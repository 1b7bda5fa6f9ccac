//! Rounding of reported figures and money: half-up (四舍五入), as reports and bills are.
//! Sums stay exact; a figure is rounded once, where it is reported.

use rust_decimal::{Decimal, RoundingStrategy};

/// Half-up (四舍五入): 0.125 → 0.13, −0.125 → −0.13.
pub const HALF_UP: RoundingStrategy = RoundingStrategy::MidpointAwayFromZero;

/// `x` half-up to `dp` decimal places.
pub fn round_half_up(x: Decimal, dp: u32) -> Decimal {
    x.round_dp_with_strategy(dp, HALF_UP)
}

/// Half-up to 0.01 (yuan, or billed units).
pub fn cents(x: Decimal) -> Decimal {
    round_half_up(x, 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_go_away_from_zero() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(cents(d("0.125")), d("0.13"));
        assert_eq!(cents(d("-0.125")), d("-0.13"));
        assert_eq!(cents(d("0.124")), d("0.12"));
        assert_eq!(round_half_up(d("2.5"), 0), d("3"));
        assert_eq!(round_half_up(d("1.23456"), 4), d("1.2346"));
    }
}
