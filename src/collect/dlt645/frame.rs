//! DL/T 645 frames: requests built as bytes, replies parsed from a byte stream as it arrives.
//!
//! Frame (DL/T 645-2007 clause 4.1, the same in DL/T 645-1997):
//! `FE FE FE FE | 68 | A0..A5 | 68 | C | L | DATA | CS | 16`
//! - `FE` × 4: wake-up preamble sent before a request (4 per the 2007 text; a reply may carry
//!   any number, or none).
//! - `A0..A5`: address, 6 BCD bytes, low byte first (nameplate 202300001234 → `34 12 00 00 23
//!   20`); `AA` in a byte is a wildcard, `99` × 6 is broadcast.
//! - `C`: control code. Bit 7 direction (1 = from the meter), bit 6 abnormal reply, bit 5 more
//!   frames follow, bits 4..0 the function.
//! - `L`: length of DATA. Every DATA byte is sent plus 33H and read minus 33H (clause 4.1.5), so
//!   that a run of zeros never looks like line idle.
//! - `CS`: sum modulo 256 of every byte from the first 68H to the last DATA byte.
//!
//! Sources: DL/T 645-2007 as summarised in public write-ups (cnblogs.com/windowsxpxp/p/18467018,
//! blog.csdn.net/hanhui22/article/details/121776632, juejin.cn/post/7468708001337491510 with a
//! worked read of 00000000), cross-checked against open implementations (github.com/
//! bobyuxinyang/dlt645_2007, the python `dlt645` control-code table). Control codes 1997: 01H
//! read, 81H reply, C1H abnormal (github.com/bobyuxinyang/dlt645_1997).

use std::fmt;

use chrono::{Datelike, NaiveDateTime, Timelike};
use thiserror::Error;

pub use crate::collect::nameplate::AddressError;
use crate::collect::nameplate::NameplateAddress;
pub use crate::collect::stream::Parsed;

/// Sent before every request: some meters sleep their UART and lose the first bytes.
pub const PREAMBLE: [u8; 4] = [0xFE; 4];
const START: u8 = 0x68;
const END: u8 = 0x16;
/// Added to every DATA byte on the wire.
const DATA_OFFSET: u8 = 0x33;
/// Header (68, address, 68, C, L) plus CS and 16: a frame with no data.
const MIN_FRAME: usize = 12;
/// Bytes we wait through before the first 68H before giving up: a preamble is 4 bytes, a few
/// hundred bytes of anything else is not a meter answering.
pub const MAX_NOISE: usize = 256;

/// Control codes, DL/T 645-2007 clause 4.1.3 and the function list of clause 5; 1997 read from
/// DL/T 645-1997 clause 4.3.
pub mod control {
    pub const BROADCAST_TIME: u8 = 0x08;
    pub const READ_2007: u8 = 0x11;
    pub const READ_ADDRESS: u8 = 0x13;
    pub const REMOTE_CONTROL: u8 = 0x1C;
    pub const READ_1997: u8 = 0x01;
    /// Direction bit: set in every reply.
    pub const REPLY: u8 = 0x80;
    /// Set in an abnormal (refusing) reply, which carries one error byte.
    pub const ABNORMAL: u8 = 0x40;
    /// Set when the meter has more frames for the same read (2007: read them with 12H).
    pub const MORE_FOLLOWS: u8 = 0x20;
    /// The function bits.
    pub const FUNCTION: u8 = 0x1F;
}

/// Which edition of the protocol a meter speaks: they differ in control codes, identifier width
/// and error-word bits, not in framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    V2007,
    V1997,
}

/// A meter's communication address: 6 bytes (12 nameplate digits), kept in wire order.
pub type Address = NameplateAddress<6>;

impl NameplateAddress<6> {
    /// `99` × 6: every meter listens, none answers (broadcast time).
    pub const BROADCAST: Address = NameplateAddress([0x99; 6]);
}

/// A data identifier: 4 bytes DI3 DI2 DI1 DI0 in 2007 (written `00010000`), 2 bytes DI1 DI0 in
/// 1997 (written `9010`). Sent low byte (DI0) first, each byte plus 33H.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataId {
    V2007(u32),
    V1997(u16),
}

impl DataId {
    pub fn version(&self) -> Version {
        match self {
            DataId::V2007(_) => Version::V2007,
            DataId::V1997(_) => Version::V1997,
        }
    }

    /// The identifier's bytes low byte first, without the 33H offset.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            DataId::V2007(id) => id.to_le_bytes().to_vec(),
            DataId::V1997(id) => id.to_le_bytes().to_vec(),
        }
    }

    fn width(version: Version) -> usize {
        match version {
            Version::V2007 => 4,
            Version::V1997 => 2,
        }
    }
}

/// As written in the standard's tables: `00010000`, `9010`.
impl fmt::Display for DataId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataId::V2007(id) => write!(f, "{id:08X}"),
            DataId::V1997(id) => write!(f, "{id:04X}"),
        }
    }
}

/// Relay commands of the remote-control request (1CH, byte N1), DL/T 645-2007 clause 5.13
/// (费控 meters; confirm against the meter's manual).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayCommand {
    /// 跳闸: open the relay.
    Trip,
    /// 合闸允许: the customer may close the relay (by the meter's button).
    AllowClose,
    /// 直接合闸: close the relay now.
    CloseDirect,
}

impl RelayCommand {
    pub fn code(&self) -> u8 {
        match self {
            RelayCommand::Trip => 0x1A,
            RelayCommand::AllowClose => 0x1B,
            RelayCommand::CloseDirect => 0x1C,
        }
    }
}

/// Bits of the error word an abnormal reply carries (see [`ErrorWord`] for their names).
pub mod error {
    /// 2007: 其他错误 other error; 1997: 非法数据 illegal data.
    pub const OTHER: u8 = 0x01;
    /// 2007: 无请求数据 no requested data; 1997: 数据标识错 wrong identifier.
    pub const NO_DATA: u8 = 0x02;
    /// 密码错/未授权 password error / not authorised.
    pub const PASSWORD: u8 = 0x04;
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// The frame carries a two-digit year.
    #[error("time {0}: the meter keeps a two-digit year, so only 2000–2099")]
    YearOutOfRange(NaiveDateTime),
    /// L is one byte (and the standard allows at most 200 bytes of data in a reply).
    #[error("{0} data bytes: a frame carries at most 200")]
    DataTooLong(usize),
}

/// Most DATA bytes one frame may carry (DL/T 645-2007 clause 4.1.4: L ≤ 200 for a read reply).
pub const MAX_DATA: usize = 200;

/// Wraps DATA (already without offset) into a whole frame with its preamble. Requests and
/// replies alike: a meter also sends the wake-up bytes before its reply.
fn encode(address: &Address, control: u8, data: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(PREAMBLE.len() + MIN_FRAME + data.len());
    frame.extend_from_slice(&PREAMBLE);
    let start = frame.len();
    frame.push(START);
    frame.extend_from_slice(&address.0);
    frame.push(START);
    frame.push(control);
    // Callers keep DATA within MAX_DATA bytes.
    frame.push(data.len().min(255) as u8);
    frame.extend(data.iter().map(|b| b.wrapping_add(DATA_OFFSET)));
    let cs = checksum(&frame[start..]);
    frame.push(cs);
    frame.push(END);
    frame
}

/// Sum modulo 256.
fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |sum, b| sum.wrapping_add(*b))
}

fn bcd(v: u32) -> u8 {
    ((((v / 10) % 10) << 4) | (v % 10)) as u8
}

/// `ss mm hh DD MM YY`, BCD, the order of the broadcast time and the remote control's
/// valid-until (DL/T 645-2007 clauses 5.6 and 5.13).
fn time_bytes(t: &NaiveDateTime) -> Result<[u8; 6], EncodeError> {
    if !(2000..=2099).contains(&t.year()) {
        return Err(EncodeError::YearOutOfRange(*t));
    }
    Ok([
        bcd(t.second()),
        bcd(t.minute()),
        bcd(t.hour()),
        bcd(t.day()),
        bcd(t.month()),
        bcd(t.year() as u32 % 100),
    ])
}

/// Read one identifier: control 11H (2007) or 01H (1997), DATA = the identifier.
pub fn read_request(address: &Address, id: DataId) -> Vec<u8> {
    let control = match id.version() {
        Version::V2007 => control::READ_2007,
        Version::V1997 => control::READ_1997,
    };
    encode(address, control, &id.bytes())
}

/// Read the address of the one meter on the line: 13H to the wildcard, no data (2007 clause
/// 5.3). The reply carries the meter's address.
pub fn read_address_request() -> Vec<u8> {
    encode(&Address::WILDCARD, control::READ_ADDRESS, &[])
}

/// Broadcast time: 08H to 99×6, `ss mm hh DD MM YY` (2007 clause 5.6). Meters do not answer;
/// the standard limits it (once a day, within ±5 min) — the caller's business.
pub fn time_sync_request(time: &NaiveDateTime) -> Result<Vec<u8>, EncodeError> {
    Ok(encode(
        &Address::BROADCAST,
        control::BROADCAST_TIME,
        &time_bytes(time)?,
    ))
}

/// Remote relay control, 1CH (2007 clause 5.13): password PA P0 P1 P2 (level then three
/// bytes, as the meter's manual gives them, in wire order), operator code C0..C3 (wire order),
/// N1 the command, N2 reserved (00), N3..N8 valid until `ss mm hh DD MM YY`.
pub fn remote_control_request(
    address: &Address,
    password: [u8; 4],
    operator: [u8; 4],
    command: RelayCommand,
    valid_until: &NaiveDateTime,
) -> Result<Vec<u8>, EncodeError> {
    let mut data = Vec::with_capacity(16);
    data.extend_from_slice(&password);
    data.extend_from_slice(&operator);
    data.push(command.code());
    data.push(0x00);
    data.extend_from_slice(&time_bytes(valid_until)?);
    Ok(encode(address, control::REMOTE_CONTROL, &data))
}

/// A meter's normal reply to a read: control 91H (2007) or 81H (1997), DATA = the identifier
/// then the value bytes (`value` low byte first, as [`super::data::encode`] gives them), every
/// byte +33H (2007 clause 5.1.1; 1997 alike).
pub fn read_reply(address: &Address, id: DataId, value: &[u8]) -> Result<Vec<u8>, EncodeError> {
    let mut data = id.bytes();
    data.extend_from_slice(value);
    if data.len() > MAX_DATA {
        return Err(EncodeError::DataTooLong(data.len()));
    }
    let control = Request::Read(id).control() | control::REPLY;
    Ok(encode(address, control, &data))
}

/// A meter's abnormal reply to `request`: its control code with bits 7 and 6 set (D1H for a
/// 2007 read, C1H for a 1997 read, D3H, DCH) and one error byte, `bits` from [`error`].
pub fn abnormal_reply(address: &Address, request: &Request, bits: u8) -> Vec<u8> {
    let control = request.control() | control::REPLY | control::ABNORMAL;
    encode(address, control, &[bits])
}

/// The one meter's answer to a read-address request: control 93H, DATA = its address
/// (2007 clause 5.3); the address field carries it too.
pub fn read_address_reply(address: &Address) -> Vec<u8> {
    encode(
        address,
        control::READ_ADDRESS | control::REPLY,
        &address.wire(),
    )
}

/// A request as a meter receives it: checked for checksum and end byte, with no reply bit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFrame {
    /// The address the request is sent to (a meter's, the wildcard, broadcast, or shortened).
    pub address: Address,
    pub control: u8,
    /// DATA with 33H removed.
    pub data: Vec<u8>,
}

impl RequestFrame {
    /// The identifier of a read request (11H: 4 bytes, 01H: 2 bytes; a 2007 read may carry
    /// more bytes after the identifier, which are left alone), or `None` for anything else or a
    /// read too short to hold one.
    pub fn read_id(&self) -> Option<DataId> {
        let version = match self.control {
            control::READ_2007 => Version::V2007,
            control::READ_1997 => Version::V1997,
            _ => return None,
        };
        let width = DataId::width(version);
        let bytes = self.data.get(..width)?;
        Some(id_from(bytes, version))
    }

    /// The time of a broadcast time request (08H, `ss mm hh DD MM YY`), if it is one and names a
    /// real instant.
    pub fn broadcast_time(&self) -> Option<NaiveDateTime> {
        if self.control != control::BROADCAST_TIME {
            return None;
        }
        let [ss, mm, hh, dd, mo, yy] = self.data.as_slice() else {
            return None;
        };
        let d = |b: &u8| {
            let (hi, lo) = (u32::from(b >> 4), u32::from(b & 0x0F));
            (hi < 10 && lo < 10).then_some(hi * 10 + lo)
        };
        chrono::NaiveDate::from_ymd_opt(2000 + d(yy)? as i32, d(mo)?, d(dd)?)
            .and_then(|date| date.and_hms_opt(d(hh)?, d(mm)?, d(ss)?))
    }
}

/// Parses a request from the bytes received so far, as a meter (or a simulated one) reads the
/// line: preamble and noise before the 68H skipped and counted; a frame with the reply bit set
/// (another meter answering) is an [`FrameError::UnexpectedControl`]. After an error, drop the
/// buffer up to and including its first 68H and parse again.
pub fn parse_request(buf: &[u8]) -> Result<Parsed<RequestFrame>, FrameError> {
    let (raw, consumed, noise) = match split(buf)? {
        Parsed::NeedMore(n) => return Ok(Parsed::NeedMore(n)),
        Parsed::Frame {
            reply,
            consumed,
            noise,
        } => (reply, consumed, noise),
    };
    if raw.control & control::REPLY != 0 {
        return Err(FrameError::UnexpectedControl {
            request: raw.control & control::FUNCTION,
            got: raw.control,
        });
    }
    Ok(Parsed::Frame {
        reply: RequestFrame {
            address: raw.address,
            control: raw.control,
            data: unoffset(raw.data),
        },
        consumed,
        noise,
    })
}

/// What a request asked, so its reply can be checked against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Read(DataId),
    ReadAddress,
    RemoteControl,
}

impl Request {
    /// The request's control code; its replies carry it with bit 7 (and maybe 6, 5) set.
    fn control(&self) -> u8 {
        match self {
            Request::Read(DataId::V2007(_)) => control::READ_2007,
            Request::Read(DataId::V1997(_)) => control::READ_1997,
            Request::ReadAddress => control::READ_ADDRESS,
            Request::RemoteControl => control::REMOTE_CONTROL,
        }
    }

    fn version(&self) -> Version {
        match self {
            Request::Read(id) => id.version(),
            _ => Version::V2007,
        }
    }
}

/// One bit of an abnormal reply's error byte, named as the standard names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorBit {
    pub bit: u8,
    pub zh: &'static str,
    pub en: &'static str,
}

/// The error word (ERR) of DL/T 645-2007 clause 4.1.5 / 5.x abnormal replies. Bits 0–2 are the
/// ones every source agrees on; bits 3–6 are named alike by every implementation consulted
/// (github.com/600888/dlt645 ERR_2007_* constants, Gb_dlt645_2007FrameDecoder's ERR table, a
/// C# 645 library's DLTErrorInfoBit0..6) but not read here in the standard's own text.
const ERROR_BITS_2007: [ErrorBit; 7] = [
    ErrorBit {
        bit: 0,
        zh: "其他错误",
        en: "other error",
    },
    ErrorBit {
        bit: 1,
        zh: "无请求数据",
        en: "no requested data",
    },
    ErrorBit {
        bit: 2,
        zh: "密码错/未授权",
        en: "password error / not authorised",
    },
    ErrorBit {
        bit: 3,
        zh: "通信速率不能更改",
        en: "baud rate cannot be changed",
    },
    ErrorBit {
        bit: 4,
        zh: "年时区数超",
        en: "too many time zones in the year",
    },
    ErrorBit {
        bit: 5,
        zh: "日时段数超",
        en: "too many periods in the day",
    },
    ErrorBit {
        bit: 6,
        zh: "费率数超",
        en: "too many tariffs",
    },
];

/// DL/T 645-1997 names the low bits differently (非法数据, 数据标识错); from an open 1997
/// implementation's error struct (S_D97_ERR), not the standard's text: less certain.
const ERROR_BITS_1997: [ErrorBit; 6] = [
    ErrorBit {
        bit: 0,
        zh: "非法数据",
        en: "illegal data",
    },
    ErrorBit {
        bit: 1,
        zh: "数据标识错",
        en: "wrong data identifier",
    },
    ErrorBit {
        bit: 2,
        zh: "密码错",
        en: "password error",
    },
    ErrorBit {
        bit: 4,
        zh: "年时区数超",
        en: "too many time zones in the year",
    },
    ErrorBit {
        bit: 5,
        zh: "日时段数超",
        en: "too many periods in the day",
    },
    ErrorBit {
        bit: 6,
        zh: "费率数超",
        en: "too many tariffs",
    },
];

/// The error byte of an abnormal reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorWord {
    pub version: Version,
    /// The byte as sent, minus 33H.
    pub bits: u8,
}

impl ErrorWord {
    /// The named bits that are set.
    pub fn flags(&self) -> Vec<ErrorBit> {
        let table: &[ErrorBit] = match self.version {
            Version::V2007 => &ERROR_BITS_2007,
            Version::V1997 => &ERROR_BITS_1997,
        };
        table
            .iter()
            .filter(|e| self.bits & (1 << e.bit) != 0)
            .copied()
            .collect()
    }

    /// Bits set that no table names (reserved bits, or a meter's own).
    pub fn unnamed_bits(&self) -> u8 {
        let named = self.flags().iter().fold(0u8, |m, e| m | (1 << e.bit));
        self.bits & !named
    }
}

/// `密码错/未授权 (password error / not authorised); …` — both languages, as a user reads it.
impl fmt::Display for ErrorWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self
            .flags()
            .iter()
            .map(|e| format!("{} ({})", e.zh, e.en))
            .collect();
        let rest = self.unnamed_bits();
        if rest != 0 {
            parts.push(format!("未定义位 (undefined bits) {rest:#04x}"));
        }
        if parts.is_empty() {
            parts.push("无错误位 (no error bit set)".to_string());
        }
        write!(f, "{}", parts.join("; "))
    }
}

/// What a reply says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyBody {
    /// A normal read reply: the data after the echoed identifier, 33H removed. `more_follows`:
    /// the meter set bit 5 (B1H-style), so the value continues in further frames.
    Data {
        id: DataId,
        data: Vec<u8>,
        more_follows: bool,
    },
    /// A normal read-address reply: the meter's address (also in `Reply::address`).
    Address,
    /// A normal reply without data (remote control, 9CH).
    Done,
    /// An abnormal reply (bit 6): the meter refused, with its reasons.
    Refused(ErrorWord),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The address the meter answered from.
    pub address: Address,
    /// The control code as received.
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
    #[error("control code {got:02X}H does not answer request {request:02X}H")]
    UnexpectedControl { request: u8, got: u8 },
    #[error("reply data has {got} bytes, the identifier alone needs {needed}")]
    ShortData { needed: usize, got: usize },
    #[error("reply is for identifier {got}, asked {expected}")]
    WrongIdentifier { expected: DataId, got: DataId },
    #[error("reply data has {got} bytes where {expected} are expected")]
    DataLength { expected: usize, got: usize },
}

/// Where the next frame's 68H starts: the first 68H whose header also has the second 68H seven
/// bytes on (a stray 68H in line garbage is skipped as noise). `Err(n)`: not decidable yet,
/// `n` more bytes needed; `Ok(None)` no start at all.
fn find_start(buf: &[u8]) -> Result<Option<usize>, usize> {
    let mut from = 0;
    while let Some(pos) = buf
        .get(from..)
        .and_then(|b| b.iter().position(|&x| x == START))
    {
        let at = from + pos;
        match buf.get(at + 7) {
            None => return Err(at + 8 - buf.len()),
            Some(&START) => return Ok(Some(at)),
            Some(_) => from = at + 1,
        }
    }
    Ok(None)
}

/// A frame cut out of the stream: checked for checksum and end byte, nothing else.
struct RawFrame<'a> {
    address: Address,
    control: u8,
    /// DATA as on the wire (33H still added).
    data: &'a [u8],
}

fn split(buf: &[u8]) -> Result<Parsed<RawFrame<'_>>, FrameError> {
    let start = match find_start(buf) {
        Err(more) => return Ok(Parsed::NeedMore(more)),
        Ok(Some(at)) => at,
        Ok(None) if buf.len() > MAX_NOISE => {
            return Err(FrameError::NoStart { skipped: buf.len() });
        }
        Ok(None) => return Ok(Parsed::NeedMore(1)),
    };
    let frame = buf.get(start..).unwrap_or_default();
    let Some(&len) = frame.get(9) else {
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
    let mut address = [0u8; 6];
    address.copy_from_slice(body.get(1..7).unwrap_or(&[0; 6]));
    Ok(Parsed::Frame {
        reply: RawFrame {
            address: Address::from_wire(address),
            control: body.get(8).copied().unwrap_or_default(),
            data: body.get(10..).unwrap_or_default(),
        },
        consumed: start + total,
        noise: start,
    })
}

fn unoffset(data: &[u8]) -> Vec<u8> {
    data.iter().map(|b| b.wrapping_sub(DATA_OFFSET)).collect()
}

fn id_from(bytes: &[u8], version: Version) -> DataId {
    let mut le = [0u8; 4];
    for (d, s) in le.iter_mut().zip(bytes) {
        *d = *s;
    }
    match version {
        Version::V2007 => DataId::V2007(u32::from_le_bytes(le)),
        Version::V1997 => DataId::V1997(u16::from_le_bytes([le[0], le[1]])),
    }
}

/// Parses the reply to `request` sent to `to` from the bytes received so far (a gateway may
/// deliver them in pieces, with a preamble or garbage in front). Call again with more bytes on
/// `NeedMore`; on an error the request failed and the buffer is best dropped.
pub fn parse_reply(
    buf: &[u8],
    to: &Address,
    request: &Request,
) -> Result<Parsed<Reply>, FrameError> {
    let (raw, consumed, noise) = match split(buf)? {
        Parsed::NeedMore(n) => return Ok(Parsed::NeedMore(n)),
        Parsed::Frame {
            reply,
            consumed,
            noise,
        } => (reply, consumed, noise),
    };
    if !to.accepts(&raw.address) {
        return Err(FrameError::WrongAddress {
            expected: *to,
            got: raw.address,
        });
    }
    let asked = request.control();
    let c = raw.control;
    if c & control::REPLY == 0 || c & control::FUNCTION != asked & control::FUNCTION {
        return Err(FrameError::UnexpectedControl {
            request: asked,
            got: c,
        });
    }
    let data = unoffset(raw.data);
    let body = if c & control::ABNORMAL != 0 {
        match data.as_slice() {
            [bits] => ReplyBody::Refused(ErrorWord {
                version: request.version(),
                bits: *bits,
            }),
            _ => {
                return Err(FrameError::DataLength {
                    expected: 1,
                    got: data.len(),
                });
            }
        }
    } else {
        match request {
            Request::Read(id) => {
                let width = DataId::width(id.version());
                if data.len() < width {
                    return Err(FrameError::ShortData {
                        needed: width,
                        got: data.len(),
                    });
                }
                let (echo, value) = data.split_at(width);
                let got = id_from(echo, id.version());
                if got != *id {
                    return Err(FrameError::WrongIdentifier { expected: *id, got });
                }
                ReplyBody::Data {
                    id: *id,
                    data: value.to_vec(),
                    more_follows: c & control::MORE_FOLLOWS != 0,
                }
            }
            Request::ReadAddress => {
                if data.len() != 6 {
                    return Err(FrameError::DataLength {
                        expected: 6,
                        got: data.len(),
                    });
                }
                ReplyBody::Address
            }
            Request::RemoteControl => {
                if !data.is_empty() {
                    return Err(FrameError::DataLength {
                        expected: 0,
                        got: data.len(),
                    });
                }
                ReplyBody::Done
            }
        }
    };
    Ok(Parsed::Frame {
        reply: Reply {
            address: raw.address,
            control: c,
            body,
        },
        consumed,
        noise,
    })
}

/// Like [`parse_reply`], for a buffer that is all there will be (the line went quiet or the
/// gateway closed): what would wait for more is an error instead.
pub fn parse_complete(
    buf: &[u8],
    to: &Address,
    request: &Request,
) -> Result<Parsed<Reply>, FrameError> {
    match parse_reply(buf, to, request)? {
        Parsed::NeedMore(n) => Err(match find_start(buf) {
            Ok(None) => FrameError::NoStart { skipped: buf.len() },
            Ok(Some(at)) => FrameError::Truncated {
                needed: buf.len() - at + n,
                got: buf.len() - at,
            },
            Err(_) => {
                let at = buf.iter().position(|&b| b == START).unwrap_or(0);
                FrameError::Truncated {
                    needed: buf.len() - at + n,
                    got: buf.len() - at,
                }
            }
        }),
        frame => Ok(frame),
    }
}
