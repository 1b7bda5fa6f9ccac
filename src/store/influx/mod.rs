//! The InfluxDB 2 API sink: line protocol encoding (pure), the durable spool, and the writer.

pub mod line;
pub mod sink;
pub mod spool;

/// The tags every line carries (the schema in `line`); the config's `[influx] tags` may not
/// reuse these names.
pub const TAGS: &[&str] = &["meter", "unit", "building", "category"];
