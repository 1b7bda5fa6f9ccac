//! Energy domain: categories, interval consumption, the ledger, aggregation and coefficients.

pub mod aggregate;
pub mod category;
pub mod coefficients;
pub mod formula;
pub mod intervals;
pub mod ledger;
