//! Meter simulators: load models, simulated meters, a Modbus server that serves them through
//! their profiles, an RS-485 gateway with DL/T 645 and CJ/T 188 meters behind it, the demo campus and its history.

pub mod backfill;
pub mod broker;
pub mod campus;
pub mod line_server;
pub mod load;
pub mod meter;
pub mod modbus_server;
pub mod mqtt_publisher;
