//! A meter as written, in the TOML file or a CSV inventory, and its validation into a
//! [`Meter`]: every field checked, every reference resolved, each error where it was written.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::error::{At, ConfigError};
use super::line_profile::{LineProfileLibrary, LineProtocol};
use super::mqtt::Broker;
use super::profile::ProfileLibrary;
use crate::collect::modbus::url::ModbusUrl;
use crate::energy::category;
use crate::quantity::Quantity;
use crate::site::{BusProtocol, Connection, LineAddress, Meter, MeterSource};

/// A meter as written (TOML table or CSV row), with the location of each field.
pub(crate) struct MeterDraft {
    pub id: (String, At),
    pub name: String,
    pub unit: (String, At),
    pub category: (String, At),
    pub profile: Option<(String, At)>,
    pub connection: Option<(String, At)>,
    pub slave_id: Option<(i64, At)>,
    /// DL/T 645 and CJ/T 188 meters: the nameplate address.
    pub address: Option<(String, At)>,
    pub multiplier: Option<(Decimal, At)>,
    pub live_interval_s: Option<(i64, At)>,
    pub energy_interval_min: Option<(i64, At)>,
    pub timeout_ms: Option<(i64, At)>,
    /// How MQTT topics and payloads name the meter, when not by its id.
    pub mqtt_name: Option<(String, At)>,
    /// The quantity read by hand (`water_m3`, `gas_m3`, ...), for meters without communication.
    pub read_by_hand: Option<(String, At)>,
    pub max_power: Option<(Decimal, At)>,
    pub parent_meter: Option<(String, At)>,
    /// (until as written, multiplier), each with where it was written.
    pub multiplier_history: Vec<((String, At), (Decimal, At))>,
}

impl MeterDraft {
    pub(super) fn build(
        self,
        units: &HashMap<String, At>,
        connections: &[Connection],
        brokers: &[Broker],
        profiles: &ProfileLibrary,
        timezone: Tz,
    ) -> Result<Meter, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let (id, id_at) = self.id;
        if id.is_empty() || id.contains(char::is_whitespace) || id.contains('/') {
            errors.push(id_at.error(format!(
                "meter id `{id}` must be non-empty, without spaces or `/`"
            )));
        }
        if !units.contains_key(&self.unit.0) {
            errors.push(self.unit.1.error(format!("unknown unit `{}`", self.unit.0)));
        }
        let category = category::category(&self.category.0);
        if category.is_none() {
            errors.push(self.category.1.error(format!(
                "unknown category code `{}` (e.g. 01000 electricity, 01A00 lighting, 02000 water; see docs/configuration.md)",
                self.category.0
            )));
        }
        let multiplier = match self.multiplier {
            None => Decimal::ONE,
            Some((m, at)) if m <= Decimal::ZERO || m > Decimal::from(1_000_000) => {
                errors.push(at.error(format!(
                    "multiplier must be greater than 0 and at most 1000000, not {m}"
                )));
                Decimal::ONE
            }
            Some((m, _)) => m,
        };
        let mut multiplier_history: Vec<(DateTime<Utc>, Decimal)> = Vec::new();
        for ((until, until_at), (m, m_at)) in self.multiplier_history {
            if m <= Decimal::ZERO || m > Decimal::from(1_000_000) {
                errors.push(m_at.error(format!(
                    "multiplier must be greater than 0 and at most 1000000, not {m}"
                )));
            }
            match crate::time::parse_time(&until, timezone) {
                Ok(t) if multiplier_history.last().is_some_and(|(prev, _)| *prev >= t) => {
                    errors.push(until_at.error(
                        "multiplier_history must be in time order, oldest first (each entry is the multiplier in effect until `until`)",
                    ))
                }
                Ok(t) => multiplier_history.push((t, m)),
                Err(e) => errors.push(until_at.error(format!("until: {e}"))),
            }
        }
        let max_power = match self.max_power {
            Some((p, at)) if p <= Decimal::ZERO => {
                errors.push(at.error(format!("max_power must be greater than 0, not {p}")));
                None
            }
            other => other.map(|(p, _)| p),
        };
        let live_interval_s = match self.live_interval_s {
            None => 30,
            Some((s, at)) if !(1..=86_400).contains(&s) => {
                errors.push(at.error("live_interval_s must be between 1 and 86400"));
                30
            }
            Some((s, _)) => s as u64,
        };
        let energy_interval_min = match self.energy_interval_min {
            None => 15,
            Some((m, at)) if !matches!(m, 1 | 5 | 15 | 30 | 60) => {
                errors.push(at.error(
                    "energy_interval_min must be 1, 5, 15, 30 or 60 (it must divide an hour)",
                ));
                15
            }
            Some((m, _)) => m as u32,
        };

        let broker = self
            .connection
            .as_ref()
            .and_then(|(c, _)| brokers.iter().find(|b| b.id == *c));
        if let Some((_, at)) = self.mqtt_name.as_ref().filter(|_| broker.is_none()) {
            errors.push(at.error("mqtt_name applies to meters on an MQTT connection"));
        }
        let source = match (self.read_by_hand, self.profile, self.connection) {
            (None, profile, Some((c, _))) if broker.is_some() => {
                if let Some((_, pat)) = profile {
                    errors.push(pat.error("meters on an MQTT connection have no `profile`: the subscription's `format` decodes them"));
                }
                let name = self.mqtt_name.map_or_else(|| id.clone(), |(n, _)| n);
                Some(MeterSource::Mqtt {
                    connection: c,
                    name,
                })
            }
            (Some((q, at)), profile, connection) => {
                if let Some((_, pat)) = profile.or(connection) {
                    errors.push(pat.error("a meter read by hand has no `profile` or `connection`"));
                }
                match Quantity::parse(&q).filter(|q| q.is_cumulative()) {
                    Some(quantity) => Some(MeterSource::Manual { quantity }),
                    None => {
                        errors.push(at.error(format!(
                            "read_by_hand names the register read by hand, a cumulative quantity such as energy_import_kwh or water_m3; `{q}` is not one"
                        )));
                        None
                    }
                }
            }
            (None, Some((p, pat)), Some((c, _)))
                if connections
                    .iter()
                    .any(|x| x.id == c && x.protocol != BusProtocol::Modbus) =>
            {
                let protocol = connections
                    .iter()
                    .find(|x| x.id == c)
                    .map_or(BusProtocol::Modbus, |x| x.protocol);
                line_source(
                    (c, protocol),
                    (p, pat),
                    self.address,
                    self.slave_id,
                    self.timeout_ms,
                    &mut errors,
                )
            }
            (None, Some((p, pat)), Some((c, cat))) => {
                if let Some((_, at)) = &self.address {
                    errors.push(at.error(
                        "address is for DL/T 645 and CJ/T 188 meters; a Modbus meter has a slave_id",
                    ));
                }
                let profile = profiles.get(&p);
                if profile.is_none() {
                    errors
                        .push(pat.error(format!("unknown profile `{p}`{}", profiles.suggest(&p))));
                }
                let connection = connections.iter().find(|x| x.id == c);
                if connection.is_none() {
                    errors.push(cat.error(format!("unknown connection `{c}`")));
                }
                let slave_id = match self.slave_id {
                    None => 1,
                    Some((s, at)) => {
                        let max = match connection.map(|c| &c.url) {
                            Some(ModbusUrl::Tcp { .. }) => 255,
                            _ => 247,
                        };
                        if !(1..=max).contains(&s) {
                            errors.push(at.error(format!("slave_id must be between 1 and {max}")));
                        }
                        s.clamp(0, 255) as u8
                    }
                };
                let timeout_ms = match self.timeout_ms {
                    None => None,
                    Some((t, at)) if !(10..=60_000).contains(&t) => {
                        errors.push(at.error("timeout_ms must be between 10 and 60000"));
                        None
                    }
                    Some((t, _)) => Some(t as u64),
                };
                profile.map(|profile| MeterSource::Modbus {
                    connection: c,
                    profile,
                    slave_id,
                    timeout_ms,
                })
            }
            (None, None, _) => {
                errors.push(id_at.error(format!(
                    "meter `{id}` needs a `profile` and a `connection`, or `read_by_hand`"
                )));
                None
            }
            (None, Some(_), None) => {
                errors.push(id_at.error(format!("meter `{id}` has a profile but no `connection`")));
                None
            }
        };

        match (errors.is_empty(), source, category) {
            (true, Some(source), Some(category)) => Ok(Meter {
                id,
                name: self.name,
                unit: self.unit.0,
                category,
                source,
                multiplier,
                multiplier_history,
                max_power,
                parent_meter: self.parent_meter.map(|(p, _)| p),
                live_interval: Duration::from_secs(live_interval_s),
                energy_interval_min,
            }),
            _ => Err(errors),
        }
    }
}

/// A meter on a DL/T 645 or CJ/T 188 bus: its line profile (of the bus's protocol) and its
/// nameplate address, each error where it was written.
fn line_source(
    (connection, protocol): (String, BusProtocol),
    (profile_name, profile_at): (String, At),
    address: Option<(String, At)>,
    slave_id: Option<(i64, At)>,
    timeout_ms: Option<(i64, At)>,
    errors: &mut Vec<ConfigError>,
) -> Option<MeterSource> {
    if let Some((_, at)) = slave_id {
        errors.push(at.error(format!(
            "a meter on a {} bus is addressed by `address` (its nameplate), not slave_id",
            protocol.name()
        )));
    }
    let library = LineProfileLibrary::builtin();
    let profile = match library.get(&profile_name) {
        Some(p) => {
            let fits = match p.protocol {
                LineProtocol::Dlt645_2007 | LineProtocol::Dlt645_1997 => {
                    protocol == BusProtocol::Dlt645
                }
                LineProtocol::Cjt188(_) => protocol == BusProtocol::Cjt188,
            };
            if !fits {
                errors.push(profile_at.error(format!(
                    "profile `{profile_name}` is not a {} profile",
                    protocol.name()
                )));
            }
            Some(p)
        }
        None => {
            errors.push(profile_at.error(format!(
                "unknown {} profile `{profile_name}`; known: {}",
                protocol.name(),
                library.names().collect::<Vec<_>>().join(", ")
            )));
            None
        }
    };
    let address = match address {
        None => {
            errors.push(profile_at.error(format!(
                "a meter on a {} bus needs `address`: the digits on its nameplate",
                protocol.name()
            )));
            None
        }
        Some((text, at)) => {
            let parsed = if protocol == BusProtocol::Cjt188 {
                text.parse()
                    .map(LineAddress::Cjt188)
                    .map_err(|e| e.to_string())
            } else {
                text.parse()
                    .map(LineAddress::Dlt645)
                    .map_err(|e| e.to_string())
            };
            parsed.map_err(|e| errors.push(at.error(e))).ok()
        }
    };
    let timeout_ms = match timeout_ms {
        Some((t, at)) if !(10..=60_000).contains(&t) => {
            errors.push(at.error("timeout_ms must be between 10 and 60000"));
            None
        }
        other => other.map(|(t, _)| t as u64),
    };
    Some(MeterSource::Line {
        connection,
        profile: profile?,
        address: address?,
        timeout_ms,
    })
}
