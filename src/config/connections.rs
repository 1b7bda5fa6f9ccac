//! `[[connections]]`: Modbus buses (TCP, RTU over TCP, serial) and MQTT brokers, told apart
//! by the URL's scheme.

use std::collections::HashSet;
use std::ops::Range;
use std::path::Path;

use super::error::{At, ConfigError};
use super::line_profile::LineProtocol;
use super::mqtt::{Broker, MqttKeys, build_broker, is_mqtt_url};
use super::payload::PayloadLibrary;
use super::site_file::ConnectionFile;
use crate::collect::line::line_url;
use crate::collect::modbus::url::ModbusUrl;
use crate::site::{BusProtocol, Connection};

/// The Modbus connections and the MQTT brokers, in the order written.
pub(super) fn connections(
    raw: &[ConnectionFile],
    site_name: &str,
    payloads: &PayloadLibrary,
    base: &Path,
    at: &dyn Fn(Range<usize>) -> At,
    errors: &mut Vec<ConfigError>,
) -> (Vec<Connection>, Vec<Broker>) {
    let mut connections = Vec::new();
    let mut brokers = Vec::new();
    let mut connection_ids = HashSet::new();
    for c in raw {
        let id = c.id.get_ref().clone();
        if !connection_ids.insert(id.clone()) {
            errors.push(at(c.id.span()).error(format!("duplicate connection id `{id}`")));
            continue;
        }
        let mqtt_keys = MqttKeys {
            mqtt_version: c.mqtt_version.clone(),
            client_id: c.client_id.clone(),
            username: c.username.clone(),
            password_env: c.password_env.clone(),
            password_file: c.password_file.clone(),
            ca_file: c.ca_file.clone(),
            keep_alive_s: c.keep_alive_s,
            clean_session: c.clean_session,
            subscriptions: c.subscriptions.clone(),
        };
        if is_mqtt_url(c.url.get_ref()) {
            if c.timeout_ms.is_some()
                || c.pause_ms.is_some()
                || c.connect_delay_ms.is_some()
                || c.tries.is_some()
                || c.protocol.is_some()
                || c.time_sync_hours.is_some()
            {
                errors.push(at(c.url.span()).error("timeout_ms, pause_ms, connect_delay_ms, tries and protocol apply to buses (Modbus, DL/T 645, CJ/T 188), not MQTT"));
            }
            if let Some(b) = build_broker(
                &id, &c.url, &mqtt_keys, payloads, site_name, base, at, errors,
            ) {
                brokers.push(b);
            }
            continue;
        }
        if mqtt_keys.any() {
            errors.push(at(c.url.span()).error(format!("connection `{id}` is Modbus: MQTT keys (subscriptions, username ...) need an mqtt:// URL")));
        }
        let tries = match &c.tries {
            None => 2,
            Some(t) if (1..=3).contains(t.get_ref()) => *t.get_ref(),
            Some(t) => {
                errors.push(at(t.span()).error("tries must be 1, 2 or 3"));
                2
            }
        };
        if let Some(t) = c
            .timeout_ms
            .as_ref()
            .filter(|t| !(10..=60_000).contains(t.get_ref()))
        {
            errors.push(at(t.span()).error("timeout_ms must be between 10 and 60000"));
        }
        let protocol = match c
            .protocol
            .as_ref()
            .map(|p| (p.get_ref().as_str(), p.span()))
        {
            None | Some(("modbus", _)) => BusProtocol::Modbus,
            Some(("dlt645", _)) => BusProtocol::Dlt645,
            Some(("cjt188", _)) => BusProtocol::Cjt188,
            Some((other, span)) => {
                errors.push(at(span).error(format!(
                    "protocol `{other}`: modbus (the default), dlt645 or cjt188"
                )));
                BusProtocol::Modbus
            }
        };
        let time_sync_hours = match &c.time_sync_hours {
            None => None,
            Some(h) if protocol != BusProtocol::Dlt645 => {
                errors.push(
                    at(h.span())
                        .error("time_sync_hours is for DL/T 645 buses (protocol = \"dlt645\")"),
                );
                None
            }
            Some(h) if !(1..=720).contains(h.get_ref()) => {
                errors.push(at(h.span()).error("time_sync_hours must be between 1 and 720"));
                None
            }
            Some(h) => Some(*h.get_ref()),
        };
        let parsed = match protocol {
            BusProtocol::Modbus => ModbusUrl::parse(c.url.get_ref()),
            // Serial settings default to the meters' factory settings (2400 baud 8E1).
            BusProtocol::Dlt645 => line_url(c.url.get_ref(), LineProtocol::Dlt645_2007),
            BusProtocol::Cjt188 => line_url(
                c.url.get_ref(),
                LineProtocol::Cjt188(crate::collect::cjt188::frame::MeterType::ColdWater),
            ),
        };
        match parsed {
            Ok(url) => connections.push(Connection {
                id,
                url,
                protocol,
                timeout_ms: c.timeout_ms.as_ref().map(|t| *t.get_ref()),
                pause_ms: c.pause_ms.unwrap_or(0),
                connect_delay_ms: c.connect_delay_ms.unwrap_or(0),
                tries,
                time_sync_hours,
            }),
            Err(e) => errors.push(at(c.url.span()).error(e)),
        }
    }
    (connections, brokers)
}
