//! Site config and device profiles: loading and validation. Nothing here starts anything: a
//! config that loads is consistent (references resolve, values in range), so the runtime never
//! meets a half-valid setup.

pub mod audited;
pub mod error;
pub mod influx;
pub mod inventory;
pub mod library;
pub mod mqtt;
pub mod payload;
pub mod profile;
pub mod secret;
pub mod site;

pub use error::{ConfigError, ConfigErrors};
pub use profile::{Profile, ProfileLibrary};
pub use site::Site;
