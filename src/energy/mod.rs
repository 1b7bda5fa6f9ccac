//! Energy domain: categories now; the ledger, intervals and coefficients build on it.

pub mod category;
pub mod coefficients;
pub mod formula;
pub mod intervals;
pub mod ledger;
