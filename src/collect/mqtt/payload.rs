//! Payload decoding: a pure function of (payload bytes, format, topic captures, site time zone)
//! to values in canonical units. Values a message does not carry are skipped; values it carries
//! wrongly are reported, and the rest of the message is still used.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use super::topic::Captures;
use crate::config::payload::{PayloadFormat, PayloadKind, TimeFormat};
use crate::quantity::{Quantity, scale};

/// One value found in a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The meter named inside the payload (batch formats); otherwise the topic names it.
    pub meter: Option<String>,
    pub quantity: Quantity,
    pub time: Option<DateTime<Utc>>,
    pub value: f64,
}

/// What a message yielded: values, and what was wrong with it.
#[derive(Debug, Default, PartialEq)]
pub struct DecodeOutcome {
    pub values: Vec<Decoded>,
    pub problems: Vec<String>,
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        // Some firmwares send numbers as strings.
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|x: &f64| x.is_finite())
}

pub fn parse_time(v: &Value, format: TimeFormat, tz: Tz) -> Result<DateTime<Utc>, String> {
    let bad = || format!("time {v} is not {format:?}");
    match format {
        TimeFormat::Rfc3339 => v
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(bad),
        TimeFormat::UnixS => number(v)
            .and_then(|s| DateTime::from_timestamp_millis((s * 1000.0).round() as i64))
            .ok_or_else(bad),
        TimeFormat::UnixMs => number(v)
            .and_then(|ms| DateTime::from_timestamp_millis(ms as i64))
            .ok_or_else(bad),
        TimeFormat::Local => v
            .as_str()
            .and_then(|s| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").ok())
            .and_then(|n| tz.from_local_datetime(&n).earliest())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(bad),
    }
}

/// RFC 3339 or Unix milliseconds, for formats that accept either.
fn flexible_time(v: &Value, tz: Tz) -> Result<DateTime<Utc>, String> {
    if v.is_number() {
        parse_time(v, TimeFormat::UnixMs, tz)
    } else {
        parse_time(v, TimeFormat::Rfc3339, tz)
    }
}

pub fn decode(
    format: &PayloadFormat,
    payload: &[u8],
    captures: &Captures,
    tz: Tz,
) -> DecodeOutcome {
    let mut out = DecodeOutcome::default();
    if let PayloadKind::Number {
        quantity,
        unit_factor,
    } = &format.kind
    {
        let quantity = match (quantity, captures.get("quantity")) {
            (Some(q), _) => *q,
            (None, Some(name)) => match Quantity::parse(name) {
                Some(q) => q,
                None => {
                    out.problems
                        .push(format!("topic names unknown quantity `{name}`"));
                    return out;
                }
            },
            (None, None) => {
                out.problems
                    .push("the topic has no {quantity} and the format names none".into());
                return out;
            }
        };
        match std::str::from_utf8(payload)
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite())
        {
            Some(v) => out.values.push(Decoded {
                meter: None,
                quantity,
                time: None,
                value: scale(v, *unit_factor),
            }),
            None => out.problems.push("payload is not a number".into()),
        }
        return out;
    }
    let json: Value = match serde_json::from_slice(payload) {
        Ok(v) => v,
        Err(e) => {
            out.problems.push(format!("not JSON: {e}"));
            return out;
        }
    };
    let time = match &format.time {
        Some((pointer, fmt)) => match json.pointer(pointer) {
            None | Some(Value::Null) => None,
            Some(v) => match parse_time(v, *fmt, tz) {
                Ok(t) => Some(t),
                Err(e) => {
                    out.problems.push(format!("{pointer}: {e}"));
                    None
                }
            },
        },
        None => None,
    };
    match &format.kind {
        PayloadKind::Json(values) => {
            for pv in values {
                match json.pointer(&pv.pointer) {
                    None | Some(Value::Null) => {}
                    Some(v) => match number(v) {
                        Some(x) => out.values.push(Decoded {
                            meter: None,
                            quantity: pv.quantity,
                            time,
                            value: scale(x, pv.unit_factor),
                        }),
                        None => out
                            .problems
                            .push(format!("{} is not a number: {v}", pv.pointer)),
                    },
                }
            }
            if out.values.is_empty() && out.problems.is_empty() {
                let expected: Vec<&str> = values.iter().map(|v| v.pointer.as_str()).collect();
                out.problems.push(format!(
                    "no known value in the message (looked for {})",
                    expected.join(", ")
                ));
            }
        }
        PayloadKind::Canonical => {
            let Some(object) = json.as_object() else {
                out.problems.push("not a JSON object".into());
                return out;
            };
            let time = match object.get("time") {
                None | Some(Value::Null) => None,
                Some(v) => match flexible_time(v, tz) {
                    Ok(t) => Some(t),
                    Err(e) => {
                        out.problems.push(e);
                        None
                    }
                },
            };
            for (key, v) in object.iter().filter(|(k, _)| k.as_str() != "time") {
                match (Quantity::parse(key), number(v)) {
                    (Some(q), Some(x)) => out.values.push(Decoded {
                        meter: None,
                        quantity: q,
                        time,
                        value: x,
                    }),
                    (None, _) => out.problems.push(format!("unknown quantity `{key}`")),
                    (Some(_), None) => out.problems.push(format!("{key} is not a number: {v}")),
                }
            }
        }
        PayloadKind::Batch(b) => {
            let items = if b.items.is_empty() {
                Some(&json)
            } else {
                json.pointer(&b.items)
            };
            let Some(items) = items.and_then(Value::as_array) else {
                out.problems.push(format!("no array at `{}`", b.items));
                return out;
            };
            for (i, item) in items.iter().enumerate() {
                let meter = item.pointer(&b.meter).and_then(Value::as_str);
                let quantity = item.pointer(&b.quantity).and_then(Value::as_str);
                let value = item.pointer(&b.value).and_then(number);
                let (Some(meter), Some(qname), Some(value)) = (meter, quantity, value) else {
                    out.problems.push(format!(
                        "item {i}: needs {}, {} and a numeric {}",
                        b.meter, b.quantity, b.value
                    ));
                    continue;
                };
                let Some(q) = Quantity::parse(qname) else {
                    out.problems
                        .push(format!("item {i}: unknown quantity `{qname}`"));
                    continue;
                };
                let factor = match b
                    .unit
                    .as_ref()
                    .and_then(|p| item.pointer(p))
                    .and_then(Value::as_str)
                {
                    None => 1.0,
                    Some(u) => match q.conversion_from(u) {
                        Some(f) => f,
                        None => {
                            out.problems.push(format!(
                                "item {i}: unit `{u}` cannot be converted to {}",
                                q.unit()
                            ));
                            continue;
                        }
                    },
                };
                let item_time = match b.time.as_ref().and_then(|p| item.pointer(p)) {
                    None | Some(Value::Null) => time,
                    Some(v) => match flexible_time(v, tz) {
                        Ok(t) => Some(t),
                        Err(e) => {
                            out.problems.push(format!("item {i}: {e}"));
                            continue;
                        }
                    },
                };
                out.values.push(Decoded {
                    meter: Some(meter.to_string()),
                    quantity: q,
                    time: item_time,
                    value: scale(value, factor),
                });
            }
        }
        PayloadKind::Number { .. } => unreachable!("handled above"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::payload::PayloadLibrary;
    use chrono::TimeZone;

    fn run(format: &str, payload: &str, captures: &[(&str, &str)]) -> DecodeOutcome {
        let lib = PayloadLibrary::builtin();
        let f = lib.get(format).unwrap();
        let c: Captures = captures
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        decode(&f, payload.as_bytes(), &c, chrono_tz::Asia::Shanghai)
    }

    fn values(o: &DecodeOutcome) -> Vec<(&'static str, f64)> {
        o.values
            .iter()
            .map(|d| (d.quantity.name(), d.value))
            .collect()
    }

    #[test]
    fn tasmota_sensor_in_canonical_units_and_local_time() {
        let o = run(
            "tasmota",
            r#"{"Time":"2026-11-28T12:00:05","ENERGY":{"TotalStartTime":"2026-01-01T00:00:00","Total":123.456,"Yesterday":1.2,"Today":0.4,"Power":1500,"ApparentPower":1600,"ReactivePower":550,"Factor":0.94,"Voltage":229,"Current":6.987}}"#,
            &[],
        );
        assert!(o.problems.is_empty(), "{:?}", o.problems);
        assert_eq!(
            values(&o)[..2],
            [("energy_import_kwh", 123.456), ("power_kw", 1.5)]
        );
        assert_eq!(
            o.values[0].time,
            Some(Utc.with_ymd_and_hms(2026, 11, 28, 4, 0, 5).unwrap())
        );
    }

    #[test]
    fn shelly_messages_carry_either_power_or_energy() {
        let em = run(
            "shelly-pro3em",
            r#"{"id":0,"a_current":4.1,"a_voltage":230.1,"a_act_power":900.5,"b_act_power":300,"c_act_power":-50,"total_act_power":1150.5}"#,
            &[],
        );
        assert!(o_has(&em, "power_kw", 1.1505) && o_has(&em, "power_l3_kw", -0.05));
        let data = run(
            "shelly-pro3em",
            r#"{"id":0,"total_act":1234567.8,"total_act_ret":1000}"#,
            &[],
        );
        assert_eq!(
            values(&data),
            vec![("energy_import_kwh", 1234.5678), ("energy_export_kwh", 1.0)]
        );
        let nothing = run("shelly-pro3em", r#"{"id":0,"foo":1}"#, &[]);
        assert!(nothing.values.is_empty());
        assert!(nothing.problems[0].starts_with("no known value"));
    }

    fn o_has(o: &DecodeOutcome, q: &str, v: f64) -> bool {
        o.values
            .iter()
            .any(|d| d.quantity.name() == q && (d.value - v).abs() < 1e-9)
    }

    #[test]
    fn zigbee_number_canonical_and_batch() {
        let z = run(
            "zigbee2mqtt-plug",
            r#"{"power":"45.5","energy":12.3,"state":"ON","linkquality":80,"voltage":null}"#,
            &[],
        );
        assert_eq!(
            values(&z),
            vec![("power_kw", 0.0455), ("energy_import_kwh", 12.3)]
        );
        let n = run("number", " 42.5\n", &[("quantity", "water_m3")]);
        assert_eq!(values(&n), vec![("water_m3", 42.5)]);
        assert_eq!(
            run("number", "4x", &[("quantity", "water_m3")]).problems,
            vec!["payload is not a number"]
        );
        let c = run(
            "jieneng-json",
            r#"{"time":1764302400000,"power_kw":3.5,"volts":1}"#,
            &[],
        );
        assert_eq!(values(&c), vec![("power_kw", 3.5)]);
        assert_eq!(c.problems, vec!["unknown quantity `volts`"]);
        let b = run(
            "jieneng-batch",
            r#"{"readings":[{"meter":"w1","quantity":"water_m3","value":10.5,"time":"2026-11-28T12:00:00+08:00"},{"meter":"w2","quantity":"water_m3","value":700,"unit":"L"},{"meter":"w3","value":1}]}"#,
            &[],
        );
        assert_eq!(b.values.len(), 2);
        assert_eq!(b.values[1].value, 0.7);
        assert_eq!(b.values[0].meter.as_deref(), Some("w1"));
        assert_eq!(
            b.problems,
            vec!["item 2: needs /meter, /quantity and a numeric /value"]
        );
    }

    #[test]
    fn garbage_is_reported_not_fatal() {
        assert!(run("tasmota", "\u{0}\u{1}garbage", &[]).problems[0].starts_with("not JSON"));
        assert!(
            run("tasmota", r#"{"ENERGY":{"Power":"lots"}}"#, &[]).problems[0]
                .contains("/ENERGY/Power is not a number")
        );
    }
}
