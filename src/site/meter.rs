//! Meters and how their values arrive: Modbus connections, MQTT brokers, reading by hand;
//! virtual meters computed from real ones.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::collect::modbus::url::ModbusUrl;
use crate::config::profile::Profile;
use crate::energy::category::Category;
use crate::energy::formula::Formula;
use crate::quantity::Quantity;

/// A Modbus bus: TCP, RTU over TCP or a serial line.
#[derive(Debug, Clone)]
pub struct Connection {
    pub id: String,
    pub url: ModbusUrl,
    /// Overrides the profiles' timeouts for every device on this connection.
    pub timeout_ms: Option<u64>,
    /// Pause between two requests on this bus.
    pub pause_ms: u64,
    /// Wait after connecting before the first request (devices that ignore it).
    pub connect_delay_ms: u64,
    /// Attempts before a device is marked offline (1–3).
    pub tries: u32,
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
    /// Published to an MQTT broker; `name` is how topics and payloads name the meter.
    Mqtt { connection: String, name: String },
    /// Read by hand: values come from imports and the readings API only.
    Manual { quantity: Quantity },
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
