//! MQTT collection: topic templates, payload decoding (pure), and the client task.

pub mod client;
pub mod payload;
pub mod topic;
