//! Modbus collection: connection URLs, read planning, pure register decoding, the transport,
//! and the per-bus poller.

pub mod decode;
pub mod plan;
pub mod poller;
pub mod transport;
pub mod url;
