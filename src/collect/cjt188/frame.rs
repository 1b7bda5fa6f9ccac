//! CJ/T 188-2004 frames: the read request built as bytes, replies parsed from a byte stream as
//! it arrives.
//!
//! Frame (CJ/T 188-2004 clause 4, table 2): `FE FE .. | 68 | T | A0..A6 | C | L | DATA | CS | 16`
//! - `FE`: 2–4 preamble bytes before a frame; we send 4.
//! - `T`: meter type (table 3).
//! - `A0..A6`: address, 7 BCD bytes, low byte first (14 digits; A5 A6 the maker's code);
//!   `AA` × 7 is the wildcard, usable only with one meter on the line.
//! - `C`: bit 7 direction (1 = from the meter), bit 6 abnormal, bits 5..0 the function
//!   (01 read data, 03 read address, 04 write data, 09 read key version).
//! - `L`: length of DATA (read ≤ 64H). No 33H offset, unlike DL/T 645.
//! - `CS`: sum modulo 256 of every byte from 68H to the last DATA byte.
//! - Read data (01H): DATA = `DI0 DI1 SER`; normal reply (81H): `DI0 DI1 SER` + the data;
//!   abnormal reply (C1H): `SER ST0 ST1`.
//!
//! Sources: CJ/T 188-2004 as summarised at cnblogs.com/cj94/p/18534595 (link layer, control
//! code bits, request and reply layouts) with worked frames at cnblogs.com/cj94/p/18534598 and
//! cnblogs.com/yangykaifa/p/7010777.html; control/reply table at cnblogs.com/flyingcloude/p/
//! 8136593.html; open implementations github.com/aixiwang/python_cjt188 and a Java
//! `Frame2004` (io.github.luoyikuan.cjt188).
//!
//! The identifier's byte order is not the same everywhere: cnblogs.com/yangykaifa and
//! aixiwang/python_cjt188 send 901F as `1F 90` (DI0 = the low byte first, as every multi-byte
//! field of the standard), cnblogs.com/cj94 shows `90 1F`. We send `1F 90` and expect the echo
//! the same way; a meter echoing `90 1F` is reported as a wrong identifier, not guessed at.

use std::fmt;

use thiserror::Error;

pub use crate::collect::nameplate::AddressError;
use crate::collect::nameplate::NameplateAddress;
pub use crate::collect::stream::Parsed;

/// Wake-up preamble: the standard asks for 2–4 FEH; M-Bus converters and battery meters are
/// happier with more.
pub const PREAMBLE: [u8; 4] = [0xFE; 4];
const START: u8 = 0x68;
const END: u8 = 0x16;
/// 68, T, 7 address bytes, C, L, then CS and 16: a frame with no data.
const MIN_FRAME: usize = 13;
/// Bytes waited through before the first 68H before giving up.
pub const MAX_NOISE: usize = 256;

/// Control codes (CJ/T 188-2004 figure 2).
pub mod control {
    pub const READ_DATA: u8 = 0x01;
    pub const REPLY: u8 = 0x80;
    pub const ABNORMAL: u8 = 0x40;
    pub const FUNCTION: u8 = 0x3F;
}

/// 901FH: the meter reading (计量数据) of water, heat and gas meters.
pub const DI_METER_READING: u16 = 0x901F;

/// Meter type T (CJ/T 188-2004 table 3; the list at cnblogs.com/yangykaifa adds 12H and 13H).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeterType {
    /// 10H 冷水水表.
    ColdWater,
    /// 11H 生活热水水表.
    HotWater,
    /// 12H 直饮水水表.
    DrinkingWater,
    /// 13H 中水水表.
    ReclaimedWater,
    /// 20H 热量表 (计热量): heating.
    Heat,
    /// 21H 热量表 (计冷量): cooling.
    Cooling,
    /// 30H 燃气表.
    Gas,
    /// AAH: any type (read address to the wildcard).
    Any,
    /// Any other code (40H 电度表, makers' own).
    Other(u8),
}

impl MeterType {
    pub fn code(&self) -> u8 {
        match self {
            MeterType::ColdWater => 0x10,
            MeterType::HotWater => 0x11,
            MeterType::DrinkingWater => 0x12,
            MeterType::ReclaimedWater => 0x13,
            MeterType::Heat => 0x20,
            MeterType::Cooling => 0x21,
            MeterType::Gas => 0x30,
            MeterType::Any => 0xAA,
            MeterType::Other(c) => *c,
        }
    }

    pub fn from_code(code: u8) -> MeterType {
        match code {
            0x10 => MeterType::ColdWater,
            0x11 => MeterType::HotWater,
            0x12 => MeterType::DrinkingWater,
            0x13 => MeterType::ReclaimedWater,
            0x20 => MeterType::Heat,
            0x21 => MeterType::Cooling,
            0x30 => MeterType::Gas,
            0xAA => MeterType::Any,
            c => MeterType::Other(c),
        }
    }

    /// 冷水水表 (cold water meter), as a user reads it.
    pub fn name(&self) -> &'static str {
        match self {
            MeterType::ColdWater => "冷水水表 (cold water meter)",
            MeterType::HotWater => "生活热水水表 (hot water meter)",
            MeterType::DrinkingWater => "直饮水水表 (drinking water meter)",
            MeterType::ReclaimedWater => "中水水表 (reclaimed water meter)",
            MeterType::Heat => "热量表 计热量 (heat meter, heating)",
            MeterType::Cooling => "热量表 计冷量 (heat meter, cooling)",
            MeterType::Gas => "燃气表 (gas meter)",
            MeterType::Any => "任意类型 (any type)",
            MeterType::Other(_) => "其他类型 (other type)",
        }
    }

    /// Whether a reply of type `other` answers a request for `self` (equal, or `self` is AAH).
    pub fn accepts(&self, other: MeterType) -> bool {
        *self == MeterType::Any || *self == other
    }
}

impl fmt::Display for MeterType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X}H {}", self.code(), self.name())
    }
}

/// A meter's address: 7 bytes (14 nameplate digits) in wire order.
pub type Address = NameplateAddress<7>;

/// The first whole frame in `buf` with its checksum and end byte checked: the bytes from the
/// 68H up to the checksum, what was consumed and the noise before the 68H.
fn split(buf: &[u8]) -> Result<Parsed<&[u8]>, FrameError> {
    let Some(start) = buf.iter().position(|&b| b == START) else {
        if buf.len() > MAX_NOISE {
            return Err(FrameError::NoStart { skipped: buf.len() });
        }
        return Ok(Parsed::NeedMore(MIN_FRAME));
    };
    let frame = buf.get(start..).unwrap_or_default();
    let Some(&len) = frame.get(10) else {
        return Ok(Parsed::NeedMore(MIN_FRAME - frame.len()));
    };
    let total = MIN_FRAME + len as usize;
    if frame.len() < total {
        return Ok(Parsed::NeedMore(total - frame.len()));
    }
    let (Some(body), Some(&cs), Some(&end)) = (
        frame.get(..total - 2),
        frame.get(total - 2),
        frame.get(total - 1),
    ) else {
        return Ok(Parsed::NeedMore(1));
    };
    let expected = checksum(body);
    if cs != expected {
        return Err(FrameError::BadChecksum { expected, got: cs });
    }
    if end != END {
        return Err(FrameError::MissingEnd { got: end });
    }
    Ok(Parsed::Frame {
        reply: body,
        consumed: start + total,
        noise: start,
    })
}

fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |sum, b| sum.wrapping_add(*b))
}

/// Read data (01H): DATA = DI0 DI1 SER. `di` as written in the standard (901FH), sent low byte
/// first; `ser` the sequence number the master counts up modulo 256 per request.
pub fn read_request(meter_type: MeterType, address: &Address, di: u16, ser: u8) -> Vec<u8> {
    let [di0, di1] = di.to_le_bytes();
    let mut frame = Vec::with_capacity(PREAMBLE.len() + MIN_FRAME + 3);
    frame.extend_from_slice(&PREAMBLE);
    let start = frame.len();
    frame.push(START);
    frame.push(meter_type.code());
    frame.extend_from_slice(&address.0);
    frame.push(control::READ_DATA);
    frame.push(3);
    frame.extend_from_slice(&[di0, di1, ser]);
    let cs = checksum(&frame[start..]);
    frame.push(cs);
    frame.push(END);
    frame
}

/// Most DATA bytes one frame carries (L ≤ 64H for a read, CJ/T 188-2004 clause 4).
pub const MAX_DATA: usize = 0x64;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    #[error("{0} data bytes: a frame carries at most 100 (64H)")]
    DataTooLong(usize),
}

/// A whole frame with its preamble: `68 T A0..A6 C L DATA CS 16`.
fn encode(meter_type: MeterType, address: &Address, control: u8, data: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(PREAMBLE.len() + MIN_FRAME + data.len());
    frame.extend_from_slice(&PREAMBLE);
    let start = frame.len();
    frame.push(START);
    frame.push(meter_type.code());
    frame.extend_from_slice(&address.0);
    frame.push(control);
    // Callers keep DATA within MAX_DATA bytes.
    frame.push(data.len().min(255) as u8);
    frame.extend_from_slice(data);
    let cs = checksum(&frame[start..]);
    frame.push(cs);
    frame.push(END);
    frame
}

/// A meter's normal reply to a read (81H): DATA = `DI0 DI1 SER` then the reading (`data`, e.g.
/// [`super::data::encode_water_901f`]).
pub fn read_reply(
    meter_type: MeterType,
    address: &Address,
    di: u16,
    ser: u8,
    data: &[u8],
) -> Result<Vec<u8>, EncodeError> {
    let [di0, di1] = di.to_le_bytes();
    let mut body = vec![di0, di1, ser];
    body.extend_from_slice(data);
    if body.len() > MAX_DATA {
        return Err(EncodeError::DataTooLong(body.len()));
    }
    Ok(encode(
        meter_type,
        address,
        control::READ_DATA | control::REPLY,
        &body,
    ))
}

/// A meter's abnormal reply to a read (C1H): DATA = `SER ST0 ST1`.
pub fn abnormal_reply(
    meter_type: MeterType,
    address: &Address,
    ser: u8,
    status: Status,
) -> Vec<u8> {
    let [st0, st1] = status.bytes;
    encode(
        meter_type,
        address,
        control::READ_DATA | control::REPLY | control::ABNORMAL,
        &[ser, st0, st1],
    )
}

/// A request as a meter receives it: checked for checksum and end byte, with no reply bit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFrame {
    pub meter_type: MeterType,
    pub address: Address,
    pub control: u8,
    pub data: Vec<u8>,
}

impl RequestFrame {
    /// A read request's identifier (as the standard writes it, DI0 sent first) and sequence
    /// number; `None` for another function or a read without them.
    pub fn read(&self) -> Option<(u16, u8)> {
        if self.control != control::READ_DATA {
            return None;
        }
        let [di0, di1, ser, ..] = self.data.as_slice() else {
            return None;
        };
        Some((u16::from_le_bytes([*di0, *di1]), *ser))
    }
}

/// Parses a request from the bytes received so far, as a meter reads the line: bytes before
/// the 68H skipped and counted; a frame with the reply bit set (another meter answering) is an
/// [`FrameError::UnexpectedControl`]. After an error, drop the buffer up to and including its
/// first 68H and parse again.
pub fn parse_request(buf: &[u8]) -> Result<Parsed<RequestFrame>, FrameError> {
    let (body, consumed, noise) = match split(buf)? {
        Parsed::NeedMore(n) => return Ok(Parsed::NeedMore(n)),
        Parsed::Frame {
            reply,
            consumed,
            noise,
        } => (reply, consumed, noise),
    };
    let mut address = [0u8; 7];
    address.copy_from_slice(body.get(2..9).unwrap_or(&[0; 7]));
    let c = body.get(9).copied().unwrap_or_default();
    if c & control::REPLY != 0 {
        return Err(FrameError::UnexpectedControl { got: c });
    }
    Ok(Parsed::Frame {
        reply: RequestFrame {
            meter_type: MeterType::from_code(body.get(1).copied().unwrap_or_default()),
            address: Address::from_wire(address),
            control: c,
            data: body.get(11..).unwrap_or_default().to_vec(),
        },
        consumed,
        noise,
    })
}

/// The status word ST (CJ/T 188-2004 table 12 as quoted at cnblogs.com/cj94/p/18534598): two
/// bytes, the first sent holds the standard's bits, the second is the maker's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub bytes: [u8; 2],
}

/// Valve state, bits D1 D0 of ST's first byte: 00 open, 01 closed, 11 abnormal. A Java
/// implementation (luoyikuan cjt188 `Frame2004`) reads 10 as closed and 01 as "in motion"; the
/// C++ configuration tool consulted and the standard's table as quoted read 01 as closed, which
/// we follow; 10 is left as reserved rather than guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Valve {
    /// 开.
    Open,
    /// 关.
    Closed,
    /// 异常.
    Abnormal,
    /// 10: not defined by the standard as quoted.
    Reserved,
}

impl Valve {
    pub fn name(&self) -> &'static str {
        match self {
            Valve::Open => "阀门开 (valve open)",
            Valve::Closed => "阀门关 (valve closed)",
            Valve::Abnormal => "阀门异常 (valve abnormal)",
            Valve::Reserved => "阀门状态未定义 (valve state undefined)",
        }
    }
}

impl Status {
    pub fn valve(&self) -> Valve {
        match self.bytes[0] & 0x03 {
            0b00 => Valve::Open,
            0b01 => Valve::Closed,
            0b11 => Valve::Abnormal,
            _ => Valve::Reserved,
        }
    }

    /// D2 of the first byte: battery voltage low (电池欠压).
    pub fn battery_low(&self) -> bool {
        self.bytes[0] & 0x04 != 0
    }
}

/// `阀门开 (valve open); 电池正常 (battery normal)`.
impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let battery = if self.battery_low() {
            "电池欠压 (battery low)"
        } else {
            "电池正常 (battery normal)"
        };
        write!(f, "{}; {}", self.valve().name(), battery)?;
        let rest = [self.bytes[0] & !0x07, self.bytes[1]];
        if rest != [0, 0] {
            write!(f, "; 厂商位 (maker's bits) {:02X} {:02X}", rest[0], rest[1])?;
        }
        Ok(())
    }
}

/// What a request asked, so its reply can be checked against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub meter_type: MeterType,
    pub di: u16,
    pub ser: u8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyBody {
    /// Normal reply (81H): the data after DI0 DI1 SER.
    Data(Vec<u8>),
    /// Abnormal reply (C1H): the meter's status.
    Refused(Status),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub meter_type: MeterType,
    pub address: Address,
    pub control: u8,
    pub body: ReplyBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("no frame start (68H) in {skipped} bytes received")]
    NoStart { skipped: usize },
    #[error("frame cut short: {got} of {needed} bytes arrived")]
    Truncated { needed: usize, got: usize },
    #[error("checksum: computed {expected:02X}H, frame says {got:02X}H")]
    BadChecksum { expected: u8, got: u8 },
    #[error("frame end: expected 16H, got {got:02X}H")]
    MissingEnd { got: u8 },
    #[error("reply from meter {got}, asked meter {expected}")]
    WrongAddress { expected: Address, got: Address },
    #[error("reply from a {got}, asked a {expected}")]
    WrongMeterType { expected: MeterType, got: MeterType },
    #[error("control code {got:02X}H does not answer a read (01H)")]
    UnexpectedControl { got: u8 },
    #[error("reply data has {got} bytes, identifier and sequence number alone need {needed}")]
    ShortData { needed: usize, got: usize },
    #[error("reply is for identifier {got:04X}H, asked {expected:04X}H")]
    WrongIdentifier { expected: u16, got: u16 },
    #[error("reply has sequence number {got}, request had {expected}")]
    WrongSequence { expected: u8, got: u8 },
}

/// Parses the reply to `request` sent to `to` from the bytes received so far. Call again with
/// more bytes on `NeedMore`; on an error the request failed and the buffer is best dropped.
/// The frame has one start byte only, so a 68H in line garbage ahead of the frame is taken for
/// the start; the checksum then refuses it (reported, not skipped past).
pub fn parse_reply(
    buf: &[u8],
    to: &Address,
    request: &Request,
) -> Result<Parsed<Reply>, FrameError> {
    let (body, consumed, noise) = match split(buf)? {
        Parsed::NeedMore(n) => return Ok(Parsed::NeedMore(n)),
        Parsed::Frame {
            reply,
            consumed,
            noise,
        } => (reply, consumed, noise),
    };
    let meter_type = MeterType::from_code(body.get(1).copied().unwrap_or_default());
    let mut address = [0u8; 7];
    address.copy_from_slice(body.get(2..9).unwrap_or(&[0; 7]));
    let address = Address::from_wire(address);
    let c = body.get(9).copied().unwrap_or_default();
    let data = body.get(11..).unwrap_or_default();

    if !to.accepts(&address) {
        return Err(FrameError::WrongAddress {
            expected: *to,
            got: address,
        });
    }
    if !request.meter_type.accepts(meter_type) {
        return Err(FrameError::WrongMeterType {
            expected: request.meter_type,
            got: meter_type,
        });
    }
    if c & control::REPLY == 0 || c & control::FUNCTION != control::READ_DATA {
        return Err(FrameError::UnexpectedControl { got: c });
    }
    let body = if c & control::ABNORMAL != 0 {
        let [ser, st0, st1] = data else {
            return Err(FrameError::ShortData {
                needed: 3,
                got: data.len(),
            });
        };
        if *ser != request.ser {
            return Err(FrameError::WrongSequence {
                expected: request.ser,
                got: *ser,
            });
        }
        ReplyBody::Refused(Status {
            bytes: [*st0, *st1],
        })
    } else {
        let [di0, di1, ser, rest @ ..] = data else {
            return Err(FrameError::ShortData {
                needed: 3,
                got: data.len(),
            });
        };
        let di = u16::from_le_bytes([*di0, *di1]);
        if di != request.di {
            return Err(FrameError::WrongIdentifier {
                expected: request.di,
                got: di,
            });
        }
        if *ser != request.ser {
            return Err(FrameError::WrongSequence {
                expected: request.ser,
                got: *ser,
            });
        }
        ReplyBody::Data(rest.to_vec())
    };
    Ok(Parsed::Frame {
        reply: Reply {
            meter_type,
            address,
            control: c,
            body,
        },
        consumed,
        noise,
    })
}

/// Like [`parse_reply`], for a buffer that is all there will be: what would wait for more is an
/// error instead.
pub fn parse_complete(
    buf: &[u8],
    to: &Address,
    request: &Request,
) -> Result<Parsed<Reply>, FrameError> {
    match parse_reply(buf, to, request)? {
        Parsed::NeedMore(n) => Err(match buf.iter().position(|&b| b == START) {
            None => FrameError::NoStart { skipped: buf.len() },
            Some(at) => FrameError::Truncated {
                needed: buf.len() - at + n,
                got: buf.len() - at,
            },
        }),
        frame => Ok(frame),
    }
}
