//! Meters and how their values arrive: Modbus connections, MQTT brokers, reading by hand;
//! virtual meters computed from real ones.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::collect::cjt188::frame::Address as Cjt188Address;
use crate::collect::dlt645::frame::Address as Dlt645Address;
use crate::collect::modbus::url::ModbusUrl;
use crate::config::line_profile::LineProfile;
use crate::config::profile::Profile;
use crate::energy::category::Category;
use crate::energy::formula::Formula;
use crate::quantity::Quantity;

/// What a bus speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BusProtocol {
    #[default]
    Modbus,
    /// DL/T 645 (2007 or 1997, by each meter's profile).
    Dlt645,
    /// CJ/T 188-2004.
    Cjt188,
}

impl BusProtocol {
    pub fn name(self) -> &'static str {
        match self {
            BusProtocol::Modbus => "modbus",
            BusProtocol::Dlt645 => "dlt645",
            BusProtocol::Cjt188 => "cjt188",
        }
    }
}

/// A bus: Modbus TCP, or a serial line (directly or through a transparent RS-485 gateway)
/// speaking Modbus RTU, DL/T 645 or CJ/T 188.
#[derive(Debug, Clone)]
pub struct Connection {
    pub id: String,
    pub url: ModbusUrl,
    pub protocol: BusProtocol,
    /// Overrides the profiles' timeouts for every device on this connection.
    pub timeout_ms: Option<u64>,
    /// Pause between two requests on this bus.
    pub pause_ms: u64,
    /// Wait after connecting before the first request (devices that ignore it).
    pub connect_delay_ms: u64,
    /// Attempts before a device is marked offline (1–3).
    pub tries: u32,
    /// DL/T 645 lines: broadcast the time to the meters every this many hours (off when absent).
    pub time_sync_hours: Option<u32>,
}

/// How a meter's values arrive.
#[derive(Debug, Clone)]
pub enum MeterSource {
    Modbus {
        connection: String,
        profile: Arc<Profile>,
        slave_id: u8,
        /// Overrides the connection's and the profile's timeout for this device.
        timeout_ms: Option<u64>,
    },
    /// On a DL/T 645 or CJ/T 188 bus, addressed by its nameplate address.
    Line {
        connection: String,
        profile: Arc<LineProfile>,
        address: LineAddress,
        /// Overrides the connection's and the profile's timeout for this meter.
        timeout_ms: Option<u64>,
    },
    /// Published to an MQTT broker; `name` is how topics and payloads name the meter.
    Mqtt { connection: String, name: String },
    /// Read by hand: values come from imports and the readings API only.
    Manual { quantity: Quantity },
}

/// A meter's address on a DL/T 645 or CJ/T 188 line, as on its nameplate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineAddress {
    Dlt645(Dlt645Address),
    Cjt188(Cjt188Address),
}

impl std::fmt::Display for LineAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineAddress::Dlt645(a) => write!(f, "{a}"),
            LineAddress::Cjt188(a) => write!(f, "{a}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Meter {
    pub id: String,
    pub name: String,
    pub unit: String,
    pub category: &'static Category,
    pub source: MeterSource,
    /// CT/PT ratio (倍率) in effect now: consumption = register delta × multiplier.
    pub multiplier: Decimal,
    /// Earlier multipliers, oldest first: each was in effect until its instant (a CT change).
    pub multiplier_history: Vec<(DateTime<Utc>, Decimal)>,
    /// Highest plausible rate after the multiplier (kW, m³/h, GJ/h); faster register growth is
    /// an implausible jump.
    pub max_power: Option<Decimal>,
    /// The meter this one is a sub-meter of (its consumption is part of the parent's).
    pub parent_meter: Option<String>,
    pub live_interval: Duration,
    pub energy_interval_min: u32,
}

impl Meter {
    /// The multiplier in effect at `t`.
    pub fn multiplier_at(&self, t: DateTime<Utc>) -> Decimal {
        self.multiplier_history
            .iter()
            .find(|(until, _)| t < *until)
            .map_or(self.multiplier, |(_, m)| *m)
    }
}

/// A meter computed from others: `admin-main - admin-light - admin-hvac` (public areas and losses).
#[derive(Debug, Clone)]
pub struct VirtualMeter {
    pub id: String,
    pub name: String,
    pub unit: String,
    pub category: &'static Category,
    pub formula: Formula,
}
