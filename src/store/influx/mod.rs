//! The InfluxDB 2 API sink: line protocol encoding (pure), the durable spool, and the writer.

pub mod line;
pub mod sink;
pub mod spool;
