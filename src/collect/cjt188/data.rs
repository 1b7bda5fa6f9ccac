//! CJ/T 188-2004 meter readings (901FH): the data of a normal read reply (after DI0 DI1 SER) →
//! exact decimals in the meter's unit and in jieneng's canonical units (kWh, kW, m³, m³/h, °C).
//!
//! Layouts (CJ/T 188-2004 table 5, read data 901FH), all BCD low byte first:
//! - water and gas meters, 19 bytes: current accumulated flow XXXXXX.XX + unit, settlement-day
//!   accumulated flow XXXXXX.XX + unit, real time (7), status ST (2). Confirmed by the worked
//!   replies at cnblogs.com/yangykaifa/p/7010777.html and cnblogs.com/cj94/p/18534598 (L = 16H).
//! - heat meters, 43 bytes: settlement-day heat XXXXXX.XX + unit, current heat XXXXXX.XX +
//!   unit, heat power XXXXXX.XX + unit, flow XXXX.XXXX + unit, accumulated flow XXXXXX.XX +
//!   unit, supply temperature XXXX.XX °C (3 bytes), return temperature XXXX.XX °C, accumulated
//!   working time XXXXXX h (3 bytes), real time (7), status ST (2) — L = 2EH. The field order
//!   matches the heat-meter records of open collectors (e.g. github.com/Crazyers/NETIOCPDemo
//!   `CjdHeat`: 结算日热量, 当前热量, 热功率, 流量, 累积流量, 供水温度, 回水温度, 累计工作时间);
//!   the decimals of the flow (4) and of the temperatures (2) are the standard's as commonly
//!   quoted, not read in its own text: check a meter's manual before trusting them.
//! - gas meters use the water layout (open drivers treat water and gas 901F alike).

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use thiserror::Error;

use super::frame::Status;

/// What a unit measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Energy,
    Power,
    Volume,
    Flow,
}

/// Unit codes (CJ/T 188-2004 table "单位代号"), confirmed code for code by a public collector
/// configuration tool's `ParseUnitByValue` (C++, the same 16 codes) and the worked water reply
/// (2CH = m³) at cnblogs.com/yangykaifa/p/7010777.html.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Wh,
    KWh,
    MWh,
    /// MWh × 100.
    MWh100,
    J,
    KJ,
    MJ,
    GJ,
    /// GJ × 100.
    GJ100,
    W,
    KW,
    MW,
    L,
    M3,
    LPerH,
    M3PerH,
}

const UNITS: [(u8, Unit); 16] = [
    (0x02, Unit::Wh),
    (0x05, Unit::KWh),
    (0x08, Unit::MWh),
    (0x0A, Unit::MWh100),
    (0x01, Unit::J),
    (0x0B, Unit::KJ),
    (0x0E, Unit::MJ),
    (0x11, Unit::GJ),
    (0x13, Unit::GJ100),
    (0x14, Unit::W),
    (0x17, Unit::KW),
    (0x1A, Unit::MW),
    (0x29, Unit::L),
    (0x2C, Unit::M3),
    (0x32, Unit::LPerH),
    (0x35, Unit::M3PerH),
];

impl Unit {
    pub fn from_code(code: u8) -> Option<Unit> {
        UNITS.iter().find(|(c, _)| *c == code).map(|(_, u)| *u)
    }

    pub fn code(&self) -> u8 {
        UNITS
            .iter()
            .find(|(_, u)| u == self)
            .map(|(c, _)| *c)
            .unwrap_or_default()
    }

    pub fn symbol(&self) -> &'static str {
        match self {
            Unit::Wh => "Wh",
            Unit::KWh => "kWh",
            Unit::MWh => "MWh",
            Unit::MWh100 => "MWh×100",
            Unit::J => "J",
            Unit::KJ => "kJ",
            Unit::MJ => "MJ",
            Unit::GJ => "GJ",
            Unit::GJ100 => "GJ×100",
            Unit::W => "W",
            Unit::KW => "kW",
            Unit::MW => "MW",
            Unit::L => "L",
            Unit::M3 => "m³",
            Unit::LPerH => "L/h",
            Unit::M3PerH => "m³/h",
        }
    }

    pub fn dimension(&self) -> Dimension {
        match self {
            Unit::Wh
            | Unit::KWh
            | Unit::MWh
            | Unit::MWh100
            | Unit::J
            | Unit::KJ
            | Unit::MJ
            | Unit::GJ
            | Unit::GJ100 => Dimension::Energy,
            Unit::W | Unit::KW | Unit::MW => Dimension::Power,
            Unit::L | Unit::M3 => Dimension::Volume,
            Unit::LPerH | Unit::M3PerH => Dimension::Flow,
        }
    }

    /// `value` in this unit → the canonical unit of its dimension (kWh, kW, m³, m³/h), and
    /// whether the result is exact. Joule units are not: 1 kWh = 3.6 MJ, so they divide by 9
    /// somewhere and the quotient is rounded at Decimal's 28 significant digits (1 GJ =
    /// 277.777… kWh). Every other factor is a power of ten and exact.
    pub fn to_canonical(&self, value: Decimal) -> Option<(Decimal, bool)> {
        let (mul, div): (i64, i64) = match self {
            Unit::Wh => (1, 1000),
            Unit::KWh => (1, 1),
            Unit::MWh => (1000, 1),
            Unit::MWh100 => (100_000, 1),
            // kWh = J / 3 600 000
            Unit::J => (1, 3_600_000),
            Unit::KJ => (1, 3600),
            // MJ / 3.6 = MJ × 10 / 36
            Unit::MJ => (10, 36),
            // GJ × 1000 / 3.6 = GJ × 2500 / 9
            Unit::GJ => (2500, 9),
            Unit::GJ100 => (250_000, 9),
            Unit::W => (1, 1000),
            Unit::KW => (1, 1),
            Unit::MW => (1000, 1),
            Unit::L => (1, 1000),
            Unit::M3 => (1, 1),
            Unit::LPerH => (1, 1000),
            Unit::M3PerH => (1, 1),
        };
        let product = value.checked_mul(Decimal::from(mul))?;
        let quotient = product.checked_div(Decimal::from(div))?;
        // Every divisor is 2^a·5^b, times 9 for the joule units. Dividing the product's
        // mantissa (m / 10^s, no factor 3 in 10^s) by 9 terminates only if 9 divides m.
        let exact = div % 9 != 0 || product.mantissa() % 9 == 0;
        Some((quotient, exact))
    }
}

/// A value as the meter sent it, and in canonical units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measured {
    /// The decimal as sent, in `unit`.
    pub raw: Decimal,
    pub unit: Unit,
    /// In kWh, kW, m³ or m³/h by `unit`'s dimension.
    pub canonical: Decimal,
    /// False where the conversion rounded (joule units).
    pub exact: bool,
}

impl Measured {
    /// `raw` in `unit`, with its canonical value; `None` where the conversion overflows.
    pub fn new(raw: Decimal, unit: Unit) -> Option<Measured> {
        let (canonical, exact) = unit.to_canonical(raw)?;
        Some(Measured {
            raw,
            unit,
            canonical,
            exact,
        })
    }
}

/// A water or gas meter's 901F reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaterReading {
    /// 当前累积流量: the register, m³.
    pub current: Measured,
    /// 结算日累积流量: the register on the last settlement day, m³.
    pub settlement: Measured,
    /// 实时时间: the meter's clock; `None` when it holds no valid date (many send zeros).
    pub time: Option<NaiveDateTime>,
    pub status: Status,
}

/// A heat meter's 901F reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeatReading {
    /// 结算日热量, kWh.
    pub settlement_heat: Measured,
    /// 当前热量: the register, kWh.
    pub current_heat: Measured,
    /// 热功率, kW.
    pub power: Measured,
    /// 流量, m³/h.
    pub flow: Measured,
    /// 累积流量, m³.
    pub volume: Measured,
    /// 供水温度, °C.
    pub supply_temperature: Decimal,
    /// 回水温度, °C.
    pub return_temperature: Decimal,
    /// 累计工作时间, hours.
    pub working_hours: Decimal,
    pub time: Option<NaiveDateTime>,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValueError {
    #[error("901F data has {got} bytes, a {meter} sends {expected}")]
    Length {
        meter: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("{field}: byte {index} ({byte:02X}H) is not BCD")]
    InvalidBcd {
        field: &'static str,
        index: usize,
        byte: u8,
    },
    #[error("{field}: unknown unit code {code:02X}H")]
    UnknownUnit { field: &'static str, code: u8 },
    #[error("{field}: unit {unit} does not measure this quantity")]
    UnitMismatch {
        field: &'static str,
        unit: &'static str,
    },
    #[error("{field}: value too large to convert")]
    Overflow { field: &'static str },
    /// Encoding: negative, or more digits than the field has.
    #[error("{field}: {value} does not fit the field")]
    DoesNotFit { field: &'static str, value: Decimal },
}

/// Reads fields off the data in order, tracking the offset for error messages.
struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let bytes = self.data.get(self.at..self.at + n).unwrap_or_default();
        self.at += n;
        bytes
    }

    /// Unsigned BCD, low byte first, `decimals` digits after the point.
    fn bcd(&mut self, n: usize, decimals: u32, field: &'static str) -> Result<Decimal, ValueError> {
        let base = self.at;
        let bytes = self.take(n);
        let mut value: i64 = 0;
        for (i, &byte) in bytes.iter().enumerate().rev() {
            let (hi, lo) = (byte >> 4, byte & 0x0F);
            if hi > 9 || lo > 9 {
                return Err(ValueError::InvalidBcd {
                    field,
                    index: base + i,
                    byte,
                });
            }
            value = value * 100 + i64::from(hi) * 10 + i64::from(lo);
        }
        Ok(Decimal::new(value, decimals))
    }

    /// A 4-byte BCD value with its unit code, converted to the canonical unit of `dimension`.
    fn measured(
        &mut self,
        decimals: u32,
        dimension: Dimension,
        field: &'static str,
    ) -> Result<Measured, ValueError> {
        let raw = self.bcd(4, decimals, field)?;
        let code = self.take(1).first().copied().unwrap_or_default();
        let unit = Unit::from_code(code).ok_or(ValueError::UnknownUnit { field, code })?;
        if unit.dimension() != dimension {
            return Err(ValueError::UnitMismatch {
                field,
                unit: unit.symbol(),
            });
        }
        let (canonical, exact) = unit
            .to_canonical(raw)
            .ok_or(ValueError::Overflow { field })?;
        Ok(Measured {
            raw,
            unit,
            canonical,
            exact,
        })
    }

    /// 7 bytes BCD `ss mm hh DD MM YY YY` (low byte first: the worked reply at
    /// cnblogs.com/yangykaifa sends 2015-05-11 22:01:31 as `31 01 22 11 05 15 20`).
    fn time(&mut self) -> Result<Option<NaiveDateTime>, ValueError> {
        let base = self.at;
        let bytes = self.take(7);
        let mut digits = [0u32; 7];
        for (i, (&byte, d)) in bytes.iter().zip(digits.iter_mut()).enumerate() {
            let (hi, lo) = (byte >> 4, byte & 0x0F);
            if hi > 9 || lo > 9 {
                return Err(ValueError::InvalidBcd {
                    field: "实时时间 (meter time)",
                    index: base + i,
                    byte,
                });
            }
            *d = u32::from(hi) * 10 + u32::from(lo);
        }
        let [ss, mm, hh, day, month, yy_lo, yy_hi] = digits;
        Ok(
            NaiveDate::from_ymd_opt((yy_hi * 100 + yy_lo) as i32, month, day)
                .and_then(|d| d.and_hms_opt(hh, mm, ss)),
        )
    }

    fn status(&mut self) -> Status {
        let b = self.take(2);
        Status {
            bytes: [
                b.first().copied().unwrap_or_default(),
                b.get(1).copied().unwrap_or_default(),
            ],
        }
    }
}

pub const WATER_901F_LEN: usize = 19;
pub const HEAT_901F_LEN: usize = 43;

/// A water (or gas) meter's 901F data, after DI0 DI1 SER.
pub fn decode_water_901f(data: &[u8]) -> Result<WaterReading, ValueError> {
    if data.len() != WATER_901F_LEN {
        return Err(ValueError::Length {
            meter: "水表 (water meter)",
            expected: WATER_901F_LEN,
            got: data.len(),
        });
    }
    let mut c = Cursor { data, at: 0 };
    Ok(WaterReading {
        current: c.measured(2, Dimension::Volume, "当前累积流量 (current volume)")?,
        settlement: c.measured(
            2,
            Dimension::Volume,
            "结算日累积流量 (settlement-day volume)",
        )?,
        time: c.time()?,
        status: c.status(),
    })
}

/// A heat meter's 901F data, after DI0 DI1 SER.
pub fn decode_heat_901f(data: &[u8]) -> Result<HeatReading, ValueError> {
    if data.len() != HEAT_901F_LEN {
        return Err(ValueError::Length {
            meter: "热量表 (heat meter)",
            expected: HEAT_901F_LEN,
            got: data.len(),
        });
    }
    let mut c = Cursor { data, at: 0 };
    Ok(HeatReading {
        settlement_heat: c.measured(2, Dimension::Energy, "结算日热量 (settlement-day heat)")?,
        current_heat: c.measured(2, Dimension::Energy, "当前热量 (current heat)")?,
        power: c.measured(2, Dimension::Power, "热功率 (heat power)")?,
        flow: c.measured(4, Dimension::Flow, "流量 (flow)")?,
        volume: c.measured(2, Dimension::Volume, "累积流量 (accumulated volume)")?,
        supply_temperature: c.bcd(3, 2, "供水温度 (supply temperature)")?,
        return_temperature: c.bcd(3, 2, "回水温度 (return temperature)")?,
        working_hours: c.bcd(3, 0, "累计工作时间 (working hours)")?,
        time: c.time()?,
        status: c.status(),
    })
}

/// Unsigned BCD, `n` bytes low byte first, `decimals` digits after the point; digits past them
/// are cut off (toward zero), as a meter shows only the digits it has counted.
fn bcd_bytes(
    value: Decimal,
    n: usize,
    decimals: u32,
    field: &'static str,
) -> Result<Vec<u8>, ValueError> {
    let too_big = || ValueError::DoesNotFit { field, value };
    if value.is_sign_negative() && !value.is_zero() {
        return Err(too_big());
    }
    let mut units = value
        .trunc_with_scale(decimals)
        .checked_mul(Decimal::from(10u64.pow(decimals)))
        .and_then(|u| u.trunc().to_u64())
        .ok_or_else(too_big)?;
    let mut bytes = Vec::with_capacity(n);
    for _ in 0..n {
        let pair = (units % 100) as u8;
        bytes.push(((pair / 10) << 4) | (pair % 10));
        units /= 100;
    }
    if units != 0 {
        return Err(too_big());
    }
    Ok(bytes)
}

/// A value with its unit code, 4 BCD bytes then the code.
fn measured_bytes(m: &Measured, decimals: u32, field: &'static str) -> Result<Vec<u8>, ValueError> {
    let mut bytes = bcd_bytes(m.raw, 4, decimals, field)?;
    bytes.push(m.unit.code());
    Ok(bytes)
}

/// `ss mm hh DD MM YY YY`; no time is sent as zeros (as many meters do).
fn time_bytes(time: Option<NaiveDateTime>) -> [u8; 7] {
    let b = |v: u32| (((v / 10 % 10) << 4) | (v % 10)) as u8;
    match time {
        Some(t) if (0..=9999).contains(&t.year()) => {
            let year = t.year() as u32;
            [
                b(t.second()),
                b(t.minute()),
                b(t.hour()),
                b(t.day()),
                b(t.month()),
                b(year % 100),
                b(year / 100),
            ]
        }
        _ => [0; 7],
    }
}

/// A water (or gas) meter's 901F data, the inverse of [`decode_water_901f`]: current and
/// settlement-day volume in their units (2 decimals), the clock, the status.
pub fn encode_water_901f(r: &WaterReading) -> Result<Vec<u8>, ValueError> {
    let mut data = Vec::with_capacity(WATER_901F_LEN);
    data.extend(measured_bytes(
        &r.current,
        2,
        "当前累积流量 (current volume)",
    )?);
    data.extend(measured_bytes(
        &r.settlement,
        2,
        "结算日累积流量 (settlement-day volume)",
    )?);
    data.extend(time_bytes(r.time));
    data.extend(r.status.bytes);
    Ok(data)
}

/// A heat meter's 901F data, the inverse of [`decode_heat_901f`].
pub fn encode_heat_901f(r: &HeatReading) -> Result<Vec<u8>, ValueError> {
    let mut data = Vec::with_capacity(HEAT_901F_LEN);
    data.extend(measured_bytes(
        &r.settlement_heat,
        2,
        "结算日热量 (settlement-day heat)",
    )?);
    data.extend(measured_bytes(
        &r.current_heat,
        2,
        "当前热量 (current heat)",
    )?);
    data.extend(measured_bytes(&r.power, 2, "热功率 (heat power)")?);
    data.extend(measured_bytes(&r.flow, 4, "流量 (flow)")?);
    data.extend(measured_bytes(
        &r.volume,
        2,
        "累积流量 (accumulated volume)",
    )?);
    data.extend(bcd_bytes(
        r.supply_temperature,
        3,
        2,
        "供水温度 (supply temperature)",
    )?);
    data.extend(bcd_bytes(
        r.return_temperature,
        3,
        2,
        "回水温度 (return temperature)",
    )?);
    data.extend(bcd_bytes(
        r.working_hours,
        3,
        0,
        "累计工作时间 (working hours)",
    )?);
    data.extend(time_bytes(r.time));
    data.extend(r.status.bytes);
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::super::frame::{
        Address, DI_METER_READING, FrameError, MeterType, Parsed, Reply, ReplyBody, Request, Valve,
        abnormal_reply, parse_complete, parse_reply, parse_request, read_reply, read_request,
    };
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    /// Hex text → bytes; golden frames are written by hand, checksums added up in the comments.
    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).expect("test hex"))
            .collect()
    }

    fn water_meter() -> Address {
        "78330011223344".parse().expect("test address")
    }

    fn heat_meter() -> Address {
        "00000012345678".parse().expect("test address")
    }

    fn water_request() -> Request {
        Request {
            meter_type: MeterType::ColdWater,
            di: DI_METER_READING,
            ser: 0x00,
        }
    }

    fn heat_request() -> Request {
        Request {
            meter_type: MeterType::Heat,
            di: DI_METER_READING,
            ser: 0x01,
        }
    }

    /// The cold-water exchange of cnblogs.com/yangykaifa/p/7010777.html. Request CS there:
    /// 68+10+44+33+22+11+00+33+78+01+03+1F+90+00 = 0x380 → 80. Its reply prints CS 08, which
    /// does not add up: header 68..78 = 0x1CD, 81 16 1F 90 00 = 0x146, the two volumes 0x2BC,
    /// time and status 0x144 → 0x613 → 13, used here.
    const WATER_REPLY: &str = "FE FE FE FE 68 10 44 33 22 11 00 33 78 81 16 1F 90 00 \
        00 77 66 55 2C 00 77 66 55 2C 31 01 22 11 05 15 20 21 84 13 16";

    /// A heat meter (type 20H) at 00000012345678, SER 01: settlement heat 36.00 GJ, current
    /// heat 37.80 GJ, power 12.50 kW, flow 0.4500 m³/h, volume 123.45 m³, supply 65.30 °C,
    /// return 45.20 °C, 1234 h, 2024-01-15 08:30:00, status 00 00. CS: header 68..00 = 0x19C,
    /// 81 2E 1F 90 01 = 0x15F, the five values with units 0x297, temperatures to status 0x1D2 →
    /// 0x664 → 64.
    const HEAT_REPLY: &str = "68 20 78 56 34 12 00 00 00 81 2E 1F 90 01 \
        00 36 00 00 11 80 37 00 00 11 50 12 00 00 17 00 45 00 00 35 45 23 01 00 2C \
        30 65 00 20 45 00 34 12 00 00 30 08 15 01 24 20 00 00 64 16";

    fn data_of(reply: &[u8], to: &Address, asked: &Request) -> Vec<u8> {
        match parse_reply(reply, to, asked) {
            Ok(Parsed::Frame {
                reply:
                    Reply {
                        body: ReplyBody::Data(data),
                        ..
                    },
                ..
            }) => data,
            other => panic!("expected data, got {other:?}"),
        }
    }

    #[test]
    fn address_and_type() {
        let a = water_meter();
        assert_eq!(a.wire(), [0x44, 0x33, 0x22, 0x11, 0x00, 0x33, 0x78]);
        assert_eq!(a.to_string(), "78330011223344");
        assert_eq!(
            "7833001122334"
                .parse::<Address>()
                .map_err(|e| e.to_string()),
            Err(r#"address "7833001122334": 14 decimal digits as on the nameplate"#.to_string())
        );
        assert_eq!(MeterType::from_code(0x21), MeterType::Cooling);
        assert_eq!(MeterType::Gas.code(), 0x30);
        assert_eq!(MeterType::from_code(0x40), MeterType::Other(0x40));
        assert_eq!(Address::WILDCARD.wire(), [0xAA; 7]);
    }

    #[test]
    fn cold_water_901f() {
        assert_eq!(
            read_request(MeterType::ColdWater, &water_meter(), DI_METER_READING, 0x00),
            hex("FE FE FE FE 68 10 44 33 22 11 00 33 78 01 03 1F 90 00 80 16")
        );
        let reply = hex(WATER_REPLY);
        let data = data_of(&reply, &water_meter(), &water_request());
        let r = decode_water_901f(&data).expect("water reading");
        assert_eq!(r.current.raw, dec!(556677.00));
        assert_eq!(r.current.unit, Unit::M3);
        assert_eq!(r.current.canonical, dec!(556677.00));
        assert!(r.current.exact);
        assert_eq!(r.settlement.canonical, dec!(556677.00));
        assert_eq!(
            r.time,
            NaiveDate::from_ymd_opt(2015, 5, 11).and_then(|d| d.and_hms_opt(22, 1, 31))
        );
        assert_eq!(r.status.valve(), Valve::Closed);
        assert!(!r.status.battery_low());
        assert_eq!(
            r.status.to_string(),
            "阀门关 (valve closed); 电池正常 (battery normal); 厂商位 (maker's bits) 20 84"
        );
    }

    #[test]
    fn heat_meter_901f() {
        // 68 20 78 56 34 12 00 00 00 01 03 1F 90 01: 0x19C + 01 + 03 + 1F + 90 + 01 = 0x250.
        assert_eq!(
            read_request(MeterType::Heat, &heat_meter(), DI_METER_READING, 0x01),
            hex("FE FE FE FE 68 20 78 56 34 12 00 00 00 01 03 1F 90 01 50 16")
        );
        let reply = hex(HEAT_REPLY);
        let data = data_of(&reply, &heat_meter(), &heat_request());
        let r = decode_heat_901f(&data).expect("heat reading");
        assert_eq!(
            (r.settlement_heat.raw, r.settlement_heat.unit),
            (dec!(36.00), Unit::GJ)
        );
        assert_eq!(r.settlement_heat.canonical, dec!(10000));
        assert!(r.settlement_heat.exact);
        assert_eq!(r.current_heat.canonical, dec!(10500));
        assert_eq!((r.power.canonical, r.power.unit), (dec!(12.50), Unit::KW));
        assert_eq!(
            (r.flow.canonical, r.flow.unit),
            (dec!(0.4500), Unit::M3PerH)
        );
        assert_eq!(
            (r.volume.canonical, r.volume.unit),
            (dec!(123.45), Unit::M3)
        );
        assert_eq!(r.supply_temperature, dec!(65.30));
        assert_eq!(r.return_temperature, dec!(45.20));
        assert_eq!(r.working_hours, dec!(1234));
        assert_eq!(
            r.time,
            NaiveDate::from_ymd_opt(2024, 1, 15).and_then(|d| d.and_hms_opt(8, 30, 0))
        );
        assert_eq!(r.status.valve(), Valve::Open);
    }

    #[test]
    fn unit_conversions() {
        let kwh = |u: Unit, v| u.to_canonical(v);
        assert_eq!(kwh(Unit::Wh, dec!(1500)), Some((dec!(1.5), true)));
        assert_eq!(kwh(Unit::MWh100, dec!(1.23)), Some((dec!(123000), true)));
        assert_eq!(kwh(Unit::MJ, dec!(36)), Some((dec!(10), true)));
        assert_eq!(kwh(Unit::MJ, dec!(1.8)), Some((dec!(0.5), true)));
        assert_eq!(kwh(Unit::L, dec!(250)), Some((dec!(0.25), true)));
        assert_eq!(kwh(Unit::LPerH, dec!(450)), Some((dec!(0.45), true)));
        // 1 GJ = 277.777… kWh: rounded, and said so.
        let (v, exact) = kwh(Unit::GJ, dec!(1)).expect("converts");
        assert!(!exact);
        assert!((v - dec!(277.7777777777)).abs() < dec!(0.0000000001));
        for (code, unit) in UNITS {
            assert_eq!(Unit::from_code(code), Some(unit));
            assert_eq!(unit.code(), code);
        }
        assert_eq!(Unit::from_code(0x2D), None);
    }

    #[test]
    fn value_errors_name_the_field() {
        let mut data = data_of(&hex(WATER_REPLY), &water_meter(), &water_request());
        data[4] = 0x05; // kWh where a volume belongs
        assert_eq!(
            decode_water_901f(&data).map_err(|e| e.to_string()),
            Err("当前累积流量 (current volume): unit kWh does not measure this quantity".into())
        );
        data[4] = 0x2D;
        assert_eq!(
            decode_water_901f(&data),
            Err(ValueError::UnknownUnit {
                field: "当前累积流量 (current volume)",
                code: 0x2D
            })
        );
        data[4] = 0x2C;
        data[6] = 0x7A;
        assert_eq!(
            decode_water_901f(&data),
            Err(ValueError::InvalidBcd {
                field: "结算日累积流量 (settlement-day volume)",
                index: 6,
                byte: 0x7A
            })
        );
        assert!(matches!(
            decode_water_901f(&data[..18]),
            Err(ValueError::Length {
                expected: 19,
                got: 18,
                ..
            })
        ));
        assert!(decode_heat_901f(&[]).is_err());
        // All-zero clock: no date, not an error.
        let mut zeros = data_of(&hex(WATER_REPLY), &water_meter(), &water_request());
        zeros[10..17].fill(0);
        assert_eq!(decode_water_901f(&zeros).map(|r| r.time), Ok(None));
    }

    #[test]
    fn frame_errors_are_told_apart() {
        let asked = water_request();
        let good = hex(WATER_REPLY);
        let mut bad_cs = good.clone();
        bad_cs[37] = 0x14;
        assert_eq!(
            parse_reply(&bad_cs, &water_meter(), &asked),
            Err(FrameError::BadChecksum {
                expected: 0x13,
                got: 0x14
            })
        );
        let mut bad_end = good.clone();
        bad_end[38] = 0x00;
        assert_eq!(
            parse_reply(&bad_end, &water_meter(), &asked),
            Err(FrameError::MissingEnd { got: 0x00 })
        );
        assert!(matches!(
            parse_reply(&good, &heat_meter(), &asked),
            Err(FrameError::WrongAddress { .. })
        ));
        assert!(matches!(
            parse_reply(
                &good,
                &water_meter(),
                &Request {
                    meter_type: MeterType::Heat,
                    ..asked
                }
            ),
            Err(FrameError::WrongMeterType { .. })
        ));
        assert_eq!(
            parse_reply(&good, &water_meter(), &Request { ser: 7, ..asked }),
            Err(FrameError::WrongSequence {
                expected: 7,
                got: 0
            })
        );
        assert_eq!(
            parse_reply(
                &good,
                &water_meter(),
                &Request {
                    di: 0x907F,
                    ..asked
                }
            ),
            Err(FrameError::WrongIdentifier {
                expected: 0x907F,
                got: 0x901F
            })
        );
        let any = Request {
            meter_type: MeterType::Any,
            ..asked
        };
        assert!(matches!(
            parse_reply(&good, &Address::WILDCARD, &any),
            Ok(Parsed::Frame { noise: 4, .. })
        ));
        // Abnormal reply C1: SER 00, ST 03 00 (valve abnormal). CS = 0x1CD + C1 + 03 + 03 = 0x294.
        let refused = hex("68 10 44 33 22 11 00 33 78 C1 03 00 03 00 94 16");
        match parse_reply(&refused, &water_meter(), &asked) {
            Ok(Parsed::Frame {
                reply:
                    Reply {
                        body: ReplyBody::Refused(status),
                        ..
                    },
                ..
            }) => assert_eq!(status.valve(), Valve::Abnormal),
            other => panic!("expected a refusal, got {other:?}"),
        }
        // A read-address reply (83H) does not answer a read.
        // CS = 0x1CD + 83 + 03 + 81 + 0A + 00 = 0x2DE.
        let other = hex("68 10 44 33 22 11 00 33 78 83 03 81 0A 00 DE 16");
        assert_eq!(
            parse_reply(&other, &water_meter(), &asked),
            Err(FrameError::UnexpectedControl { got: 0x83 })
        );
        assert_eq!(
            parse_complete(&good[..20], &water_meter(), &asked),
            Err(FrameError::Truncated {
                needed: 35,
                got: 16
            })
        );
        assert_eq!(
            parse_complete(&hex("FE FE"), &water_meter(), &asked),
            Err(FrameError::NoStart { skipped: 2 })
        );
    }

    #[test]
    fn noise_and_back_to_back_frames() {
        let asked = water_request();
        let one = hex(WATER_REPLY);
        let mut stream = hex("00 11 FF");
        stream.extend_from_slice(&one);
        stream.extend_from_slice(&one);
        let Ok(Parsed::Frame {
            consumed, noise, ..
        }) = parse_reply(&stream, &water_meter(), &asked)
        else {
            panic!("first frame");
        };
        assert_eq!(noise, 3 + 4);
        assert_eq!(consumed, 3 + one.len());
        let rest = &stream[consumed..];
        assert!(matches!(
            parse_reply(rest, &water_meter(), &asked),
            Ok(Parsed::Frame { noise: 4, consumed, .. }) if consumed == rest.len()
        ));
        for n in 0..one.len() {
            assert!(matches!(
                parse_reply(&one[..n], &water_meter(), &asked),
                Ok(Parsed::NeedMore(_))
            ));
        }
    }

    /// Parses and decodes, as the collector will: frame, then the reading.
    fn reading(bytes: &[u8], to: &Address, asked: &Request) -> Result<String, String> {
        match parse_complete(bytes, to, asked).map_err(|e| e.to_string())? {
            Parsed::Frame {
                reply:
                    Reply {
                        body: ReplyBody::Data(data),
                        ..
                    },
                ..
            } => match asked.meter_type {
                MeterType::Heat => decode_heat_901f(&data).map(|r| format!("{r:?}")),
                _ => decode_water_901f(&data).map(|r| format!("{r:?}")),
            }
            .map_err(|e| e.to_string()),
            other => Ok(format!("{other:?}")),
        }
    }

    #[test]
    fn every_single_byte_corruption_is_caught() {
        let cases = [
            (hex(WATER_REPLY), water_meter(), water_request()),
            (hex(HEAT_REPLY), heat_meter(), heat_request()),
        ];
        for (frame, to, asked) in cases {
            let start = frame.iter().position(|&b| b == 0x68).unwrap_or(0);
            let good = reading(&frame, &to, &asked).expect("golden frame decodes");
            for i in start..frame.len() {
                for v in 0..=255u8 {
                    if v == frame[i] {
                        continue;
                    }
                    let mut bad = frame.clone();
                    bad[i] = v;
                    if let Ok(other) = reading(&bad, &to, &asked) {
                        assert_ne!(other, good, "byte {i} = {v:02X} went unnoticed");
                    }
                }
            }
        }
    }

    /// The golden replies, rebuilt by the encoders from their decoded readings: byte for byte.
    #[test]
    fn replies_are_encoded_as_the_golden_frames() {
        let water = hex(WATER_REPLY);
        let r = decode_water_901f(&data_of(&water, &water_meter(), &water_request()))
            .expect("water reading");
        let data = encode_water_901f(&r).expect("encodes");
        assert_eq!(
            read_reply(
                MeterType::ColdWater,
                &water_meter(),
                DI_METER_READING,
                0x00,
                &data
            ),
            Ok(water)
        );
        let heat = hex(&format!("FE FE FE FE {HEAT_REPLY}"));
        let r = decode_heat_901f(&data_of(&heat, &heat_meter(), &heat_request()))
            .expect("heat reading");
        let data = encode_heat_901f(&r).expect("encodes");
        assert_eq!(
            read_reply(
                MeterType::Heat,
                &heat_meter(),
                DI_METER_READING,
                0x01,
                &data
            ),
            Ok(heat)
        );
        assert_eq!(
            abnormal_reply(
                MeterType::ColdWater,
                &water_meter(),
                0x00,
                Status {
                    bytes: [0x03, 0x00]
                }
            ),
            hex("FE FE FE FE 68 10 44 33 22 11 00 33 78 C1 03 00 03 00 94 16")
        );
        assert!(
            read_reply(
                MeterType::Heat,
                &heat_meter(),
                DI_METER_READING,
                0,
                &[0; 98]
            )
            .is_err()
        );
    }

    /// Readings built from values, encoded, parsed and decoded: the values come back.
    #[test]
    fn encoded_readings_decode_back() {
        let m = |raw, unit| Measured::new(raw, unit).expect("converts");
        let time = NaiveDate::from_ymd_opt(2026, 12, 8).and_then(|d| d.and_hms_opt(13, 5, 59));
        let water = WaterReading {
            current: m(dec!(1234.56), Unit::M3),
            settlement: m(dec!(1200.00), Unit::M3),
            time,
            status: Status { bytes: [0, 0] },
        };
        let data = encode_water_901f(&water).expect("encodes");
        let frame = read_reply(
            MeterType::ColdWater,
            &water_meter(),
            DI_METER_READING,
            7,
            &data,
        )
        .expect("frame");
        let asked = Request {
            ser: 7,
            ..water_request()
        };
        assert_eq!(
            decode_water_901f(&data_of(&frame, &water_meter(), &asked)),
            Ok(water)
        );
        let heat = HeatReading {
            settlement_heat: m(dec!(17000.00), Unit::KWh),
            current_heat: m(dec!(17445.12), Unit::KWh),
            power: m(dec!(26.16), Unit::KW),
            flow: m(dec!(1.5000), Unit::M3PerH),
            volume: m(dec!(1000.25), Unit::M3),
            supply_temperature: dec!(60.12),
            return_temperature: dec!(45.07),
            working_hours: dec!(17000),
            time: None,
            status: Status { bytes: [0, 0] },
        };
        let data = encode_heat_901f(&heat).expect("encodes");
        assert_eq!(data.len(), HEAT_901F_LEN);
        let frame =
            read_reply(MeterType::Heat, &heat_meter(), DI_METER_READING, 1, &data).expect("frame");
        assert_eq!(
            decode_heat_901f(&data_of(&frame, &heat_meter(), &heat_request())),
            Ok(heat)
        );
        let refused = abnormal_reply(
            MeterType::ColdWater,
            &water_meter(),
            0,
            Status { bytes: [1, 0] },
        );
        assert!(matches!(
            parse_reply(&refused, &water_meter(), &water_request()),
            Ok(Parsed::Frame {
                reply: Reply {
                    body: ReplyBody::Refused(Status { bytes: [1, 0] }),
                    ..
                },
                ..
            })
        ));
    }

    #[test]
    fn values_that_do_not_fit_are_refused() {
        let m = |raw, unit| Measured::new(raw, unit).expect("converts");
        let mut water = WaterReading {
            current: m(dec!(1000000.00), Unit::M3),
            settlement: m(dec!(0), Unit::M3),
            time: None,
            status: Status { bytes: [0, 0] },
        };
        assert_eq!(
            encode_water_901f(&water).map_err(|e| e.to_string()),
            Err("当前累积流量 (current volume): 1000000.00 does not fit the field".to_string())
        );
        water.current = m(dec!(-1), Unit::M3);
        assert!(encode_water_901f(&water).is_err());
        // Digits past the field's decimals are cut off.
        water.current = m(dec!(12.349), Unit::M3);
        let data = encode_water_901f(&water).expect("encodes");
        assert_eq!(
            decode_water_901f(&data).map(|r| r.current.raw),
            Ok(dec!(12.34))
        );
    }

    #[test]
    fn requests_are_parsed_as_a_meter_reads_them() {
        let mut stream = hex("00 FF");
        stream.extend(read_request(
            MeterType::Heat,
            &heat_meter(),
            DI_METER_READING,
            9,
        ));
        let Ok(Parsed::Frame {
            reply,
            consumed,
            noise,
        }) = parse_request(&stream)
        else {
            panic!("request parses");
        };
        assert_eq!((consumed, noise), (stream.len(), 6));
        assert_eq!(
            (reply.meter_type, reply.address, reply.read()),
            (MeterType::Heat, heat_meter(), Some((DI_METER_READING, 9)))
        );
        assert!(matches!(
            parse_request(&hex(WATER_REPLY)),
            Err(FrameError::UnexpectedControl { got: 0x81 })
        ));
        assert!(matches!(
            parse_request(&stream[..8]),
            Ok(Parsed::NeedMore(_))
        ));
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_reply(&bytes, &water_meter(), &water_request());
            let _ = parse_complete(&bytes, &Address::WILDCARD, &heat_request());
            let _ = decode_water_901f(&bytes);
            let _ = decode_heat_901f(&bytes);
            let _ = parse_request(&bytes);
        }

        #[test]
        fn mutated_frames_never_panic(
            heat in any::<bool>(),
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
            cut in any::<usize>(),
        ) {
            let (mut frame, to, asked) = if heat {
                (hex(HEAT_REPLY), heat_meter(), heat_request())
            } else {
                (hex(WATER_REPLY), water_meter(), water_request())
            };
            for (at, v) in edits {
                let i = at % frame.len();
                frame[i] = v;
            }
            let end = cut % (frame.len() + 1);
            let _ = parse_reply(&frame[..end], &to, &asked);
            let _ = reading(&frame, &to, &asked);
        }
    }
}
