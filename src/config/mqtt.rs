//! MQTT brokers in the site config: `[[connections]]` with an `mqtt://` or `mqtts://` URL and
//! their `[[connections.subscriptions]]`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use super::error::At;
use super::payload::{PayloadFormat, PayloadKind, PayloadLibrary};
use super::secret::Secret;
use crate::collect::mqtt::topic::TopicTemplate;

#[derive(Debug, Clone)]
pub struct Broker {
    pub id: String,
    pub host: String,
    pub port: u16,
    pub tls: bool,
    /// MQTT 5 instead of 3.1.1.
    pub v5: bool,
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
    /// CA certificate (PEM) for `mqtts://` brokers with a private CA; the system roots otherwise.
    pub ca_file: Option<PathBuf>,
    pub keep_alive: Duration,
    /// Off by default: the broker keeps the session and queues QoS 1 messages while we are away.
    pub clean_session: bool,
    pub subscriptions: Vec<Subscription>,
}

#[derive(Debug, Clone)]
pub struct Subscription {
    pub topic: TopicTemplate,
    pub format: Arc<PayloadFormat>,
    /// `$share/<group>/...`: several collectors split the stream.
    pub share_group: Option<String>,
    pub qos: u8,
    /// Meter id template from the topic's placeholders (default `{meter}`).
    pub meter: String,
}

impl Subscription {
    pub fn filter(&self) -> String {
        match &self.share_group {
            Some(g) => format!("$share/{g}/{}", self.topic.filter()),
            None => self.topic.filter(),
        }
    }
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubscriptionFile {
    topic: Spanned<String>,
    format: Spanned<String>,
    share_group: Option<String>,
    qos: Option<Spanned<u8>>,
    meter: Option<Spanned<String>>,
}

/// The MQTT keys of a `[[connections]]` table.
#[derive(Deserialize, Default)]
pub(crate) struct MqttKeys {
    pub mqtt_version: Option<Spanned<String>>,
    pub client_id: Option<String>,
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub keep_alive_s: Option<u64>,
    pub clean_session: Option<bool>,
    #[serde(default)]
    pub subscriptions: Vec<SubscriptionFile>,
}

impl MqttKeys {
    pub fn any(&self) -> bool {
        self.mqtt_version.is_some()
            || self.client_id.is_some()
            || self.username.is_some()
            || self.password_env.is_some()
            || self.password_file.is_some()
            || self.ca_file.is_some()
            || self.keep_alive_s.is_some()
            || self.clean_session.is_some()
            || !self.subscriptions.is_empty()
    }
}

/// Whether a connection URL names an MQTT broker.
pub fn is_mqtt_url(url: &str) -> bool {
    url.starts_with("mqtt://") || url.starts_with("mqtts://")
}

#[allow(clippy::too_many_arguments)] // the parts of a site a broker is validated against
pub(crate) fn build_broker(
    id: &str,
    url: &Spanned<String>,
    keys: &MqttKeys,
    payloads: &PayloadLibrary,
    site_name: &str,
    base: &Path,
    at: &dyn Fn(std::ops::Range<usize>) -> At,
    errors: &mut Vec<ConfigError>,
) -> Option<Broker> {
    let (tls, rest) = match url.get_ref().split_once("://") {
        Some(("mqtts", r)) => (true, r),
        Some((_, r)) => (false, r),
        None => (false, ""),
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => match p.parse::<u16>() {
            Ok(p) if p > 0 && !h.is_empty() => (h.to_string(), p),
            _ => {
                errors.push(
                    at(url.span())
                        .error(format!("`{p}` in `{}` is not a port number", url.get_ref())),
                );
                return None;
            }
        },
        None if !rest.is_empty() => (rest.to_string(), if tls { 8883 } else { 1883 }),
        None => {
            errors.push(at(url.span()).error(format!(
                "`{}` needs a host, e.g. mqtt://broker.campus:1883",
                url.get_ref()
            )));
            return None;
        }
    };
    let v5 = match keys.mqtt_version.as_ref().map(|v| v.get_ref().as_str()) {
        None | Some("3.1.1") => false,
        Some("5") => true,
        Some(other) => {
            let span = keys
                .mqtt_version
                .as_ref()
                .map(|v| v.span())
                .unwrap_or(url.span());
            errors.push(at(span).error(format!(
                "mqtt_version must be \"3.1.1\" or \"5\", not \"{other}\""
            )));
            false
        }
    };
    let password = match Secret::from_env_or_file(
        keys.password_env.as_deref(),
        keys.password_file.as_deref(),
        base,
    ) {
        Ok(p) => p,
        Err(e) => {
            errors.push(at(url.span()).error(format!("connection `{id}` password: {e}")));
            None
        }
    };
    if password.is_some() && keys.username.is_none() {
        errors.push(at(url.span()).error(format!(
            "connection `{id}` has a password but no `username`"
        )));
    }
    let mut subscriptions = Vec::new();
    for s in &keys.subscriptions {
        let topic = match TopicTemplate::parse(s.topic.get_ref()) {
            Ok(t) => t,
            Err(e) => {
                errors.push(at(s.topic.span()).error(e));
                continue;
            }
        };
        let Some(format) = payloads.get(s.format.get_ref()) else {
            errors.push(at(s.format.span()).error(format!(
                "unknown payload format `{}`; known: {}",
                s.format.get_ref(),
                payloads.names().collect::<Vec<_>>().join(", ")
            )));
            continue;
        };
        let meter = s
            .meter
            .as_ref()
            .map_or_else(|| "{meter}".to_string(), |m| m.get_ref().clone());
        let batch = matches!(format.kind, PayloadKind::Batch(_));
        if !batch {
            let mut rest = meter.as_str();
            while let Some(start) = rest.find('{') {
                let end = rest[start..].find('}').map_or(rest.len(), |e| e + start);
                let name = &rest[(start + 1).min(end)..end];
                if !topic.captures_name(name) {
                    let span = s.meter.as_ref().map_or(s.topic.span(), |m| m.span());
                    errors.push(at(span).error(format!(
                        "the meter id template `{meter}` needs {{{name}}}, which topic `{}` does not capture",
                        topic.text
                    )));
                }
                rest = &rest[(end + 1).min(rest.len())..];
            }
        }
        if matches!(format.kind, PayloadKind::Number { quantity: None, .. })
            && !topic.captures_name("quantity")
        {
            errors.push(at(s.topic.span()).error(format!(
                "format `{}` takes the quantity from the topic: add a {{quantity}} level",
                format.name
            )));
        }
        let qos = match &s.qos {
            None => 1,
            Some(q) if *q.get_ref() <= 1 => *q.get_ref(),
            Some(q) => {
                errors
                    .push(at(q.span()).error(
                        "qos must be 0 or 1 (QoS 1 is what keeps readings from being lost)",
                    ));
                1
            }
        };
        subscriptions.push(Subscription {
            topic,
            format,
            share_group: s.share_group.clone(),
            qos,
            meter,
        });
    }
    if subscriptions.is_empty() && keys.subscriptions.is_empty() {
        errors.push(at(url.span()).error(format!(
            "MQTT connection `{id}` has no [[connections.subscriptions]]"
        )));
    }
    Some(Broker {
        id: id.to_string(),
        host,
        port,
        tls,
        v5,
        client_id: keys
            .client_id
            .clone()
            .unwrap_or_else(|| format!("jieneng-{}", slug(site_name))),
        username: keys.username.clone(),
        password,
        ca_file: keys.ca_file.as_ref().map(|p| base.join(p)),
        keep_alive: Duration::from_secs(keys.keep_alive_s.unwrap_or(30).max(5)),
        clean_session: keys.clean_session.unwrap_or(false),
        subscriptions,
    })
}

/// An ASCII client id from the site name (MQTT 3.1.1 brokers may reject other characters).
fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    if s.is_empty() {
        format!("{:08x}", crc32fast::hash(name.as_bytes()))
    } else {
        s
    }
}
