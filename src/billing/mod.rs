//! Utility-charge billing (收支两条线): tariffs, tenants, statements from the ledger, and their
//! outputs (CSV, Excel, PDF). Issued statements and payments live in `store::billing`.

pub mod book;
pub mod compute;
pub mod openings;
pub mod output;
pub mod payments;
pub mod pdf;
pub mod review;
pub mod statement;
pub mod tariff;
pub mod tenant;
pub mod xlsx;

pub use compute::{BillingError, BillingPeriod};
pub use statement::Statement;
