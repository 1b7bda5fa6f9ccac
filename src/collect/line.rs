//! An RS-485 line for the Chinese meter-reading protocols (DL/T 645, CJ/T 188): a serial port,
//! or a transparent RS-485-to-Ethernet gateway (`rtu-tcp://HOST:PORT`) that passes bytes
//! through. One request in flight: the caller owns the [`Link`]. Replies are read as they
//! arrive and handed to the protocol's stream parser; bytes before a frame (preamble, line
//! noise) and bytes left over from an earlier exchange are counted, not hidden.
//!
//! [`read_dlt645`] and [`read_cjt188`] read every value of a line profile from one meter.

use std::time::Duration;

use rust_decimal::Decimal;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use super::cjt188;
use super::dlt645;
use super::modbus::transport::{inter_frame_gap, open_serial};
use super::modbus::url::{ModbusUrl, Parity};
use crate::config::line_profile::{Cjt188Field, LineProfile, LineProtocol, LineValue};
use crate::quantity::Quantity;

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send> Stream for S {}

/// Why one exchange on the line failed.
#[derive(Debug, Error)]
pub enum LineError {
    #[error("no answer within {0} ms")]
    Timeout(u64),
    /// The bytes that came form no valid frame; `kind` tells checksum, address, truncation
    /// and noise apart for the counters.
    #[error("bad frame: {detail}")]
    Frame { kind: &'static str, detail: String },
    /// The meter answered with an abnormal reply.
    #[error("meter refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Value(String),
    #[error("{0}")]
    Transport(String),
}

impl LineError {
    /// A short name for counters: timeout, noise, truncated, bad_checksum, bad_end,
    /// wrong_address, bad_reply, refused, value, transport.
    pub fn kind(&self) -> &'static str {
        match self {
            LineError::Timeout(_) => "timeout",
            LineError::Frame { kind, .. } => kind,
            LineError::Refused(_) => "refused",
            LineError::Value(_) => "value",
            LineError::Transport(_) => "transport",
        }
    }
}

/// The URL of a line, with the serial settings the protocol's meters leave the factory with
/// where the URL does not say (`rtu:///dev/ttyUSB0` → 2400 baud 8E1 for DL/T 645-2007).
pub fn line_url(text: &str, protocol: LineProtocol) -> Result<ModbusUrl, String> {
    let url = ModbusUrl::parse(text)?;
    Ok(match url {
        ModbusUrl::Tcp { .. } => {
            return Err(format!(
                "`{text}`: DL/T 645 and CJ/T 188 meters are reached on a serial line (rtu:///dev/ttyUSB0) or through a transparent gateway (rtu-tcp://HOST:PORT), not Modbus TCP"
            ));
        }
        ModbusUrl::Rtu(mut s) => {
            if !text.contains("baud=") {
                s.baud = protocol.default_baud();
            }
            if !text.contains("parity=") {
                s.parity = Parity::Even;
            }
            ModbusUrl::Rtu(s)
        }
        other => other,
    })
}

/// One open line.
pub struct Link {
    stream: Box<dyn Stream>,
    /// Silence kept between the end of one exchange and the next request.
    gap: Duration,
    last_exchange: Option<Instant>,
    /// Bytes received that belonged to no reply (line noise, late answers; not the preamble).
    pub noise_bytes: u64,
}

impl Link {
    pub async fn open(url: &ModbusUrl, timeout: Duration) -> Result<Link, String> {
        let open = async {
            match url {
                ModbusUrl::Rtu(s) => {
                    let port = open_serial(s)?;
                    Ok((Box::new(port) as Box<dyn Stream>, inter_frame_gap(s)))
                }
                _ => {
                    let addr = url.socket_address().unwrap_or_default();
                    let stream = tokio::net::TcpStream::connect(&addr)
                        .await
                        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
                    let _ = stream.set_nodelay(true);
                    Ok((Box::new(stream) as Box<dyn Stream>, Duration::ZERO))
                }
            }
        };
        let (stream, gap) = tokio::time::timeout(timeout, open)
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "cannot connect to {url}: no answer within {} ms",
                    timeout.as_millis()
                ))
            })?;
        Ok(Link {
            stream,
            gap,
            last_exchange: None,
            noise_bytes: 0,
        })
    }

    /// Sends `request` and reads until `parse` finds the reply, fails, or `timeout` passes.
    /// `parse` is the protocol's stream parser: `Ok(None)` for "more bytes", `Ok(Some((reply,
    /// noise)))` for a frame.
    async fn exchange<T>(
        &mut self,
        request: &[u8],
        timeout: Duration,
        mut parse: impl FnMut(&[u8]) -> Result<Option<(T, usize)>, LineError>,
    ) -> Result<T, LineError> {
        if let Some(quiet_until) = self.last_exchange.map(|t| t + self.gap)
            && quiet_until > Instant::now()
        {
            tokio::time::sleep_until(quiet_until).await;
        }
        self.drain_late_bytes().await;
        let deadline = Instant::now() + timeout;
        let result = async {
            self.stream
                .write_all(request)
                .await
                .map_err(|e| LineError::Transport(format!("write: {e}")))?;
            let mut buf: Vec<u8> = Vec::with_capacity(64);
            let mut chunk = [0u8; 256];
            loop {
                let n = tokio::time::timeout_at(deadline, self.stream.read(&mut chunk))
                    .await
                    .map_err(|_| {
                        if buf.is_empty() {
                            LineError::Timeout(timeout.as_millis() as u64)
                        } else {
                            LineError::Frame {
                                kind: "truncated",
                                detail: format!(
                                    "{} byte(s) within {} ms that form no whole frame",
                                    buf.len(),
                                    timeout.as_millis()
                                ),
                            }
                        }
                    })?
                    .map_err(|e| LineError::Transport(format!("read: {e}")))?;
                if n == 0 {
                    return Err(LineError::Transport("the line was closed".into()));
                }
                buf.extend_from_slice(&chunk[..n]);
                match parse(&buf) {
                    Ok(None) => continue,
                    Ok(Some((reply, noise))) => {
                        // The FEH wake-up preamble is part of a reply, not noise.
                        let junk = buf[..noise.min(buf.len())]
                            .iter()
                            .filter(|&&b| b != 0xFE)
                            .count();
                        self.noise_bytes += junk as u64;
                        return Ok(reply);
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        .await;
        self.last_exchange = Some(Instant::now());
        result
    }

    /// Sends a frame nobody answers (a broadcast), keeping the line's silence before and after.
    pub async fn send(&mut self, frame: &[u8]) -> Result<(), LineError> {
        if let Some(quiet_until) = self.last_exchange.map(|t| t + self.gap)
            && quiet_until > Instant::now()
        {
            tokio::time::sleep_until(quiet_until).await;
        }
        self.drain_late_bytes().await;
        let sent = self
            .stream
            .write_all(frame)
            .await
            .map_err(|e| LineError::Transport(format!("write: {e}")));
        self.last_exchange = Some(Instant::now());
        sent
    }

    /// Reads and counts what arrived since the last exchange (a late answer, noise), so it is
    /// not taken for the next reply.
    async fn drain_late_bytes(&mut self) {
        let mut chunk = [0u8; 256];
        while let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(1), self.stream.read(&mut chunk)).await
        {
            if n == 0 {
                break;
            }
            self.noise_bytes += n as u64;
        }
    }

    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_millis(200), self.stream.shutdown()).await;
    }
}

/// Values read from one meter: each quantity with its value, and what failed (per value).
#[derive(Debug, Default)]
pub struct MeterValues {
    pub values: Vec<(Quantity, Decimal)>,
    pub errors: Vec<(String, LineError)>,
}

/// Reads one DL/T 645 identifier.
pub async fn read_dlt645_id(
    link: &mut Link,
    address: &dlt645::frame::Address,
    id: dlt645::frame::DataId,
    timeout: Duration,
) -> Result<Vec<u8>, LineError> {
    use dlt645::frame::{Parsed, ReplyBody, Request, parse_reply, read_request};
    let request = Request::Read(id);
    let reply = link
        .exchange(
            &read_request(address, id),
            timeout,
            |buf| match parse_reply(buf, address, &request) {
                Ok(Parsed::NeedMore(_)) => Ok(None),
                Ok(Parsed::Frame { reply, noise, .. }) => Ok(Some((reply, noise))),
                Err(e) => Err(dlt645_frame_error(&e)),
            },
        )
        .await?;
    match reply.body {
        ReplyBody::Data { data, .. } => Ok(data),
        ReplyBody::Refused(word) => Err(LineError::Refused(format!("{id}: {word}"))),
        other => Err(LineError::Frame {
            kind: "bad_reply",
            detail: format!("{id}: unexpected reply {other:?}"),
        }),
    }
}

/// A DL/T 645 frame error as counted.
fn dlt645_frame_error(e: &dlt645::frame::FrameError) -> LineError {
    use dlt645::frame::FrameError as F;
    let kind = match e {
        F::NoStart { .. } => "noise",
        F::Truncated { .. } => "truncated",
        F::BadChecksum { .. } => "bad_checksum",
        F::MissingEnd { .. } => "bad_end",
        F::WrongAddress { .. } => "wrong_address",
        F::UnexpectedControl { .. }
        | F::ShortData { .. }
        | F::WrongIdentifier { .. }
        | F::DataLength { .. } => "bad_reply",
    };
    LineError::Frame {
        kind,
        detail: e.to_string(),
    }
}

/// A CJ/T 188 frame error as counted.
fn cjt188_frame_error(e: &cjt188::frame::FrameError) -> LineError {
    use cjt188::frame::FrameError as F;
    let kind = match e {
        F::NoStart { .. } => "noise",
        F::Truncated { .. } => "truncated",
        F::BadChecksum { .. } => "bad_checksum",
        F::MissingEnd { .. } => "bad_end",
        F::WrongAddress { .. } | F::WrongMeterType { .. } => "wrong_address",
        F::UnexpectedControl { .. }
        | F::ShortData { .. }
        | F::WrongIdentifier { .. }
        | F::WrongSequence { .. } => "bad_reply",
    };
    LineError::Frame {
        kind,
        detail: e.to_string(),
    }
}

/// Asks the only meter on the line for its address (control 13H to AA…AA): for finding a
/// single meter whose nameplate cannot be read. With more than one meter on the line the
/// replies collide.
pub async fn read_dlt645_address(
    link: &mut Link,
    timeout: Duration,
) -> Result<dlt645::frame::Address, LineError> {
    use dlt645::frame::{Address, Parsed, Request, parse_reply, read_address_request};
    let reply = link
        .exchange(&read_address_request(), timeout, |buf| {
            match parse_reply(buf, &Address::WILDCARD, &Request::ReadAddress) {
                Ok(Parsed::NeedMore(_)) => Ok(None),
                Ok(Parsed::Frame { reply, noise, .. }) => Ok(Some((reply, noise))),
                Err(e) => Err(dlt645_frame_error(&e)),
            }
        })
        .await?;
    Ok(reply.address)
}

/// Reads every value of a DL/T 645 profile from the meter at `address`.
pub async fn read_dlt645(
    link: &mut Link,
    address: &dlt645::frame::Address,
    profile: &LineProfile,
    timeout: Duration,
    wanted: impl Fn(Quantity) -> bool,
) -> MeterValues {
    let mut out = MeterValues::default();
    for value in &profile.values {
        let LineValue::Dlt645 {
            id,
            quantities,
            format,
        } = value
        else {
            continue;
        };
        if !quantities.iter().any(|q| wanted(*q)) {
            continue;
        }
        match read_dlt645_id(link, address, *id, timeout).await {
            Ok(data) => match decode_dlt645(&data, quantities, *format) {
                Ok(values) => out
                    .values
                    .extend(values.into_iter().filter(|(q, _)| wanted(*q))),
                Err(e) => out.errors.push((id.to_string(), e)),
            },
            // A meter without block reads: read the block's identifiers one by one.
            Err(LineError::Refused(_)) if block_elements(*id, quantities.len()).is_some() => {
                for (element, q) in block_elements(*id, quantities.len())
                    .unwrap_or_default()
                    .into_iter()
                    .zip(quantities)
                    .filter(|(_, q)| wanted(**q))
                {
                    match read_dlt645_id(link, address, element, timeout).await {
                        Ok(data) => match decode_dlt645(&data, &[*q], *format) {
                            Ok(values) => out.values.extend(values),
                            Err(e) => out.errors.push((element.to_string(), e)),
                        },
                        Err(e) => out.errors.push((element.to_string(), e)),
                    }
                }
            }
            Err(e) => out.errors.push((id.to_string(), e)),
        }
    }
    out
}

/// The identifiers a DL/T 645-2007 block stands for: FFH in DI1 means "every one of this
/// byte" (0001FF00 → 00010000, 00010100, ... 00010400), `n` of them.
pub fn block_elements(id: dlt645::frame::DataId, n: usize) -> Option<Vec<dlt645::frame::DataId>> {
    use dlt645::frame::DataId;
    match id {
        DataId::V2007(v) if (v >> 8) & 0xFF == 0xFF && n > 1 => Some(
            (0..n as u32)
                .map(|k| DataId::V2007((v & !0xFF00) | (k << 8)))
                .collect(),
        ),
        _ => None,
    }
}

/// A DL/T 645 reply's data as the profile's quantities (pure): one value, or a block of
/// several; a block may carry more values than the profile names (more tariffs), never fewer.
pub fn decode_dlt645(
    data: &[u8],
    quantities: &[Quantity],
    format: dlt645::data::Format,
) -> Result<Vec<(Quantity, Decimal)>, LineError> {
    let values = if quantities.len() == 1 {
        vec![dlt645::data::decode(data, format).map_err(|e| LineError::Value(e.to_string()))?]
    } else {
        dlt645::data::decode_block(data, format).map_err(|e| LineError::Value(e.to_string()))?
    };
    if values.len() < quantities.len() {
        return Err(LineError::Value(format!(
            "{} value(s) in the reply, the profile names {}",
            values.len(),
            quantities.len()
        )));
    }
    Ok(quantities.iter().copied().zip(values).collect())
}

/// Reads a CJ/T 188 meter's 901FH reading as the bytes it sent (`ser`: the sequence byte).
pub async fn read_cjt188_raw(
    link: &mut Link,
    meter_type: cjt188::frame::MeterType,
    address: &cjt188::frame::Address,
    timeout: Duration,
    ser: u8,
) -> Result<Vec<u8>, LineError> {
    use cjt188::frame::{DI_METER_READING, Parsed, ReplyBody, Request, parse_reply, read_request};
    let request = Request {
        meter_type,
        di: DI_METER_READING,
        ser,
    };
    let reply = link
        .exchange(
            &read_request(meter_type, address, DI_METER_READING, ser),
            timeout,
            |buf| match parse_reply(buf, address, &request) {
                Ok(Parsed::NeedMore(_)) => Ok(None),
                Ok(Parsed::Frame { reply, noise, .. }) => Ok(Some((reply, noise))),
                Err(e) => Err(cjt188_frame_error(&e)),
            },
        )
        .await?;
    match reply.body {
        ReplyBody::Data(data) => Ok(data),
        ReplyBody::Refused(status) => Err(LineError::Refused(format!("{status:?}"))),
    }
}

/// Reads a CJ/T 188 meter's 901FH reading and takes the profile's fields.
pub async fn read_cjt188(
    link: &mut Link,
    meter_type: cjt188::frame::MeterType,
    address: &cjt188::frame::Address,
    profile: &LineProfile,
    timeout: Duration,
    ser: u8,
) -> MeterValues {
    let mut out = MeterValues::default();
    match read_cjt188_raw(link, meter_type, address, timeout, ser).await {
        Ok(data) => match decode_cjt188(&data, meter_type, profile) {
            Ok(values) => out.values = values,
            Err(e) => out.errors.push(("901F".into(), e)),
        },
        Err(e) => out.errors.push(("901F".into(), e)),
    }
    out
}

/// A CJ/T 188 901FH reading as the profile's quantities (pure). Heat is given in GJ
/// (1 kWh = 0.0036 GJ exactly).
pub fn decode_cjt188(
    data: &[u8],
    meter_type: cjt188::frame::MeterType,
    profile: &LineProfile,
) -> Result<Vec<(Quantity, Decimal)>, LineError> {
    use cjt188::data::{decode_heat_901f, decode_water_901f};
    let heat = matches!(meter_type.code(), 0x20 | 0x21);
    let mut out = Vec::new();
    if heat {
        let r = decode_heat_901f(data).map_err(|e| LineError::Value(e.to_string()))?;
        for v in &profile.values {
            if let LineValue::Cjt188 { field, quantity } = v {
                let value = match field {
                    Cjt188Field::Heat => r.current_heat.canonical * Decimal::new(36, 4),
                    Cjt188Field::HeatPower => r.power.canonical,
                    Cjt188Field::Flow => r.flow.canonical,
                    Cjt188Field::Volume => r.volume.canonical,
                    Cjt188Field::SupplyTemperature => r.supply_temperature,
                    Cjt188Field::ReturnTemperature => r.return_temperature,
                };
                out.push((*quantity, value.normalize()));
            }
        }
    } else {
        let r = decode_water_901f(data).map_err(|e| LineError::Value(e.to_string()))?;
        for v in &profile.values {
            match v {
                LineValue::Cjt188 {
                    field: Cjt188Field::Volume,
                    quantity,
                } => out.push((*quantity, r.current.canonical.normalize())),
                LineValue::Cjt188 { field, .. } => {
                    return Err(LineError::Value(format!(
                        "{field:?}: a water or gas meter's reading has only the volume"
                    )));
                }
                LineValue::Dlt645 { .. } => {}
            }
        }
    }
    Ok(out)
}

/// Whether a profile speaks DL/T 645 (either version).
pub fn is_dlt645(profile: &LineProfile) -> bool {
    matches!(
        profile.protocol,
        LineProtocol::Dlt645_2007 | LineProtocol::Dlt645_1997
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::line_profile::LineProfileLibrary;
    use dlt645::frame::DataId;

    /// A gateway that answers every request with `reply` (written by hand from DL/T 645-2007).
    async fn gateway(reply: Vec<u8>) -> ModbusUrl {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 64];
            while let Ok(n) = s.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                let _ = s.write_all(&reply).await;
            }
        });
        ModbusUrl::parse(&format!("rtu-tcp://127.0.0.1:{port}")).unwrap()
    }

    /// 00010000 = 12345.67 kWh from meter 202300001234 (CS 5BH), after `before`.
    fn energy_reply(before: &[u8], checksum: u8) -> Vec<u8> {
        let mut v = before.to_vec();
        v.extend([
            0xFE, 0xFE, 0x68, 0x34, 0x12, 0x00, 0x00, 0x23, 0x20, 0x68, 0x91, 0x08, 0x33, 0x33,
            0x34, 0x33, 0x9A, 0x78, 0x56, 0x34, checksum, 0x16,
        ]);
        v
    }

    #[tokio::test]
    async fn noise_is_counted_and_bad_frames_are_told_apart() {
        let address: dlt645::frame::Address = "202300001234".parse().unwrap();
        let id = DataId::V2007(0x0001_0000);
        let timeout = Duration::from_millis(500);
        // Line noise before a good reply: the value, and 3 bytes of noise (not the FEH).
        let url = gateway(energy_reply(&[0x00, 0x12, 0xFF], 0x5B)).await;
        let mut link = Link::open(&url, timeout).await.unwrap();
        let data = read_dlt645_id(&mut link, &address, id, timeout)
            .await
            .unwrap();
        assert_eq!(
            dlt645::data::decode(&data, dlt645::data::ENERGY_KWH).unwrap(),
            "12345.67".parse::<Decimal>().unwrap()
        );
        assert_eq!(link.noise_bytes, 3);
        // A corrupted checksum: a bad frame of its own kind, not a timeout.
        let url = gateway(energy_reply(&[], 0x5C)).await;
        let mut link = Link::open(&url, timeout).await.unwrap();
        let e = read_dlt645_id(&mut link, &address, id, timeout)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), "bad_checksum", "{e}");
        // Another meter answering: wrong address.
        let other: dlt645::frame::Address = "202300009999".parse().unwrap();
        let url = gateway(energy_reply(&[], 0x5B)).await;
        let mut link = Link::open(&url, timeout).await.unwrap();
        let e = read_dlt645_id(&mut link, &other, id, timeout)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), "wrong_address", "{e}");
        // Half a frame, then silence: truncated.
        let half = energy_reply(&[], 0x5B)[..10].to_vec();
        let url = gateway(half).await;
        let mut link = Link::open(&url, timeout).await.unwrap();
        let e = read_dlt645_id(&mut link, &address, id, timeout)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), "truncated", "{e}");
    }

    #[test]
    fn a_block_stands_for_its_elements() {
        assert_eq!(
            block_elements(DataId::V2007(0x0001_FF00), 5).unwrap(),
            [
                0x0001_0000,
                0x0001_0100,
                0x0001_0200,
                0x0001_0300,
                0x0001_0400
            ]
            .map(DataId::V2007)
            .to_vec()
        );
        assert_eq!(block_elements(DataId::V2007(0x0001_0000), 1), None);
        assert_eq!(block_elements(DataId::V1997(0x901F), 5), None);
    }

    /// The single-phase profile's block read, byte for byte as a meter answers it (written by
    /// hand from DL/T 645-2007: data + 33H, low byte first), decoded into its quantities.
    #[test]
    fn the_single_phase_profile_reads_its_block_from_a_reply() {
        let profile = LineProfileLibrary::builtin()
            .resolve("dlt645-2007-single-phase")
            .unwrap();
        let LineValue::Dlt645 {
            id,
            quantities,
            format,
        } = &profile.values[0]
        else {
            panic!("the first value is the DL/T 645 block");
        };
        assert_eq!(*id, DataId::V2007(0x0001_FF00));
        // 12345.67, 1000.01, 2000.02, 3000.03, 4000.04 kWh as BCD, low byte first.
        let data = [
            0x67, 0x45, 0x23, 0x01, 0x01, 0x00, 0x10, 0x00, 0x02, 0x00, 0x20, 0x00, 0x03, 0x00,
            0x30, 0x00, 0x04, 0x00, 0x40, 0x00,
        ];
        let got = decode_dlt645(&data, quantities, *format).unwrap();
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(
            got,
            vec![
                (Quantity::named("energy_import_kwh"), d("12345.67")),
                (Quantity::named("energy_import_kwh_sharp"), d("1000.01")),
                (Quantity::named("energy_import_kwh_peak"), d("2000.02")),
                (Quantity::named("energy_import_kwh_flat"), d("3000.03")),
                (Quantity::named("energy_import_kwh_valley"), d("4000.04")),
            ]
        );
        // Fewer values than the profile names is an error, not a short reading.
        assert!(decode_dlt645(&data[..8], quantities, *format).is_err());
    }

    #[test]
    fn a_dlt645_url_is_a_line_with_the_meters_factory_settings() {
        use crate::collect::modbus::url::ModbusUrl;
        let url = line_url("rtu:///dev/ttyUSB0", LineProtocol::Dlt645_2007).unwrap();
        let ModbusUrl::Rtu(s) = url else {
            panic!("{url:?}")
        };
        assert_eq!((s.baud, s.parity), (2400, Parity::Even));
        let ModbusUrl::Rtu(s) = line_url(
            "rtu:///dev/ttyUSB0?baud=9600&parity=N",
            LineProtocol::Dlt645_2007,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!((s.baud, s.parity), (9600, Parity::None));
        assert_eq!(
            match line_url("rtu:///dev/ttyS1", LineProtocol::Dlt645_1997).unwrap() {
                ModbusUrl::Rtu(s) => s.baud,
                _ => 0,
            },
            1200
        );
        assert!(line_url("tcp://10.0.0.1:502", LineProtocol::Dlt645_2007).is_err());
    }
}
