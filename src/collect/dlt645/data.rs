//! DL/T 645 value formats: the data of a read reply (33H already removed) → exact decimals.
//!
//! Values are BCD, low byte first, with a fixed number of bytes and decimals per identifier
//! (DL/T 645-2007 appendix A, the data identifier tables: e.g. XXXXXX.XX kWh, XXX.X V).
//! Values that can be negative (current, power, power factor) carry the sign in the top bit of
//! the highest byte — the last one on the wire — with the magnitude in the remaining BCD
//! digits (2007 clause 4.1.5: "最高位表示方向").

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use thiserror::Error;

use super::frame::DataId;

/// How one value is written: `bytes` BCD bytes, `decimals` of its digits after the point,
/// `signed`: the top bit of the highest byte is the sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    pub bytes: usize,
    pub decimals: u32,
    pub signed: bool,
}

/// XXXXXX.XX kWh (energy registers, 2007 A.1; 1997 9010 alike).
pub const ENERGY_KWH: Format = Format {
    bytes: 4,
    decimals: 2,
    signed: false,
};
/// XXX.X V (2007 02010100..02010300).
pub const VOLTAGE_V: Format = Format {
    bytes: 2,
    decimals: 1,
    signed: false,
};
/// XXX.XXX A, signed (2007 02020100..02020300).
pub const CURRENT_A: Format = Format {
    bytes: 3,
    decimals: 3,
    signed: true,
};
/// XX.XXXX kW (or kvar), signed (2007 02030000.., 02040000..).
pub const POWER_KW: Format = Format {
    bytes: 3,
    decimals: 4,
    signed: true,
};
/// X.XXX, signed (2007 02060000..).
pub const POWER_FACTOR: Format = Format {
    bytes: 2,
    decimals: 3,
    signed: true,
};
/// XX.XX Hz (2007 02800002).
pub const FREQUENCY_HZ: Format = Format {
    bytes: 2,
    decimals: 2,
    signed: false,
};
/// XXX V (1997 B611..B613; from open 1997 implementations, not the standard's text).
pub const VOLTAGE_V_1997: Format = Format {
    bytes: 2,
    decimals: 0,
    signed: false,
};
/// XX.XX A (1997 B621..B623; from open 1997 implementations, not the standard's text).
pub const CURRENT_A_1997: Format = Format {
    bytes: 2,
    decimals: 2,
    signed: false,
};

/// `4 BCD bytes, 2 decimals, unsigned`.
fn describe(format: &Format) -> String {
    format!(
        "{} BCD byte(s), {} decimal(s), {}",
        format.bytes,
        format.decimals,
        if format.signed { "signed" } else { "unsigned" }
    )
}

/// One identifier this module knows how to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identifier {
    pub id: DataId,
    pub zh: &'static str,
    pub en: &'static str,
    pub unit: &'static str,
    pub format: Format,
    /// Values in the reply: 1, or more for a block (total and tariffs).
    pub count: usize,
}

const fn ident(
    id: DataId,
    zh: &'static str,
    en: &'static str,
    unit: &'static str,
    format: Format,
    count: usize,
) -> Identifier {
    Identifier {
        id,
        zh,
        en,
        unit,
        format,
        count,
    }
}

/// Identifiers with their formats. 2007: DL/T 645-2007 appendix A (tables A.1 energy, A.3
/// variables), as listed in public tables (e.g. github.com/600888/dlt645's DLT_* identifiers,
/// the blog.csdn.net/hanhui22 DDSU666 walk-through). 1997: DL/T 645-1997 appendix, as used by
/// github.com/bobyuxinyang/dlt645_1997 and the 1997↔2007 identifier map of an open collector
/// (9010↔00010000, B611↔02010100, B621↔02020100, B630↔02030000). The block 0001FF00 holds total
/// and tariffs 1–4 on the usual 4-tariff meter; a meter with more tariffs sends more values,
/// which [`decode_block`] returns all of.
pub const IDENTIFIERS: &[Identifier] = &[
    ident(
        DataId::V2007(0x0000_0000),
        "组合有功总电能",
        "combined active energy, total",
        "kWh",
        ENERGY_KWH,
        1,
    ),
    ident(
        DataId::V2007(0x0001_0000),
        "正向有功总电能",
        "forward active energy, total",
        "kWh",
        ENERGY_KWH,
        1,
    ),
    ident(
        DataId::V2007(0x0001_0100),
        "正向有功费率1电能",
        "forward active energy, tariff 1",
        "kWh",
        ENERGY_KWH,
        1,
    ),
    ident(
        DataId::V2007(0x0001_0200),
        "正向有功费率2电能",
        "forward active energy, tariff 2",
        "kWh",
        ENERGY_KWH,
        1,
    ),
    ident(
        DataId::V2007(0x0001_0300),
        "正向有功费率3电能",
        "forward active energy, tariff 3",
        "kWh",
        ENERGY_KWH,
        1,
    ),
    ident(
        DataId::V2007(0x0001_0400),
        "正向有功费率4电能",
        "forward active energy, tariff 4",
        "kWh",
        ENERGY_KWH,
        1,
    ),
    ident(
        DataId::V2007(0x0001_FF00),
        "正向有功电能数据块",
        "forward active energy block (total, tariffs 1–4)",
        "kWh",
        ENERGY_KWH,
        5,
    ),
    ident(
        DataId::V2007(0x0001_0001),
        "上1结算日正向有功总电能",
        "forward active energy, total, last settlement day",
        "kWh",
        ENERGY_KWH,
        1,
    ),
    ident(
        DataId::V2007(0x0002_0000),
        "反向有功总电能",
        "reverse active energy, total",
        "kWh",
        ENERGY_KWH,
        1,
    ),
    ident(
        DataId::V2007(0x0201_0100),
        "A相电压",
        "phase A voltage",
        "V",
        VOLTAGE_V,
        1,
    ),
    ident(
        DataId::V2007(0x0202_0100),
        "A相电流",
        "phase A current",
        "A",
        CURRENT_A,
        1,
    ),
    ident(
        DataId::V2007(0x0203_0000),
        "瞬时总有功功率",
        "instantaneous active power, total",
        "kW",
        POWER_KW,
        1,
    ),
    ident(
        DataId::V2007(0x0206_0000),
        "总功率因数",
        "power factor, total",
        "",
        POWER_FACTOR,
        1,
    ),
    ident(
        DataId::V2007(0x0280_0002),
        "电网频率",
        "grid frequency",
        "Hz",
        FREQUENCY_HZ,
        1,
    ),
    ident(
        DataId::V1997(0x9010),
        "正向有功总电能",
        "forward active energy, total",
        "kWh",
        ENERGY_KWH,
        1,
    ),
    ident(
        DataId::V1997(0x9011),
        "正向有功费率1电能",
        "forward active energy, tariff 1",
        "kWh",
        ENERGY_KWH,
        1,
    ),
    ident(
        DataId::V1997(0x9012),
        "正向有功费率2电能",
        "forward active energy, tariff 2",
        "kWh",
        ENERGY_KWH,
        1,
    ),
    ident(
        DataId::V1997(0x9013),
        "正向有功费率3电能",
        "forward active energy, tariff 3",
        "kWh",
        ENERGY_KWH,
        1,
    ),
    ident(
        DataId::V1997(0x9014),
        "正向有功费率4电能",
        "forward active energy, tariff 4",
        "kWh",
        ENERGY_KWH,
        1,
    ),
    ident(
        DataId::V1997(0xB611),
        "A相电压",
        "phase A voltage",
        "V",
        VOLTAGE_V_1997,
        1,
    ),
    ident(
        DataId::V1997(0xB621),
        "A相电流",
        "phase A current",
        "A",
        CURRENT_A_1997,
        1,
    ),
    ident(
        DataId::V1997(0xB630),
        "瞬时有功功率",
        "instantaneous active power",
        "kW",
        POWER_KW,
        1,
    ),
];

/// The table entry for `id`, if this module knows it.
pub fn identifier(id: DataId) -> Option<&'static Identifier> {
    IDENTIFIERS.iter().find(|i| i.id == id)
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValueError {
    #[error("value needs {expected} bytes, got {got}")]
    Length { expected: usize, got: usize },
    #[error("byte {index} ({byte:02X}H) is not BCD")]
    InvalidBcd { index: usize, byte: u8 },
    /// Encoding: the value needs more digits than the format has, or is negative in an
    /// unsigned format.
    #[error("{value} does not fit {}", describe(.format))]
    DoesNotFit { value: Decimal, format: Format },
}

/// One value in `format` from exactly `format.bytes` bytes (low byte first).
pub fn decode(bytes: &[u8], format: Format) -> Result<Decimal, ValueError> {
    // 9 bytes = 18 digits, the most an i64 mantissa holds safely.
    if bytes.len() != format.bytes || format.bytes == 0 || format.bytes > 9 {
        return Err(ValueError::Length {
            expected: format.bytes,
            got: bytes.len(),
        });
    }
    let top = bytes.len() - 1;
    let mut negative = false;
    let mut magnitude: i64 = 0;
    for (index, &byte) in bytes.iter().enumerate().rev() {
        let mut b = byte;
        if format.signed && index == top {
            negative = b & 0x80 != 0;
            b &= 0x7F;
        }
        let (hi, lo) = (b >> 4, b & 0x0F);
        if hi > 9 || lo > 9 {
            return Err(ValueError::InvalidBcd { index, byte });
        }
        magnitude = magnitude * 100 + i64::from(hi) * 10 + i64::from(lo);
    }
    let mut value = Decimal::new(magnitude, format.decimals);
    if negative {
        value.set_sign_negative(true);
    }
    Ok(value)
}

/// The first magnitude `format` can no longer hold: 10^(digits − decimals), or for a signed
/// format 8 × 10^(digits − 1 − decimals) (the top digit gives up its high bit to the sign).
/// A register reaching it rolls over to zero on a real meter.
pub fn capacity(format: Format) -> Decimal {
    let digits = (format.bytes.clamp(1, 9) * 2) as u32;
    let units = if format.signed {
        8 * 10i64.pow(digits - 1)
    } else {
        10i64.pow(digits)
    };
    Decimal::new(units, format.decimals.min(28))
}

/// One value in `format` as BCD bytes, low byte first, the sign in the top bit of the last
/// byte where the format is signed: the inverse of [`decode`]. Digits past the format's
/// decimals are cut off (toward zero), as a meter shows only the digits it has counted.
pub fn encode(value: Decimal, format: Format) -> Result<Vec<u8>, ValueError> {
    let too_big = || ValueError::DoesNotFit { value, format };
    if format.bytes == 0 || format.bytes > 9 || format.decimals > 18 {
        return Err(too_big());
    }
    let magnitude = value.abs().trunc_with_scale(format.decimals);
    let negative = value.is_sign_negative() && !magnitude.is_zero();
    if negative && !format.signed {
        return Err(too_big());
    }
    if magnitude >= capacity(format) {
        return Err(too_big());
    }
    // Whole units of the last decimal: below 10^18, so it fits an i64.
    let mut units = magnitude
        .checked_mul(Decimal::from(10i64.pow(format.decimals)))
        .and_then(|u| u.trunc().to_u64())
        .ok_or_else(too_big)?;
    let mut bytes = Vec::with_capacity(format.bytes);
    for _ in 0..format.bytes {
        let pair = (units % 100) as u8;
        bytes.push(((pair / 10) << 4) | (pair % 10));
        units /= 100;
    }
    if negative && let Some(top) = bytes.last_mut() {
        *top |= 0x80;
    }
    Ok(bytes)
}

/// Consecutive values of one format (a block read's reply): the inverse of [`decode_block`].
pub fn encode_block(values: &[Decimal], format: Format) -> Result<Vec<u8>, ValueError> {
    let mut bytes = Vec::with_capacity(values.len() * format.bytes);
    for v in values {
        bytes.extend(encode(*v, format)?);
    }
    Ok(bytes)
}

/// A block read (e.g. 0001FF00: total, then tariffs 1..n): consecutive values of one format.
pub fn decode_block(bytes: &[u8], format: Format) -> Result<Vec<Decimal>, ValueError> {
    if format.bytes == 0 || bytes.is_empty() || !bytes.len().is_multiple_of(format.bytes) {
        return Err(ValueError::Length {
            expected: format.bytes * (bytes.len() / format.bytes.max(1)).max(1),
            got: bytes.len(),
        });
    }
    bytes
        .chunks(format.bytes)
        .enumerate()
        .map(|(i, chunk)| {
            decode(chunk, format).map_err(|e| match e {
                ValueError::InvalidBcd { index, byte } => ValueError::InvalidBcd {
                    index: i * format.bytes + index,
                    byte,
                },
                other => other,
            })
        })
        .collect()
}

/// The state of a 费控 meter's load relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayState {
    /// 合闸: supply on.
    Closed,
    /// 拉闸/跳闸: supply cut.
    Open,
}

/// Running status word 3 (电表运行状态字3, 04000503): 2 bytes, low byte first. Bit 4 is the
/// relay state, 0 closed, 1 open — from secondary sources (DL/T 645-2007 appendix A status-word
/// tables as quoted by meter vendors' protocol notes and open collectors, e.g. the
/// "STATE_3 = 04000503" reader in a public DL645 Java client); confirm against the meter's
/// manual before acting on it.
pub fn relay_state(status_word_3: &[u8]) -> Result<RelayState, ValueError> {
    let [lo, _hi] = status_word_3 else {
        return Err(ValueError::Length {
            expected: 2,
            got: status_word_3.len(),
        });
    };
    Ok(if lo & 0x10 != 0 {
        RelayState::Open
    } else {
        RelayState::Closed
    })
}

#[cfg(test)]
mod tests {
    use super::super::frame::{
        Address, DataId, ErrorWord, FrameError, Parsed, RelayCommand, Reply, ReplyBody, Request,
        Version, abnormal_reply, error, parse_complete, parse_reply, parse_request,
        read_address_reply, read_address_request, read_reply, read_request, remote_control_request,
        time_sync_request,
    };
    use super::*;
    use chrono::NaiveDate;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    /// Hex text → bytes; the golden frames below are written by hand as the standard lays them
    /// out, with checksums added up by hand.
    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).expect("test hex"))
            .collect()
    }

    fn meter() -> Address {
        "202300001234".parse().expect("test address")
    }

    /// The data of a read reply to `id` from `meter()`.
    fn read_data(reply: &[u8], id: DataId) -> Vec<u8> {
        match parse_reply(reply, &meter(), &Request::Read(id)) {
            Ok(Parsed::Frame {
                reply:
                    Reply {
                        body: ReplyBody::Data { data, .. },
                        ..
                    },
                ..
            }) => data,
            other => panic!("expected data, got {other:?}"),
        }
    }

    #[test]
    fn address_from_nameplate_and_back() {
        let a = meter();
        assert_eq!(a.wire(), [0x34, 0x12, 0x00, 0x00, 0x23, 0x20]);
        assert_eq!(a.to_string(), "202300001234");
        assert_eq!(Address::WILDCARD.wire(), [0xAA; 6]);
        assert_eq!(Address::BROADCAST.to_string(), "999999999999");
        let err = "20230000123x".parse::<Address>().unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"address "20230000123x": 12 decimal digits as on the nameplate"#
        );
        assert!("2023000012345".parse::<Address>().is_err());
        assert!("".parse::<Address>().is_err());
        assert!("２０２３００００１２３４".parse::<Address>().is_err());
    }

    // 68 + 34+12+00+00+23+20 + 68 = 0x159 → header sum 0x59 (mod 256), used below.

    #[test]
    fn read_forward_active_total_2007() {
        let id = DataId::V2007(0x0001_0000);
        // DATA 00 00 01 00 + 33 = 33 33 34 33; CS = 59 + 11 + 04 + CD = 0x13B → 3B.
        assert_eq!(
            read_request(&meter(), id),
            hex("FE FE FE FE 68 34 12 00 00 23 20 68 11 04 33 33 34 33 3B 16")
        );
        // 12345.67 kWh = 67 45 23 01 → +33: 9A 78 56 34. CS = 59 + 91 + 08 + CD + 9A+78+56+34
        // = 59+91+08+CD = 0x1BF; + 0x19C = 0x35B → 5B.
        let reply = hex("FE FE FE FE 68 34 12 00 00 23 20 68 91 08 33 33 34 33 9A 78 56 34 5B 16");
        let data = read_data(&reply, id);
        assert_eq!(decode(&data, ENERGY_KWH), Ok(dec!(12345.67)));
        match parse_reply(&reply, &meter(), &Request::Read(id)) {
            Ok(Parsed::Frame {
                consumed, noise, ..
            }) => {
                assert_eq!(consumed, reply.len());
                assert_eq!(noise, 4);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn read_forward_active_block() {
        let id = DataId::V2007(0x0001_FF00);
        // DATA 00 FF 01 00 + 33 = 33 32 34 33; CS = 59 + 11 + 04 + CC = 0x13A → 3A.
        assert_eq!(
            read_request(&meter(), id),
            hex("FE FE FE FE 68 34 12 00 00 23 20 68 11 04 33 32 34 33 3A 16")
        );
        // total 100.00, 尖 10.00, 峰 20.00, 平 30.00, 谷 40.00:
        // 00 00 01 00 | 00 10 00 00 | 00 20 00 00 | 00 30 00 00 | 00 40 00 00, + 33 each.
        // CS: 59 + 91 + 18 + CC (id) = 0x1CE; values: 33 33 34 33 = CD; 33 43 33 33 = DC;
        // 33 53 33 33 = EC; 33 63 33 33 = FC; 33 73 33 33 = 10C → 0x49D; total 0x66B → 6B.
        let reply = hex("68 34 12 00 00 23 20 68 91 18 33 32 34 33 \
             33 33 34 33 33 43 33 33 33 53 33 33 33 63 33 33 33 73 33 33 6B 16");
        let data = read_data(&reply, id);
        assert_eq!(
            decode_block(&data, ENERGY_KWH),
            Ok(vec![
                dec!(100.00),
                dec!(10.00),
                dec!(20.00),
                dec!(30.00),
                dec!(40.00)
            ])
        );
        assert_eq!(identifier(id).map(|i| i.count), Some(5));
    }

    #[test]
    fn read_phase_a_voltage() {
        let id = DataId::V2007(0x0201_0100);
        // DATA 00 01 01 02 + 33 = 33 34 34 35; CS = 59 + 11 + 04 + D0 = 0x13E → 3E.
        assert_eq!(
            read_request(&meter(), id),
            hex("FE FE FE FE 68 34 12 00 00 23 20 68 11 04 33 34 34 35 3E 16")
        );
        // 220.1 V = 01 22 → 34 55. CS = 59 + 91 + 06 + D0 + 34 + 55 = 0x249 → 49.
        let reply = hex("68 34 12 00 00 23 20 68 91 06 33 34 34 35 34 55 49 16");
        assert_eq!(decode(&read_data(&reply, id), VOLTAGE_V), Ok(dec!(220.1)));
    }

    #[test]
    fn read_phase_a_current_with_sign() {
        let id = DataId::V2007(0x0202_0100);
        // DATA 00 01 02 02 + 33 = 33 34 35 35; CS = 59 + 11 + 04 + D1 = 0x13F → 3F.
        assert_eq!(
            read_request(&meter(), id),
            hex("FE FE FE FE 68 34 12 00 00 23 20 68 11 04 33 34 35 35 3F 16")
        );
        // -1.234 A = 34 12 80 → 67 45 B3. CS = 59 + 91 + 07 + D1 + 67 + 45 + B3 = 0x321 → 21.
        let reply = hex("68 34 12 00 00 23 20 68 91 07 33 34 35 35 67 45 B3 21 16");
        assert_eq!(decode(&read_data(&reply, id), CURRENT_A), Ok(dec!(-1.234)));
    }

    #[test]
    fn read_total_active_power() {
        let id = DataId::V2007(0x0203_0000);
        // DATA 00 00 03 02 + 33 = 33 33 36 35; CS = 59 + 11 + 04 + D1 = 0x13F → 3F.
        assert_eq!(
            read_request(&meter(), id),
            hex("FE FE FE FE 68 34 12 00 00 23 20 68 11 04 33 33 36 35 3F 16")
        );
        // 1.5321 kW = 21 53 01 → 54 86 34. CS = 59+91+07+D1 + 54+86+34 = 0x1C2 + 0x10E = 0x2D0.
        let reply = hex("68 34 12 00 00 23 20 68 91 07 33 33 36 35 54 86 34 D0 16");
        assert_eq!(decode(&read_data(&reply, id), POWER_KW), Ok(dec!(1.5321)));
    }

    #[test]
    fn read_power_factor() {
        let id = DataId::V2007(0x0206_0000);
        // DATA 00 00 06 02 + 33 = 33 33 39 35; CS = 59 + 11 + 04 + D4 = 0x142 → 42.
        assert_eq!(
            read_request(&meter(), id),
            hex("FE FE FE FE 68 34 12 00 00 23 20 68 11 04 33 33 39 35 42 16")
        );
        // 0.985 = 85 09 → B8 3C. CS = 59+91+06+D4 + B8+3C = 0x1C4 + 0xF4 = 0x2B8 → B8.
        let reply = hex("68 34 12 00 00 23 20 68 91 06 33 33 39 35 B8 3C B8 16");
        assert_eq!(
            decode(&read_data(&reply, id), POWER_FACTOR),
            Ok(dec!(0.985))
        );
        // Leading (negative) −0.500 = 00 85 → 33 B8: CS = 0x1C4 + 0xEB = 0x2AF → AF.
        let reply = hex("68 34 12 00 00 23 20 68 91 06 33 33 39 35 33 B8 AF 16");
        assert_eq!(
            decode(&read_data(&reply, id), POWER_FACTOR),
            Ok(dec!(-0.500))
        );
    }

    #[test]
    fn read_frequency() {
        let id = DataId::V2007(0x0280_0002);
        // DATA 02 00 80 02 + 33 = 35 33 B3 35; CS = 59 + 11 + 04 + 0x150 = 0x1BE → BE.
        assert_eq!(
            read_request(&meter(), id),
            hex("FE FE FE FE 68 34 12 00 00 23 20 68 11 04 35 33 B3 35 BE 16")
        );
        // 49.98 Hz = 98 49 → CB 7C. CS = 59+91+06+0x150 + CB+7C = 0x240 + 0x147 = 0x387 → 87.
        let reply = hex("68 34 12 00 00 23 20 68 91 06 35 33 B3 35 CB 7C 87 16");
        assert_eq!(
            decode(&read_data(&reply, id), FREQUENCY_HZ),
            Ok(dec!(49.98))
        );
    }

    #[test]
    fn read_1997_forward_active_total() {
        let id = DataId::V1997(0x9010);
        // Control 01, DATA 10 90 + 33 = 43 C3; CS = 59 + 01 + 02 + 43 + C3 = 0x162 → 62.
        assert_eq!(
            read_request(&meter(), id),
            hex("FE FE FE FE 68 34 12 00 00 23 20 68 01 02 43 C3 62 16")
        );
        // 876.54 kWh = 54 76 08 00 → 87 A9 3B 33. CS = 59+81+06+43+C3 + 87+A9+3B+33
        // = 0x1E6 + 0x19E = 0x384 → 84.
        let reply = hex("68 34 12 00 00 23 20 68 81 06 43 C3 87 A9 3B 33 84 16");
        assert_eq!(decode(&read_data(&reply, id), ENERGY_KWH), Ok(dec!(876.54)));
    }

    #[test]
    fn read_address() {
        // 68 AA×6 68 13 00: CS = 68 + 3FC + 68 + 13 = 0x4DF → DF.
        assert_eq!(
            read_address_request(),
            hex("FE FE FE FE 68 AA AA AA AA AA AA 68 13 00 DF 16")
        );
        // Reply 93, DATA = the address + 33: 67 45 33 33 56 53.
        // CS = 59 + 93 + 06 + 1BB = 0x2AD → AD.
        let reply = hex("FE FE 68 34 12 00 00 23 20 68 93 06 67 45 33 33 56 53 AD 16");
        let Ok(Parsed::Frame { reply, noise, .. }) =
            parse_reply(&reply, &Address::WILDCARD, &Request::ReadAddress)
        else {
            panic!("read address reply should parse");
        };
        assert_eq!(noise, 2);
        assert_eq!(reply.body, ReplyBody::Address);
        assert_eq!(reply.address.to_string(), "202300001234");
    }

    #[test]
    fn time_sync() {
        let t = NaiveDate::from_ymd_opt(2024, 3, 15)
            .and_then(|d| d.and_hms_opt(14, 30, 5))
            .expect("test time");
        // DATA 05 30 14 15 03 24 + 33 = 38 63 47 48 36 57. Header 68 99×6 68 = 0x466; + 08 + 06
        // = 0x474; data 0x1B7 → 0x62B → 2B.
        assert_eq!(
            time_sync_request(&t),
            Ok(hex(
                "FE FE FE FE 68 99 99 99 99 99 99 68 08 06 38 63 47 48 36 57 2B 16"
            ))
        );
        let t1999 = NaiveDate::from_ymd_opt(1999, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("test time");
        assert!(time_sync_request(&t1999).is_err());
    }

    #[test]
    fn remote_control_trip() {
        let until = NaiveDate::from_ymd_opt(2024, 3, 15)
            .and_then(|d| d.and_hms_opt(15, 0, 0))
            .expect("test time");
        // password 02 00 00 00 (level 02, 000000), operator 00 00 00 00, N1 1A, N2 00,
        // valid until 00 00 15 15 03 24. DATA + 33:
        // 35 33 33 33 | 33 33 33 33 | 4D 33 | 33 33 48 48 36 57.
        // CS = 59 + 1C + 10 = 0x85; data: 35+33*3 = 0xCE; 33*4 = 0xCC; 4D+33 = 0x80;
        // 33+33+48+48+36+57 = 0x183 → 0x85 + 0xCE + 0xCC + 0x80 + 0x183 = 0x422 → 22.
        let frame = remote_control_request(
            &meter(),
            [0x02, 0x00, 0x00, 0x00],
            [0x00; 4],
            RelayCommand::Trip,
            &until,
        );
        assert_eq!(
            frame,
            Ok(hex("FE FE FE FE 68 34 12 00 00 23 20 68 1C 10 \
                 35 33 33 33 33 33 33 33 4D 33 33 33 48 48 36 57 22 16"))
        );
        // Normal reply 9C, no data: CS = 59 + 9C + 00 = 0xF5.
        let reply = hex("68 34 12 00 00 23 20 68 9C 00 F5 16");
        assert!(matches!(
            parse_reply(&reply, &meter(), &Request::RemoteControl),
            Ok(Parsed::Frame {
                reply: Reply {
                    body: ReplyBody::Done,
                    ..
                },
                ..
            })
        ));
    }

    #[test]
    fn abnormal_reply_names_the_error() {
        let id = DataId::V2007(0x0001_0000);
        // D1, L 01, ERR 02 + 33 = 35. CS = 59 + D1 + 01 + 35 = 0x160 → 60.
        let reply = hex("68 34 12 00 00 23 20 68 D1 01 35 60 16");
        let Ok(Parsed::Frame { reply, .. }) = parse_reply(&reply, &meter(), &Request::Read(id))
        else {
            panic!("abnormal reply should parse");
        };
        let ReplyBody::Refused(word) = reply.body else {
            panic!("expected a refusal, got {:?}", reply.body);
        };
        assert_eq!(word.bits, 0x02);
        assert_eq!(word.flags().len(), 1);
        assert_eq!(word.flags()[0].zh, "无请求数据");
        assert_eq!(word.to_string(), "无请求数据 (no requested data)");
        let many = ErrorWord {
            version: Version::V2007,
            bits: 0x85,
        };
        assert_eq!(
            many.to_string(),
            "其他错误 (other error); 密码错/未授权 (password error / not authorised); \
             未定义位 (undefined bits) 0x80"
        );
    }

    #[test]
    fn values_and_bcd_errors() {
        assert_eq!(
            decode(&[0x34, 0x12, 0x00, 0x00], ENERGY_KWH),
            Ok(dec!(12.34))
        );
        assert_eq!(
            decode(&[0x3A, 0x12, 0x00, 0x00], ENERGY_KWH),
            Err(ValueError::InvalidBcd {
                index: 0,
                byte: 0x3A
            })
        );
        // Signed, the top bit is the sign (−0.000 equals 0); unsigned, it is part of a digit.
        assert_eq!(
            decode(&[0x00, 0x00, 0x80], CURRENT_A),
            Ok(Decimal::new(0, 3))
        );
        assert_eq!(decode(&[0x00, 0x00, 0xA0], CURRENT_A), Ok(dec!(-200.000)));
        assert_eq!(decode(&[0x00, 0x80], VOLTAGE_V), Ok(dec!(800.0)));
        assert_eq!(
            decode(&[0x00, 0xA0], VOLTAGE_V),
            Err(ValueError::InvalidBcd {
                index: 1,
                byte: 0xA0
            })
        );
        assert_eq!(
            decode(&[0x00, 0x00, 0xFA], CURRENT_A),
            Err(ValueError::InvalidBcd {
                index: 2,
                byte: 0xFA
            })
        );
        assert_eq!(
            decode(&[0x00, 0x00], ENERGY_KWH),
            Err(ValueError::Length {
                expected: 4,
                got: 2
            })
        );
        assert_eq!(
            decode_block(&[0, 0, 0, 0, 0, 0, 0xF0, 0], ENERGY_KWH),
            Err(ValueError::InvalidBcd {
                index: 6,
                byte: 0xF0
            })
        );
        assert!(decode_block(&[0, 0, 0], ENERGY_KWH).is_err());
        assert!(decode_block(&[], ENERGY_KWH).is_err());
        assert_eq!(relay_state(&[0x10, 0x00]), Ok(RelayState::Open));
        assert_eq!(relay_state(&[0x00, 0xFF]), Ok(RelayState::Closed));
        assert!(relay_state(&[0x10]).is_err());
    }

    #[test]
    fn errors_are_told_apart() {
        let id = DataId::V2007(0x0001_0000);
        let asked = Request::Read(id);
        let good = hex("68 34 12 00 00 23 20 68 91 08 33 33 34 33 9A 78 56 34 5B 16");

        let mut bad_cs = good.clone();
        bad_cs[18] = 0x5C;
        assert_eq!(
            parse_reply(&bad_cs, &meter(), &asked),
            Err(FrameError::BadChecksum {
                expected: 0x5B,
                got: 0x5C
            })
        );
        let mut bad_end = good.clone();
        bad_end[19] = 0x17;
        assert_eq!(
            parse_reply(&bad_end, &meter(), &asked),
            Err(FrameError::MissingEnd { got: 0x17 })
        );
        let other: Address = "202300001235".parse().expect("test address");
        assert_eq!(
            parse_reply(&good, &other, &asked).map_err(|e| e.to_string()),
            Err("reply from meter 202300001234, asked meter 202300001235".to_string())
        );
        assert!(matches!(
            parse_reply(&good, &Address::WILDCARD, &asked),
            Ok(Parsed::Frame { .. })
        ));
        assert_eq!(
            parse_reply(&good, &meter(), &Request::RemoteControl),
            Err(FrameError::UnexpectedControl {
                request: 0x1C,
                got: 0x91
            })
        );
        assert_eq!(
            parse_reply(&good, &meter(), &Request::Read(DataId::V2007(0x0002_0000))),
            Err(FrameError::WrongIdentifier {
                expected: DataId::V2007(0x0002_0000),
                got: id,
            })
        );
        // L = 02: only two identifier bytes. CS = 59 + 91 + 02 + 33 + 33 = 0x152 → 52.
        let short = hex("68 34 12 00 00 23 20 68 91 02 33 33 52 16");
        assert_eq!(
            parse_reply(&short, &meter(), &asked),
            Err(FrameError::ShortData { needed: 4, got: 2 })
        );
        assert_eq!(
            parse_reply(&good[..10], &meter(), &asked),
            Ok(Parsed::NeedMore(10))
        );
        assert_eq!(
            parse_complete(&good[..10], &meter(), &asked),
            Err(FrameError::Truncated {
                needed: 20,
                got: 10
            })
        );
        assert_eq!(
            parse_complete(&hex("00 01 02"), &meter(), &asked),
            Err(FrameError::NoStart { skipped: 3 })
        );
        assert_eq!(
            parse_reply(&vec![0x00; MAX_NOISE_PLUS], &meter(), &asked),
            Err(FrameError::NoStart {
                skipped: MAX_NOISE_PLUS
            })
        );
    }

    const MAX_NOISE_PLUS: usize = super::super::frame::MAX_NOISE + 1;

    #[test]
    fn noise_is_skipped_and_counted_and_frames_parse_one_at_a_time() {
        let id = DataId::V2007(0x0001_0000);
        let asked = Request::Read(id);
        let one = hex("68 34 12 00 00 23 20 68 91 08 33 33 34 33 9A 78 56 34 5B 16");
        // Garbage with a stray 68 in it, then the preamble, then two replies back to back.
        let mut stream = hex("00 68 17 FF FE FE");
        stream.extend_from_slice(&one);
        stream.extend_from_slice(&hex("FE FE"));
        stream.extend_from_slice(&one);
        let Ok(Parsed::Frame {
            consumed, noise, ..
        }) = parse_reply(&stream, &meter(), &asked)
        else {
            panic!("first frame");
        };
        assert_eq!(noise, 6);
        assert_eq!(consumed, 6 + one.len());
        let rest = &stream[consumed..];
        let Ok(Parsed::Frame {
            consumed,
            noise,
            reply,
        }) = parse_reply(rest, &meter(), &asked)
        else {
            panic!("second frame");
        };
        assert_eq!(noise, 2);
        assert_eq!(consumed, rest.len());
        assert!(matches!(
            reply.body,
            ReplyBody::Data {
                more_follows: false,
                ..
            }
        ));
        // Byte by byte: NeedMore until the last byte, never an error.
        for n in 0..one.len() {
            assert!(matches!(
                parse_reply(&one[..n], &meter(), &asked),
                Ok(Parsed::NeedMore(_))
            ));
        }
    }

    /// The golden replies of the tests above, each with its request.
    fn golden() -> Vec<(Vec<u8>, Request)> {
        let read = |id| Request::Read(id);
        vec![
            (
                hex("68 34 12 00 00 23 20 68 91 08 33 33 34 33 9A 78 56 34 5B 16"),
                read(DataId::V2007(0x0001_0000)),
            ),
            (
                hex("68 34 12 00 00 23 20 68 91 07 33 34 35 35 67 45 B3 21 16"),
                read(DataId::V2007(0x0202_0100)),
            ),
            (
                hex("68 34 12 00 00 23 20 68 81 06 43 C3 87 A9 3B 33 84 16"),
                read(DataId::V1997(0x9010)),
            ),
            (
                hex("68 34 12 00 00 23 20 68 D1 01 35 60 16"),
                read(DataId::V2007(0x0001_0000)),
            ),
            (
                hex("68 34 12 00 00 23 20 68 9C 00 F5 16"),
                Request::RemoteControl,
            ),
        ]
    }

    #[test]
    fn every_single_byte_corruption_is_caught() {
        for (frame, asked) in golden() {
            let good = parse_complete(&frame, &meter(), &asked).expect("golden frame parses");
            for i in 0..frame.len() {
                for v in 0..=255u8 {
                    if v == frame[i] {
                        continue;
                    }
                    let mut bad = frame.clone();
                    bad[i] = v;
                    match parse_complete(&bad, &meter(), &asked) {
                        Err(_) => {}
                        Ok(other) => assert_ne!(other, good, "byte {i} = {v:02X} went unnoticed"),
                    }
                }
            }
        }
    }

    /// The golden replies above, built by the reply encoders: the same bytes, after the
    /// wake-up preamble a meter sends.
    #[test]
    fn replies_are_encoded_as_the_golden_frames() {
        let fe = |s: &str| hex(&format!("FE FE FE FE {s}"));
        let energy = encode(dec!(12345.67), ENERGY_KWH).expect("fits");
        assert_eq!(energy, [0x67, 0x45, 0x23, 0x01]);
        assert_eq!(
            read_reply(&meter(), DataId::V2007(0x0001_0000), &energy),
            Ok(fe(
                "68 34 12 00 00 23 20 68 91 08 33 33 34 33 9A 78 56 34 5B 16"
            ))
        );
        let block = encode_block(
            &[
                dec!(100.00),
                dec!(10.00),
                dec!(20.00),
                dec!(30.00),
                dec!(40.00),
            ],
            ENERGY_KWH,
        )
        .expect("fits");
        assert_eq!(
            read_reply(&meter(), DataId::V2007(0x0001_FF00), &block),
            Ok(fe("68 34 12 00 00 23 20 68 91 18 33 32 34 33 \
                 33 33 34 33 33 43 33 33 33 53 33 33 33 63 33 33 33 73 33 33 6B 16"))
        );
        let volts = encode(dec!(220.1), VOLTAGE_V).expect("fits");
        assert_eq!(
            read_reply(&meter(), DataId::V2007(0x0201_0100), &volts),
            Ok(fe("68 34 12 00 00 23 20 68 91 06 33 34 34 35 34 55 49 16"))
        );
        let pf = encode(dec!(-0.500), POWER_FACTOR).expect("fits");
        assert_eq!(pf, [0x00, 0x85]);
        assert_eq!(
            read_reply(&meter(), DataId::V2007(0x0206_0000), &pf),
            Ok(fe("68 34 12 00 00 23 20 68 91 06 33 33 39 35 33 B8 AF 16"))
        );
        let old = encode(dec!(876.54), ENERGY_KWH).expect("fits");
        assert_eq!(
            read_reply(&meter(), DataId::V1997(0x9010), &old),
            Ok(fe("68 34 12 00 00 23 20 68 81 06 43 C3 87 A9 3B 33 84 16"))
        );
        assert_eq!(
            abnormal_reply(
                &meter(),
                &Request::Read(DataId::V2007(0x0001_0000)),
                error::NO_DATA
            ),
            fe("68 34 12 00 00 23 20 68 D1 01 35 60 16")
        );
        // 1997: C1H. CS = 59 + C1 + 01 + 35 = 0x150 → 50.
        assert_eq!(
            abnormal_reply(
                &meter(),
                &Request::Read(DataId::V1997(0x9010)),
                error::NO_DATA
            ),
            fe("68 34 12 00 00 23 20 68 C1 01 35 50 16")
        );
        assert_eq!(
            read_address_reply(&meter()),
            fe("68 34 12 00 00 23 20 68 93 06 67 45 33 33 56 53 AD 16")
        );
        assert!(read_reply(&meter(), DataId::V2007(0), &[0; 197]).is_err());
    }

    /// Encoding, then parsing and decoding as the collector does, gives the value back.
    #[test]
    fn encoded_replies_parse_back() {
        let cases = [
            (DataId::V2007(0x0001_0000), ENERGY_KWH, dec!(999999.99)),
            (DataId::V2007(0x0202_0100), CURRENT_A, dec!(-12.345)),
            (DataId::V2007(0x0203_0000), POWER_KW, dec!(79.9999)),
            (DataId::V2007(0x0206_0000), POWER_FACTOR, dec!(0.931)),
            (DataId::V2007(0x0280_0002), FREQUENCY_HZ, dec!(50.02)),
            (DataId::V1997(0xB611), VOLTAGE_V_1997, dec!(229)),
            (DataId::V1997(0xB621), CURRENT_A_1997, dec!(12.34)),
        ];
        for (id, format, value) in cases {
            let frame =
                read_reply(&meter(), id, &encode(value, format).expect("fits")).expect("encodes");
            assert_eq!(decode(&read_data(&frame, id), format), Ok(value), "{id}");
        }
        let refused = abnormal_reply(&meter(), &Request::Read(DataId::V1997(0x9010)), 0x02);
        let Ok(Parsed::Frame { reply, .. }) =
            parse_reply(&refused, &meter(), &Request::Read(DataId::V1997(0x9010)))
        else {
            panic!("abnormal reply parses");
        };
        assert_eq!(
            reply.body,
            ReplyBody::Refused(ErrorWord {
                version: Version::V1997,
                bits: 0x02
            })
        );
        let Ok(Parsed::Frame { reply, .. }) = parse_reply(
            &read_address_reply(&meter()),
            &Address::WILDCARD,
            &Request::ReadAddress,
        ) else {
            panic!("read address reply parses");
        };
        assert_eq!(reply.address, meter());
    }

    #[test]
    fn values_that_do_not_fit_are_refused() {
        assert_eq!(capacity(ENERGY_KWH), dec!(1000000.00));
        assert_eq!(capacity(POWER_KW), dec!(80.0000));
        assert!(matches!(
            encode(dec!(1000000.00), ENERGY_KWH),
            Err(ValueError::DoesNotFit { .. })
        ));
        assert!(encode(dec!(-0.01), ENERGY_KWH).is_err());
        assert!(encode(dec!(80), POWER_KW).is_err());
        assert!(encode(dec!(-80), POWER_KW).is_err());
        assert_eq!(
            encode(dec!(-1), ENERGY_KWH).map_err(|e| e.to_string()),
            Err("-1 does not fit 4 BCD byte(s), 2 decimal(s), unsigned".to_string())
        );
        // Digits past the format's decimals are cut off, toward zero.
        assert_eq!(encode(dec!(1.239), ENERGY_KWH), Ok(vec![0x23, 0x01, 0, 0]));
        assert_eq!(encode(dec!(-1.2349), CURRENT_A), Ok(vec![0x34, 0x12, 0x80]));
        assert_eq!(encode(dec!(-0.0001), CURRENT_A), Ok(vec![0, 0, 0]));
        assert_eq!(encode(Decimal::ZERO, POWER_KW), Ok(vec![0, 0, 0]));
    }

    #[test]
    fn requests_are_parsed_as_a_meter_reads_them() {
        let id = DataId::V2007(0x0201_0100);
        let mut stream = hex("00 FF");
        stream.extend(read_request(&meter(), id));
        let Ok(Parsed::Frame {
            reply,
            consumed,
            noise,
        }) = parse_request(&stream)
        else {
            panic!("request parses");
        };
        assert_eq!((consumed, noise), (stream.len(), 6));
        assert_eq!(reply.address, meter());
        assert_eq!(reply.read_id(), Some(id));
        assert_eq!(reply.broadcast_time(), None);
        let old = parse_request(&read_request(&meter(), DataId::V1997(0xB611)));
        assert!(matches!(
            old,
            Ok(Parsed::Frame { ref reply, .. }) if reply.read_id() == Some(DataId::V1997(0xB611))
        ));
        let t = NaiveDate::from_ymd_opt(2024, 3, 15)
            .and_then(|d| d.and_hms_opt(14, 30, 5))
            .expect("test time");
        let sync = time_sync_request(&t).expect("encodes");
        let Ok(Parsed::Frame { reply, .. }) = parse_request(&sync) else {
            panic!("time sync parses");
        };
        assert_eq!(reply.address, Address::BROADCAST);
        assert_eq!(reply.broadcast_time(), Some(t));
        assert_eq!(reply.read_id(), None);
        let Ok(Parsed::Frame { reply, .. }) = parse_request(&read_address_request()) else {
            panic!("read address parses");
        };
        assert_eq!((reply.address, reply.control), (Address::WILDCARD, 0x13));
        // Another meter's reply on the bus is not a request.
        assert!(matches!(
            parse_request(&read_address_reply(&meter())),
            Err(FrameError::UnexpectedControl { got: 0x93, .. })
        ));
        assert_eq!(
            parse_request(&read_request(&meter(), id)[..9]),
            Ok(Parsed::NeedMore(3))
        );
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            for asked in [
                Request::Read(DataId::V2007(0x0001_0000)),
                Request::Read(DataId::V1997(0x9010)),
                Request::ReadAddress,
                Request::RemoteControl,
            ] {
                let _ = parse_reply(&bytes, &meter(), &asked);
                let _ = parse_complete(&bytes, &Address::WILDCARD, &asked);
            }
            for format in [ENERGY_KWH, CURRENT_A, POWER_KW, POWER_FACTOR] {
                let _ = decode_block(&bytes, format);
            }
            let _ = relay_state(&bytes);
            let _ = parse_request(&bytes);
        }

        #[test]
        fn mutated_frames_never_panic(
            pick in 0usize..5,
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
            cut in any::<usize>(),
        ) {
            let all = golden();
            let (mut frame, asked) = all[pick % all.len()].clone();
            for (at, v) in edits {
                let i = at % frame.len();
                frame[i] = v;
            }
            let end = cut % (frame.len() + 1);
            let _ = parse_reply(&frame[..end], &meter(), &asked);
            let _ = parse_complete(&frame, &meter(), &asked);
        }

        #[test]
        fn bcd_round_trips(v in 0u64..100_000_000) {
            let mut bytes = [0u8; 4];
            let mut rest = v;
            for b in &mut bytes {
                *b = ((((rest / 10) % 10) << 4) | (rest % 10)) as u8;
                rest /= 100;
            }
            prop_assert_eq!(decode(&bytes, ENERGY_KWH), Ok(Decimal::new(v as i64, 2)));
            prop_assert_eq!(encode(Decimal::new(v as i64, 2), ENERGY_KWH), Ok(bytes.to_vec()));
        }

        #[test]
        fn signed_values_round_trip(v in -799_999i64..800_000) {
            // 3 bytes signed: 5 digits and a top digit of 0..7.
            for format in [CURRENT_A, POWER_KW] {
                let value = Decimal::new(v, format.decimals);
                let bytes = encode(value, format).expect("fits");
                prop_assert_eq!(decode(&bytes, format), Ok(value));
            }
        }
    }
}
