//! Site config and device profiles: loading and validation into the site model (`crate::site`;
//! `Site::load` and `Site::from_str` are defined in `load`). Nothing here starts anything: a
//! config that loads is consistent (references resolve, values in range), so the runtime never
//! meets a half-valid setup.

pub mod audited;
mod billing;
mod connections;
pub mod error;
pub mod influx;
pub mod inventory;
pub mod library;
pub mod line_profile;
mod load;
mod meter_draft;
mod meters;
pub mod mqtt;
pub mod payload;
pub mod profile;
mod rules;
pub mod secret;
mod site_file;
mod units;

pub use error::{At, ConfigError, ConfigErrors};
pub use profile::{Profile, ProfileLibrary};
