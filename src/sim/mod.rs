//! Meter simulators: load models, simulated meters, a Modbus server that serves them through
//! their profiles, the demo campus and its history.

pub mod backfill;
pub mod broker;
pub mod campus;
pub mod load;
pub mod meter;
pub mod modbus_server;
pub mod mqtt_publisher;
