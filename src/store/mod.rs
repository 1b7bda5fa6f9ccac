//! Storage. The embedded SQLite store is the default and always present; the InfluxDB 2 sink
//! joins it as a second consumer of accepted readings.

pub mod backup;
pub mod billing;
pub mod influx;
pub mod ledger;
pub mod lock;
pub mod readings;
pub mod reviews;
pub mod rules;
pub mod schema;
pub mod sqlite;
pub mod users;
pub mod writer;

pub use sqlite::{SqliteStore, StoreError};
