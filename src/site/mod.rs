//! The site model, the ground floor every other module stands on: the site and its unit
//! hierarchy, Modbus connections and MQTT brokers, meters (real and virtual), and the domain
//! settings the site config carries (calendar, quotas, scorecard, alerts, tariffs, tenants ...).
//!
//! Plain data and lookups only. Loading a site from its TOML file is `config`'s job
//! (`Site::load`, `Site::from_str` live in `config::load`); nothing here imports a layer above.

mod meter;
mod model;
mod unit;

pub use meter::{BusProtocol, Connection, LineAddress, Meter, MeterSource, VirtualMeter};
pub use model::{LedgerSettings, Site};
pub use unit::{ClimateZone, OfficeClass, Unit, UnitKind};
