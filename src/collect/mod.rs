//! Collectors: they know protocols and device profiles, and hand canonical readings to ingest.
//! Nothing downstream of them knows Modbus, DL/T 645, CJ/T 188 or MQTT.

pub mod cjt188;
pub mod dlt645;
pub mod line;
pub mod modbus;
pub mod mqtt;
pub mod nameplate;
pub mod stream;
