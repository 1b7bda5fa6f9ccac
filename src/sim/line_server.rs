//! A transparent RS-485-to-TCP gateway with simulated DL/T 645 or CJ/T 188 meters behind it.
//!
//! Each TCP connection is the line: request frames are read from the stream as they arrive
//! (wake-up preamble and noise before the 68H skipped), and only a request addressed to one of
//! the line's meters is answered, as on a real bus: a request for nobody, for several meters at
//! once (a wildcard with more than one meter) or for a dead meter gets silence; a broadcast time
//! request is logged and never answered. A meter answers with the values of its load model
//! (`sim::meter`) at the instant of the request, so registers grow as the Modbus simulator's
//! meters do; an identifier it does not have gets the abnormal reply "no requested data"
//! (DL/T 645) or C1H with its status (CJ/T 188). Garbage is skipped, never answered, and never
//! stops the server. Timing: the meter's turnaround, plus the wire time of request and reply at
//! the line's baud rate (8E1), before the reply is written.
//!
//! The answers are pure functions of (meters, request, instant): [`answer_dlt645`],
//! [`answer_cjt188`].

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::FromPrimitive;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::load::{Component, Shape, noise};
use super::meter::{Medium, SimMeter, origin_slot};
use super::modbus_server::wire_time;
use crate::collect::cjt188;
use crate::collect::dlt645;
use crate::collect::line::block_elements;
use crate::config::line_profile::{LineProfile, LineProtocol, LineValue};
use crate::quantity::Quantity;

/// A DL/T 645 meter on the line.
pub struct Dlt645Meter {
    pub address: dlt645::frame::Address,
    pub profile: Arc<LineProfile>,
    pub meter: SimMeter,
    /// Never answers (unpowered, cut off the bus).
    pub dead: bool,
}

/// A CJ/T 188 meter on the line. Water and gas meters measure their model's volume; a heat
/// meter's model gives the water flowing through it, and heat follows from a nominal 15 K
/// between supply and return.
pub struct Cjt188Meter {
    pub meter_type: cjt188::frame::MeterType,
    pub address: cjt188::frame::Address,
    pub profile: Arc<LineProfile>,
    pub meter: SimMeter,
    /// The same model again, asked only for the settlement day, so that the two instants do
    /// not make one model integrate from its origin over and over.
    pub settlement: SimMeter,
    pub dead: bool,
}

/// The meters behind one gateway: one protocol family per line (DL/T 645-2007 and -1997
/// meters may share it).
pub enum LineMeters {
    Dlt645(Vec<Dlt645Meter>),
    Cjt188(Vec<Cjt188Meter>),
}

impl LineMeters {
    pub fn len(&self) -> usize {
        match self {
            LineMeters::Dlt645(m) => m.len(),
            LineMeters::Cjt188(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How the simulated meters answer: timing.
#[derive(Debug, Clone, Copy, Default)]
pub struct LineOptions {
    /// Time from the end of a request to the start of the reply.
    pub turnaround: Duration,
    /// Emulate the line at this speed (8E1): request and reply bytes take wire time (0: none).
    pub baud: Option<u32>,
}

/// kWh of heat per m³ of water at the nominal 15 K: 1.163 kWh/(m³·K) × 15 K.
const HEAT_KWH_PER_M3: f64 = 17.445;

/// The load model of the `index`-th meter (from 1) of a kind on a line: an office-like load
/// sized so that a 2007 meter's power (XX.XXXX kW) stays within its format.
pub fn line_meter(medium: Medium, index: u64) -> SimMeter {
    let seed = 0x4C1E_0000 + index;
    let k = (index % 10) as f64;
    let peak = match medium {
        Medium::Electricity3 => 10.0 + 3.0 * k,
        Medium::Electricity1 => 2.0 + 0.5 * k,
        Medium::Water | Medium::Gas => 0.5 + 0.2 * k,
    };
    let load = Component {
        shape: Shape::Office,
        base: peak * 0.1,
        peak,
        seed,
    };
    let initial = match medium {
        Medium::Electricity3 | Medium::Electricity1 => 1000.0 + 100.0 * (index % 100) as f64,
        Medium::Water | Medium::Gas => 100.0 + 10.0 * (index % 100) as f64,
    };
    SimMeter::new(medium, vec![load], seed, initial, chrono_tz::Asia::Shanghai)
}

/// What a DL/T 645 profile's meter measures.
pub fn dlt645_medium(profile: &LineProfile) -> Medium {
    if profile.reads(Quantity::named("voltage_l2_v")) {
        Medium::Electricity3
    } else {
        Medium::Electricity1
    }
}

/// A CJ/T 188 meter of `profile` (which must be a CJ/T 188 profile; any other is taken as a
/// cold-water meter) with its model.
pub fn cjt188_meter(
    profile: Arc<LineProfile>,
    address: cjt188::frame::Address,
    index: u64,
) -> Cjt188Meter {
    let meter_type = match profile.protocol {
        LineProtocol::Cjt188(t) => t,
        _ => cjt188::frame::MeterType::ColdWater,
    };
    let medium = if meter_type == cjt188::frame::MeterType::Gas {
        Medium::Gas
    } else {
        Medium::Water
    };
    Cjt188Meter {
        meter_type,
        address,
        profile,
        meter: line_meter(medium, index),
        settlement: line_meter(medium, index),
        dead: false,
    }
}

/// `v` as an exact decimal (NaN and infinities as zero).
fn decimal(v: f64) -> Decimal {
    Decimal::from_f64(v).unwrap_or_default()
}

/// A value for `format`: a register past the format's capacity rolls over as on a real meter;
/// an instantaneous value beyond it is shown at the format's limit.
fn fit(value: Decimal, format: dlt645::data::Format, cumulative: bool) -> Decimal {
    let cap = dlt645::data::capacity(format);
    if cumulative {
        return value.abs() % cap;
    }
    let limit = cap - Decimal::new(1, format.decimals);
    value.clamp(-limit, limit)
}

/// The value bytes of one DL/T 645 identifier of `m` at `now`, or `None` if the meter has no
/// such identifier: a profile's value, a block, or one element of a block.
fn dlt645_value(m: &Dlt645Meter, id: dlt645::frame::DataId, now: DateTime<Utc>) -> Option<Vec<u8>> {
    let one = |q: &Quantity, format: dlt645::data::Format| {
        let v = fit(decimal(m.meter.value(*q, now)), format, q.is_cumulative());
        dlt645::data::encode(v, format).ok()
    };
    for value in &m.profile.values {
        let LineValue::Dlt645 {
            id: have,
            quantities,
            format,
        } = value
        else {
            continue;
        };
        if *have == id {
            let mut bytes = Vec::new();
            for q in quantities {
                bytes.extend(one(q, *format)?);
            }
            return Some(bytes);
        }
        if let Some(k) = block_elements(*have, quantities.len())
            .and_then(|ids| ids.iter().position(|e| *e == id))
        {
            return quantities.get(k).and_then(|q| one(q, *format));
        }
    }
    None
}

/// The meters a request's address selects (its own, or those a wildcard covers).
fn addressed<M>(meters: &[M], accepts: impl Fn(&M) -> bool) -> Result<&M, usize> {
    let mut found = meters.iter().filter(|m| accepts(m));
    match (found.next(), found.next()) {
        (Some(m), None) => Ok(m),
        (None, _) => Err(0),
        (Some(_), Some(_)) => Err(2 + found.count()),
    }
}

/// What the line answers to one DL/T 645 request at `now`: the reply frame, or `None` for
/// silence.
pub fn answer_dlt645(
    meters: &[Dlt645Meter],
    request: &dlt645::frame::RequestFrame,
    now: DateTime<Utc>,
) -> Option<Vec<u8>> {
    use dlt645::frame::{
        Address, Request, Version, abnormal_reply, control, error, read_address_reply, read_reply,
    };
    if request.address == Address::BROADCAST {
        match request.broadcast_time() {
            Some(t) => tracing::info!(time = %t, "DL/T 645 broadcast time (no meter answers)"),
            None => tracing::info!(
                control = request.control,
                "DL/T 645 broadcast request (no meter answers)"
            ),
        }
        return None;
    }
    let meter = match addressed(meters, |m| request.address.accepts(&m.address)) {
        Ok(m) => m,
        Err(0) => {
            tracing::debug!(address = %request.address, "request for no meter on this line");
            return None;
        }
        Err(n) => {
            tracing::debug!(address = %request.address, meters = n, "request answers to several meters: they would collide, none answers");
            return None;
        }
    };
    if meter.dead {
        return None;
    }
    let version = match meter.profile.protocol {
        LineProtocol::Dlt645_1997 => Version::V1997,
        _ => Version::V2007,
    };
    match request.control {
        control::READ_ADDRESS => Some(read_address_reply(&meter.address)),
        control::READ_2007 | control::READ_1997 => {
            let id = request.read_id()?;
            if id.version() != version {
                tracing::debug!(address = %meter.address, %id, "read in the other edition of DL/T 645: not answered");
                return None;
            }
            match dlt645_value(meter, id, now) {
                Some(value) => read_reply(&meter.address, id, &value).ok(),
                None => Some(abnormal_reply(
                    &meter.address,
                    &Request::Read(id),
                    error::NO_DATA,
                )),
            }
        }
        other => {
            tracing::debug!(address = %meter.address, control = other, "function not simulated: not answered");
            None
        }
    }
}

/// The heat meter's supply and return temperatures at `now`, °C.
fn temperatures(m: &Cjt188Meter, now: DateTime<Utc>) -> (Decimal, Decimal) {
    let supply = 60.0 + 1.5 * noise(m.meter.seed ^ 0x7E, now.timestamp() / 10);
    let back = supply - 15.0 + 0.5 * noise(m.meter.seed ^ 0x7F, now.timestamp() / 10);
    (decimal(supply).round_dp(2), decimal(back).round_dp(2))
}

/// The start of the month of `now` in the meter's zone: the settlement day.
fn settlement_day(m: &SimMeter, now: DateTime<Utc>) -> DateTime<Utc> {
    let local = now.with_timezone(&m.tz);
    m.tz.with_ymd_and_hms(local.year(), local.month(), 1, 0, 0, 0)
        .earliest()
        .map_or(now, |t| t.with_timezone(&Utc))
}

/// A CJ/T 188 meter's 901FH reading at `now`.
pub fn cjt188_reading(m: &Cjt188Meter, now: DateTime<Utc>) -> Option<Vec<u8>> {
    use cjt188::data::{
        HeatReading, Measured, Unit, WaterReading, encode_heat_901f, encode_water_901f,
    };
    use cjt188::frame::{MeterType, Status};
    // XXXXXX.XX: registers roll over at a million.
    let register = |v: f64| (decimal(v).abs() % Decimal::from(1_000_000)).trunc_with_scale(2);
    let volume = m.meter.registers_at(now).0;
    let settled = m
        .settlement
        .registers_at(settlement_day(&m.settlement, now))
        .0;
    let flow = m.meter.value(Quantity::named("flow_m3h"), now).max(0.0);
    let time = Some(now.with_timezone(&m.meter.tz).naive_local());
    let status = Status { bytes: [0, 0] };
    if matches!(m.meter_type, MeterType::Heat | MeterType::Cooling) {
        let (supply, back) = temperatures(m, now);
        let hours = (now.timestamp() - origin_slot() * super::load::SLOT_SECS).max(0) / 3600;
        let reading = HeatReading {
            settlement_heat: Measured::new(register(settled * HEAT_KWH_PER_M3), Unit::KWh)?,
            current_heat: Measured::new(register(volume * HEAT_KWH_PER_M3), Unit::KWh)?,
            power: Measured::new(
                decimal(flow * HEAT_KWH_PER_M3).trunc_with_scale(2),
                Unit::KW,
            )?,
            flow: Measured::new(decimal(flow).trunc_with_scale(4), Unit::M3PerH)?,
            volume: Measured::new(register(volume), Unit::M3)?,
            supply_temperature: supply,
            return_temperature: back,
            working_hours: Decimal::from(hours % 1_000_000),
            time,
            status,
        };
        encode_heat_901f(&reading).ok()
    } else {
        let reading = WaterReading {
            current: Measured::new(register(volume), Unit::M3)?,
            settlement: Measured::new(register(settled), Unit::M3)?,
            time,
            status,
        };
        encode_water_901f(&reading).ok()
    }
}

/// What the line answers to one CJ/T 188 request at `now`: the reply frame, or `None`.
pub fn answer_cjt188(
    meters: &[Cjt188Meter],
    request: &cjt188::frame::RequestFrame,
    now: DateTime<Utc>,
) -> Option<Vec<u8>> {
    use cjt188::frame::{DI_METER_READING, Status, abnormal_reply, read_reply};
    let meter = match addressed(meters, |m| {
        request.meter_type.accepts(m.meter_type) && request.address.accepts(&m.address)
    }) {
        Ok(m) => m,
        Err(0) => {
            tracing::debug!(address = %request.address, "request for no meter on this line");
            return None;
        }
        Err(n) => {
            tracing::debug!(address = %request.address, meters = n, "request answers to several meters: they would collide, none answers");
            return None;
        }
    };
    if meter.dead {
        return None;
    }
    let Some((di, ser)) = request.read() else {
        tracing::debug!(address = %meter.address, control = request.control, "function not simulated: not answered");
        return None;
    };
    if di == DI_METER_READING
        && let Some(data) = cjt188_reading(meter, now)
    {
        return read_reply(meter.meter_type, &meter.address, di, ser, &data).ok();
    }
    Some(abnormal_reply(
        meter.meter_type,
        &meter.address,
        ser,
        Status { bytes: [0, 0] },
    ))
}

/// One step through the received bytes.
enum Step {
    /// Wait for more bytes.
    NeedMore,
    /// A request of `wire` bytes (noise excluded) ended at `consumed`; the reply, if any.
    Request {
        consumed: usize,
        wire: usize,
        reply: Option<Vec<u8>>,
    },
    /// These bytes form no request: drop them.
    Skip(usize),
}

/// Bytes to drop after a frame error: through the first 68H (the frame that failed starts
/// there or later), or all of it.
fn resync(buf: &[u8]) -> usize {
    buf.iter()
        .position(|&b| b == 0x68)
        .map_or(buf.len(), |at| at + 1)
}

/// A request's bytes on the wire: the frame and its FEH wake-up preamble (line noise before it
/// is not the master's).
fn on_the_wire(buf: &[u8], consumed: usize, noise: usize) -> usize {
    let preamble = buf[..noise.min(buf.len())]
        .iter()
        .rev()
        .take_while(|&&b| b == 0xFE)
        .count();
    consumed.saturating_sub(noise) + preamble
}

fn step(meters: &LineMeters, buf: &[u8], now: DateTime<Utc>) -> Step {
    match meters {
        LineMeters::Dlt645(meters) => match dlt645::frame::parse_request(buf) {
            Ok(dlt645::frame::Parsed::NeedMore(_)) => Step::NeedMore,
            Ok(dlt645::frame::Parsed::Frame {
                reply,
                consumed,
                noise,
            }) => Step::Request {
                consumed,
                wire: on_the_wire(buf, consumed, noise),
                reply: answer_dlt645(meters, &reply, now),
            },
            Err(e) => {
                tracing::debug!(error = %e, "line bytes skipped");
                Step::Skip(resync(buf))
            }
        },
        LineMeters::Cjt188(meters) => match cjt188::frame::parse_request(buf) {
            Ok(cjt188::frame::Parsed::NeedMore(_)) => Step::NeedMore,
            Ok(cjt188::frame::Parsed::Frame {
                reply,
                consumed,
                noise,
            }) => Step::Request {
                consumed,
                wire: on_the_wire(buf, consumed, noise),
                reply: answer_cjt188(meters, &reply, now),
            },
            Err(e) => {
                tracing::debug!(error = %e, "line bytes skipped");
                Step::Skip(resync(buf))
            }
        },
    }
}

/// A frame begun but not finished within this time is dropped: a meter's receiver starts over
/// after a pause on the line.
const IDLE_RESET: Duration = Duration::from_millis(500);

async fn serve_connection(
    mut stream: TcpStream,
    meters: Arc<LineMeters>,
    options: LineOptions,
    cancel: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    loop {
        // Answer every whole request received so far, in order, as the line would.
        loop {
            match step(&meters, &buf, Utc::now()) {
                Step::NeedMore => break,
                Step::Skip(n) => {
                    let n = n.max(1).min(buf.len());
                    buf.drain(..n);
                }
                Step::Request {
                    consumed,
                    wire,
                    reply,
                } => {
                    buf.drain(..consumed.min(buf.len()));
                    let Some(reply) = reply else { continue };
                    let delay = options.turnaround
                        + options
                            .baud
                            .filter(|b| *b > 0)
                            .map_or(Duration::ZERO, |b| wire_time(wire + reply.len(), b));
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(delay) => {}
                    }
                    if stream.write_all(&reply).await.is_err() {
                        return;
                    }
                }
            }
            if buf.is_empty() {
                break;
            }
        }
        let read = async {
            if buf.is_empty() {
                Some(stream.read(&mut chunk).await)
            } else {
                tokio::time::timeout(IDLE_RESET, stream.read(&mut chunk))
                    .await
                    .ok()
            }
        };
        let got = tokio::select! {
            _ = cancel.cancelled() => return,
            got = read => got,
        };
        match got {
            None => {
                tracing::debug!(bytes = buf.len(), "unfinished frame dropped after a pause");
                buf.clear();
            }
            Some(Ok(0)) | Some(Err(_)) => return,
            Some(Ok(n)) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
        }
    }
}

/// Serves `meters` on `listener` until cancelled: every connection is a line with all of them
/// behind it.
pub async fn serve_line(
    listener: TcpListener,
    meters: LineMeters,
    options: LineOptions,
    cancel: CancellationToken,
) {
    let meters = Arc::new(meters);
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => return,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                tracing::debug!(%peer, "line connection");
                tokio::spawn(serve_connection(
                    stream,
                    meters.clone(),
                    options,
                    cancel.clone(),
                ));
            }
            Err(e) => {
                tracing::debug!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// The meters of one demo line gateway, each answering from the same load model as the demo's
/// history for it (a fresh copy: the model is a function of time).
pub fn demo_line(meters: &[&crate::sim::campus::DemoMeter]) -> anyhow::Result<LineMeters> {
    let library = crate::config::line_profile::LineProfileLibrary::builtin();
    let copy = |s: &SimMeter| {
        SimMeter::new(s.medium, s.components.clone(), s.seed, s.initial, s.tz)
            .with_ct_ratio(s.ct_ratio)
    };
    let mut dlt = Vec::new();
    let mut cjt = Vec::new();
    for m in meters {
        let Some(line) = &m.line else { continue };
        let profile = library
            .get(line.profile)
            .ok_or_else(|| anyhow::anyhow!("no line profile `{}`", line.profile))?;
        match profile.protocol {
            LineProtocol::Cjt188(meter_type) => cjt.push(Cjt188Meter {
                meter_type,
                address: line.address.parse().map_err(|e| anyhow::anyhow!("{e}"))?,
                profile,
                meter: copy(&m.sim),
                settlement: copy(&m.sim),
                dead: false,
            }),
            _ => dlt.push(Dlt645Meter {
                address: line.address.parse().map_err(|e| anyhow::anyhow!("{e}"))?,
                profile,
                meter: copy(&m.sim),
                dead: false,
            }),
        }
    }
    Ok(if cjt.is_empty() {
        LineMeters::Dlt645(dlt)
    } else {
        LineMeters::Cjt188(cjt)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::line::{Link, decode_cjt188, decode_dlt645, read_dlt645};
    use crate::config::line_profile::LineProfileLibrary;
    use dlt645::frame::{Address, DataId, Parsed, ReplyBody, Request};
    use proptest::prelude::*;

    fn profile(name: &str) -> Arc<LineProfile> {
        LineProfileLibrary::builtin()
            .resolve(name)
            .expect("built-in profile")
    }

    fn dlt_line(name: &str) -> Vec<Dlt645Meter> {
        let p = profile(name);
        (1..=3u64)
            .map(|k| Dlt645Meter {
                address: format!("20230000000{k}").parse().expect("address"),
                profile: p.clone(),
                meter: line_meter(dlt645_medium(&p), k),
                dead: k == 2,
            })
            .collect()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 8, 3, 0, 0).unwrap()
    }

    fn ask(meters: &[Dlt645Meter], frame: &[u8]) -> Option<Vec<u8>> {
        match dlt645::frame::parse_request(frame) {
            Ok(Parsed::Frame { reply, .. }) => answer_dlt645(meters, &reply, now()),
            other => panic!("request should parse: {other:?}"),
        }
    }

    fn reply_body(reply: &[u8], to: &Address, id: DataId) -> ReplyBody {
        match dlt645::frame::parse_complete(reply, to, &Request::Read(id)) {
            Ok(Parsed::Frame { reply, .. }) => reply.body,
            other => panic!("reply should parse: {other:?}"),
        }
    }

    #[test]
    fn a_dlt645_meter_answers_its_profile_from_its_model() {
        let meters = dlt_line("dlt645-2007-three-phase");
        let one: Address = "202300000001".parse().unwrap();
        for value in &meters[0].profile.values {
            let LineValue::Dlt645 {
                id,
                quantities,
                format,
            } = value
            else {
                panic!("a DL/T 645 profile");
            };
            let reply = ask(&meters, &dlt645::frame::read_request(&one, *id)).expect("answers");
            let ReplyBody::Data { data, .. } = reply_body(&reply, &one, *id) else {
                panic!("{id}: data");
            };
            let values = decode_dlt645(&data, quantities, *format).expect("decodes");
            for (q, v) in values {
                let model = meters[0].meter.value(q, now());
                let v = rust_decimal::prelude::ToPrimitive::to_f64(&v).unwrap_or(f64::NAN);
                // Cut off after the format's last digit.
                let step = 10f64.powi(-(format.decimals as i32));
                assert!((v - model).abs() <= step + 1e-9, "{q}: {v} vs {model}");
            }
        }
        // One element of the block, read on its own.
        let id = DataId::V2007(0x0001_0300);
        let reply = ask(&meters, &dlt645::frame::read_request(&one, id)).expect("answers");
        assert!(matches!(
            reply_body(&reply, &one, id),
            ReplyBody::Data { .. }
        ));
        // An identifier the meter does not have: no requested data.
        let id = DataId::V2007(0x0400_0503);
        let reply = ask(&meters, &dlt645::frame::read_request(&one, id)).expect("answers");
        let ReplyBody::Refused(word) = reply_body(&reply, &one, id) else {
            panic!("refused");
        };
        assert_eq!(word.bits, dlt645::frame::error::NO_DATA);
        // A 1997 read to a 2007 meter, the dead meter, a stranger, a broadcast: silence.
        let old = dlt645::frame::read_request(&one, DataId::V1997(0x9010));
        assert_eq!(ask(&meters, &old), None);
        let dead: Address = "202300000002".parse().unwrap();
        let read = |a| dlt645::frame::read_request(&a, DataId::V2007(0x0001_0000));
        assert_eq!(ask(&meters, &read(dead)), None);
        assert_eq!(ask(&meters, &read("202300000009".parse().unwrap())), None);
        let t = now().naive_utc();
        assert_eq!(
            ask(&meters, &dlt645::frame::time_sync_request(&t).unwrap()),
            None
        );
        // Read address: only with one meter on the line.
        assert_eq!(ask(&meters, &dlt645::frame::read_address_request()), None);
        let alone = &meters[..1];
        let reply = ask(alone, &dlt645::frame::read_address_request()).expect("answers");
        match dlt645::frame::parse_complete(&reply, &Address::WILDCARD, &Request::ReadAddress) {
            Ok(Parsed::Frame { reply, .. }) => assert_eq!(reply.address, one),
            other => panic!("{other:?}"),
        }
        // The wildcard reads the one meter too.
        assert!(ask(alone, &read(Address::WILDCARD)).is_some());
    }

    #[test]
    fn a_1997_meter_answers_1997_reads() {
        let meters = dlt_line("dlt645-1997");
        let one: Address = "202300000001".parse().unwrap();
        let id = DataId::V1997(0xB611);
        let reply = ask(&meters, &dlt645::frame::read_request(&one, id)).expect("answers");
        let ReplyBody::Data { data, .. } = reply_body(&reply, &one, id) else {
            panic!("data");
        };
        let v = dlt645::data::decode(&data, dlt645::data::VOLTAGE_V_1997).unwrap();
        assert!((Decimal::from(220)..Decimal::from(240)).contains(&v), "{v}");
        let other = dlt645::frame::read_request(&one, DataId::V2007(0x0001_0000));
        assert_eq!(ask(&meters, &other), None);
    }

    #[test]
    fn cjt188_meters_answer_901f() {
        use cjt188::frame::{Address, DI_METER_READING, MeterType, parse_request, read_request};
        for (name, meter_type) in [
            ("cjt188-cold-water", MeterType::ColdWater),
            ("cjt188-heat", MeterType::Heat),
        ] {
            let p = profile(name);
            let a: Address = "00000000000001".parse().unwrap();
            let meters = vec![cjt188_meter(p.clone(), a, 1)];
            let ask = |frame: Vec<u8>| match parse_request(&frame) {
                Ok(cjt188::frame::Parsed::Frame { reply, .. }) => {
                    answer_cjt188(&meters, &reply, now())
                }
                other => panic!("{other:?}"),
            };
            let reply = ask(read_request(meter_type, &a, DI_METER_READING, 5)).expect("answers");
            let asked = cjt188::frame::Request {
                meter_type,
                di: DI_METER_READING,
                ser: 5,
            };
            let data = match cjt188::frame::parse_complete(&reply, &a, &asked) {
                Ok(cjt188::frame::Parsed::Frame {
                    reply:
                        cjt188::frame::Reply {
                            body: cjt188::frame::ReplyBody::Data(data),
                            ..
                        },
                    ..
                }) => data,
                other => panic!("{other:?}"),
            };
            let values = decode_cjt188(&data, meter_type, &p).expect("decodes");
            assert_eq!(values.len(), p.values.len());
            assert!(values.iter().all(|(_, v)| *v > Decimal::ZERO), "{values:?}");
            // Another identifier: the abnormal reply; another type or address: silence.
            let refused = ask(read_request(meter_type, &a, 0x907F, 6)).expect("answers");
            assert!(matches!(
                cjt188::frame::parse_complete(
                    &refused,
                    &a,
                    &cjt188::frame::Request {
                        di: 0x907F,
                        ser: 6,
                        ..asked
                    }
                ),
                Ok(cjt188::frame::Parsed::Frame {
                    reply: cjt188::frame::Reply {
                        body: cjt188::frame::ReplyBody::Refused(_),
                        ..
                    },
                    ..
                })
            ));
            assert_eq!(
                ask(read_request(MeterType::Gas, &a, DI_METER_READING, 5)),
                None
            );
            let b: Address = "00000000000002".parse().unwrap();
            assert_eq!(ask(read_request(meter_type, &b, DI_METER_READING, 5)), None);
            assert!(
                ask(read_request(
                    MeterType::Any,
                    &Address::WILDCARD,
                    DI_METER_READING,
                    5
                ))
                .is_some()
            );
        }
    }

    /// Through TCP as the collector reads it, with garbage and a broadcast on the line first.
    #[test]
    fn the_gateway_serves_the_collector() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let cancel = CancellationToken::new();
            let options = LineOptions {
                turnaround: Duration::from_millis(5),
                baud: Some(9600),
            };
            let meters = LineMeters::Dlt645(dlt_line("dlt645-2007-single-phase"));
            tokio::spawn(serve_line(listener, meters, options, cancel.clone()));
            let mut garbage = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            garbage
                .write_all(&[0x68, 0x00, 0x68, 0xFF, 0x16, 0xFE, 0x68])
                .await
                .unwrap();
            let url = crate::collect::line::line_url(
                &format!("rtu-tcp://127.0.0.1:{port}"),
                LineProtocol::Dlt645_2007,
            )
            .unwrap();
            let mut link = Link::open(&url, Duration::from_secs(2)).await.unwrap();
            let p = profile("dlt645-2007-single-phase");
            let one: Address = "202300000001".parse().unwrap();
            let read =
                read_dlt645(&mut link, &one, &p, Duration::from_millis(1000), |_| true).await;
            assert!(read.errors.is_empty(), "{:?}", read.errors);
            assert_eq!(read.values.len(), 11, "{:?}", read.values);
            let dead: Address = "202300000002".parse().unwrap();
            let read =
                read_dlt645(&mut link, &dead, &p, Duration::from_millis(100), |_| true).await;
            assert!(read.values.is_empty());
            assert!(read.errors[0].1.to_string().contains("no answer"));
            // The garbage connection is still served.
            let mut buf = [0u8; 64];
            garbage
                .write_all(&dlt645::frame::read_request(
                    &one,
                    DataId::V2007(0x0201_0100),
                ))
                .await
                .unwrap();
            let n = tokio::time::timeout(Duration::from_secs(2), garbage.read(&mut buf))
                .await
                .expect("an answer")
                .unwrap();
            assert!(n > 0);
            link.close().await;
            cancel.cancel();
        });
    }

    proptest! {
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let dlt = LineMeters::Dlt645(dlt_line("dlt645-2007-single-phase"));
            let p = profile("cjt188-heat");
            let cjt = LineMeters::Cjt188(vec![cjt188_meter(p, "00000000000001".parse().unwrap(), 1)]);
            for meters in [&dlt, &cjt] {
                let mut buf = bytes.clone();
                // Step through as the connection does; every step makes progress.
                for _ in 0..500 {
                    match step(meters, &buf, now()) {
                        Step::NeedMore => break,
                        Step::Skip(n) => { let n = n.max(1).min(buf.len()); buf.drain(..n); }
                        Step::Request { consumed, .. } => { buf.drain(..consumed.min(buf.len())); }
                    }
                    if buf.is_empty() { break; }
                }
            }
        }
    }
}
