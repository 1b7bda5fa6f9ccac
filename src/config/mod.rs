//! Site config and device profiles: loading and validation. Nothing here starts anything: a
//! config that loads is consistent (references resolve, values in range), so the runtime never
//! meets a half-valid setup.

pub mod error;
pub mod inventory;
pub mod profile;
pub mod site;

pub use error::{ConfigError, ConfigErrors};
pub use profile::{Profile, ProfileLibrary};
pub use site::Site;
