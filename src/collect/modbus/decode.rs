//! Register decoding: a pure function of (raw words, register spec) → value in canonical units.
//! Also the inverse, used by the simulator to serve a profile's registers.

use thiserror::Error;

use super::plan::ReadBlock;
use crate::config::profile::{ByteOrder, RegisterSpec, ValueType};
use crate::quantity::Quantity;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("expected {expected} registers, got {got}")]
    Length { expected: u16, got: usize },
    #[error("not a number (the meter reports the value as unavailable)")]
    NotFinite,
    #[error("invalid BCD digit in {0:#06x}")]
    InvalidBcd(u16),
    #[error("the meter reports the value as not available")]
    NotAvailable,
}

/// The register's raw contents as one big-endian integer of up to 64 bits, bytes put in order.
fn assemble(words: &[u16], order: ByteOrder) -> u64 {
    let word_order_reversed = matches!(order, ByteOrder::CDAB | ByteOrder::DCBA);
    let swap_bytes = matches!(order, ByteOrder::BADC | ByteOrder::DCBA);
    let mut bits = 0u64;
    for i in 0..words.len() {
        let w = if word_order_reversed {
            words[words.len() - 1 - i]
        } else {
            words[i]
        };
        let w = if swap_bytes { w.swap_bytes() } else { w };
        bits = (bits << 16) | w as u64;
    }
    bits
}

/// Decodes the raw value (before scale and offset).
pub fn decode_raw(words: &[u16], ty: ValueType, order: ByteOrder) -> Result<f64, DecodeError> {
    let bits = assemble(words, order);
    Ok(match ty {
        ValueType::U16 => bits as u16 as f64,
        ValueType::I16 => bits as u16 as i16 as f64,
        ValueType::U32 => bits as u32 as f64,
        ValueType::I32 => bits as u32 as i32 as f64,
        ValueType::U64 => bits as f64,
        ValueType::F32 => {
            let v = f32::from_bits(bits as u32);
            if !v.is_finite() {
                return Err(DecodeError::NotFinite);
            }
            v as f64
        }
        ValueType::F64 => {
            let v = f64::from_bits(bits);
            if !v.is_finite() {
                return Err(DecodeError::NotFinite);
            }
            v
        }
        ValueType::Bcd => {
            let mut value = 0u64;
            for shift in (0..words.len() * 4).rev() {
                let digit = (bits >> (shift * 4)) & 0xF;
                if digit > 9 {
                    let word = words[words.len() - 1 - shift / 4];
                    return Err(DecodeError::InvalidBcd(word));
                }
                value = value * 10 + digit;
            }
            value as f64
        }
    })
}

/// All bits set (unsigned types) or the largest value (signed types): "not available".
fn is_unavailable_marker(words: &[u16], spec: &RegisterSpec) -> bool {
    let bits = assemble(words, spec.byte_order);
    let width = 16 * words.len() as u32;
    let all_ones = if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    match spec.value_type {
        ValueType::U16 | ValueType::U32 | ValueType::U64 => bits == all_ones,
        ValueType::I16 | ValueType::I32 => bits == all_ones >> 1,
        _ => false,
    }
}

/// Decodes a register into its canonical quantity unit.
pub fn decode(words: &[u16], spec: &RegisterSpec) -> Result<f64, DecodeError> {
    if words.len() != spec.words as usize {
        return Err(DecodeError::Length {
            expected: spec.words,
            got: words.len(),
        });
    }
    if spec.max_is_unavailable && is_unavailable_marker(words, spec) {
        return Err(DecodeError::NotAvailable);
    }
    let raw = decode_raw(words, spec.value_type, spec.byte_order)?;
    let value = if spec.offset == 0.0 {
        match spec.divisor {
            Some(d) => raw / d,
            None => raw * spec.scale * spec.unit_factor,
        }
    } else {
        (raw * spec.scale + spec.offset) * spec.unit_factor
    };
    Ok(value)
}

/// Decodes every register a block carries from the block's words.
pub fn decode_block(
    words: &[u16],
    block: &ReadBlock,
    specs: &[RegisterSpec],
) -> Vec<(Quantity, Result<f64, DecodeError>)> {
    block
        .registers
        .iter()
        .map(|&i| {
            let spec = &specs[i];
            let start = (spec.address - block.address) as usize;
            let end = start + spec.words as usize;
            let value = match words.get(start..end) {
                Some(w) => decode(w, spec),
                None => Err(DecodeError::Length {
                    expected: spec.words,
                    got: words.len().saturating_sub(start),
                }),
            };
            (spec.quantity, value)
        })
        .collect()
}

/// The words a meter holds for `value` (in canonical units): the inverse of [`decode`], with
/// integers rounded and saturated to the type's range.
pub fn encode(value: f64, spec: &RegisterSpec) -> Vec<u16> {
    let raw = (value / spec.unit_factor - spec.offset) / spec.scale;
    let n = spec.words as usize;
    let bits: u64 = match spec.value_type {
        ValueType::U16 => raw.round().clamp(0.0, u16::MAX as f64) as u64,
        ValueType::I16 => raw.round().clamp(i16::MIN as f64, i16::MAX as f64) as i16 as u16 as u64,
        ValueType::U32 => raw.round().clamp(0.0, u32::MAX as f64) as u64,
        ValueType::I32 => raw.round().clamp(i32::MIN as f64, i32::MAX as f64) as i32 as u32 as u64,
        ValueType::U64 => raw.round().max(0.0) as u64,
        ValueType::F32 => (raw as f32).to_bits() as u64,
        ValueType::F64 => raw.to_bits(),
        ValueType::Bcd => {
            let max = 10u64.pow(4 * n as u32) - 1;
            let mut v = (raw.round().max(0.0) as u64).min(max);
            let mut bcd = 0u64;
            for i in 0..4 * n {
                bcd |= (v % 10) << (4 * i);
                v /= 10;
            }
            bcd
        }
    };
    let mut words: Vec<u16> = (0..n)
        .map(|i| (bits >> (16 * (n - 1 - i))) as u16)
        .collect();
    if matches!(spec.byte_order, ByteOrder::CDAB | ByteOrder::DCBA) {
        words.reverse();
    }
    if matches!(spec.byte_order, ByteOrder::BADC | ByteOrder::DCBA) {
        for w in &mut words {
            *w = w.swap_bytes();
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::profile::Function;
    use proptest::prelude::*;

    fn spec(ty: ValueType, order: ByteOrder, words: u16) -> RegisterSpec {
        RegisterSpec {
            quantity: Quantity::named("energy_import_kwh"),
            function: Function::Holding,
            address: 0,
            value_type: ty,
            words,
            byte_order: order,
            scale: 1.0,
            offset: 0.0,
            unit_factor: 1.0,
            divisor: None,
            rollover: None,
            max_is_unavailable: false,
        }
    }

    #[test]
    fn unavailable_markers_when_the_profile_says_so() {
        let mut s = spec(ValueType::U32, ByteOrder::ABCD, 2);
        assert_eq!(decode(&[0xFFFF, 0xFFFF], &s), Ok(4294967295.0));
        s.max_is_unavailable = true;
        assert_eq!(
            decode(&[0xFFFF, 0xFFFF], &s),
            Err(DecodeError::NotAvailable)
        );
        let mut s = spec(ValueType::I32, ByteOrder::ABCD, 2);
        s.max_is_unavailable = true;
        assert_eq!(
            decode(&[0x7FFF, 0xFFFF], &s),
            Err(DecodeError::NotAvailable)
        );
        assert_eq!(decode(&[0xFFFF, 0xFFFF], &s), Ok(-1.0));
    }

    /// (type, words, order, register contents, expected raw value)
    #[test]
    fn decode_table() {
        use ByteOrder::*;
        use ValueType::*;
        let cases: &[(ValueType, ByteOrder, &[u16], f64)] = &[
            (U16, ABCD, &[0x1234], 4660.0),
            (U16, BADC, &[0x3412], 4660.0),
            (I16, ABCD, &[0xFFFE], -2.0),
            (I16, DCBA, &[0xFEFF], -2.0),
            (U32, ABCD, &[0x0001, 0x0002], 65538.0),
            (U32, CDAB, &[0x0002, 0x0001], 65538.0),
            (U32, BADC, &[0x0100, 0x0200], 65538.0),
            (U32, DCBA, &[0x0200, 0x0100], 65538.0),
            (I32, ABCD, &[0xFFFF, 0xFFFE], -2.0),
            (I32, CDAB, &[0xFFFE, 0xFFFF], -2.0),
            (I32, BADC, &[0xFFFF, 0xFEFF], -2.0),
            (I32, DCBA, &[0xFEFF, 0xFFFF], -2.0),
            (U64, ABCD, &[0x0000, 0x0001, 0x0000, 0x0000], 4294967296.0),
            (U64, CDAB, &[0x0000, 0x0000, 0x0001, 0x0000], 4294967296.0),
            (U64, BADC, &[0x0000, 0x0100, 0x0000, 0x0000], 4294967296.0),
            (U64, DCBA, &[0x0000, 0x0000, 0x0100, 0x0000], 4294967296.0),
            // 230.4f32 = 0x43666666
            (F32, ABCD, &[0x4366, 0x6666], 230.4f32 as f64),
            (F32, CDAB, &[0x6666, 0x4366], 230.4f32 as f64),
            (F32, BADC, &[0x6643, 0x6666], 230.4f32 as f64),
            (F32, DCBA, &[0x6666, 0x6643], 230.4f32 as f64),
            (F32, ABCD, &[0xC120, 0x0000], -10.0),
            // 12345.678f64 = 0x40C81CD6C8B43958
            (F64, ABCD, &[0x40C8, 0x1CD6, 0xC8B4, 0x3958], 12345.678),
            (F64, CDAB, &[0x3958, 0xC8B4, 0x1CD6, 0x40C8], 12345.678),
            (F64, BADC, &[0xC840, 0xD61C, 0xB4C8, 0x5839], 12345.678),
            (F64, DCBA, &[0x5839, 0xB4C8, 0xD61C, 0xC840], 12345.678),
            (Bcd, ABCD, &[0x1234], 1234.0),
            (Bcd, ABCD, &[0x0012, 0x3456], 123456.0),
            (Bcd, CDAB, &[0x3456, 0x0012], 123456.0),
            (Bcd, BADC, &[0x1200, 0x5634], 123456.0),
            (Bcd, DCBA, &[0x5634, 0x1200], 123456.0),
            (Bcd, ABCD, &[0x0000, 0x0001, 0x2345, 0x6789], 123456789.0),
        ];
        for (ty, order, words, expected) in cases {
            let got = decode_raw(words, *ty, *order).unwrap();
            assert_eq!(got, *expected, "{ty:?} {order:?} {words:x?}");
        }
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(
            decode_raw(&[0x7FC0, 0x0000], ValueType::F32, ByteOrder::ABCD),
            Err(DecodeError::NotFinite)
        );
        assert_eq!(
            decode_raw(&[0x12A4], ValueType::Bcd, ByteOrder::ABCD),
            Err(DecodeError::InvalidBcd(0x12A4))
        );
        let s = spec(ValueType::U32, ByteOrder::ABCD, 2);
        assert_eq!(
            decode(&[1], &s),
            Err(DecodeError::Length {
                expected: 2,
                got: 1
            })
        );
    }

    #[test]
    fn scale_keeps_decimal_values_exact() {
        let mut s = spec(ValueType::U32, ByteOrder::ABCD, 2);
        s.scale = 0.01;
        s.divisor = Some(100.0);
        // 1234567 × 0.01 would be 12345.670000000002.
        assert_eq!(decode(&[0x0012, 0xD687], &s).unwrap(), 12345.67);
        let mut s = spec(ValueType::I16, ByteOrder::ABCD, 1);
        s.scale = 0.1;
        s.offset = -40.0;
        assert_eq!(decode(&[650], &s).unwrap(), 25.0);
    }

    proptest! {
        #[test]
        fn encode_then_decode_round_trips(
            raw in 0u32..99_999_999,
            ty in prop::sample::select(vec![ValueType::U32, ValueType::I32, ValueType::U64, ValueType::F64, ValueType::Bcd]),
            order in prop::sample::select(vec![ByteOrder::ABCD, ByteOrder::CDAB, ByteOrder::BADC, ByteOrder::DCBA]),
        ) {
            let words = match ty { ValueType::U64 | ValueType::F64 => 4, _ => 2 };
            let s = spec(ty, order, words);
            let value = raw as f64;
            prop_assert_eq!(decode(&encode(value, &s), &s).unwrap(), value);
        }

        #[test]
        fn decode_never_panics(words in prop::collection::vec(any::<u16>(), 0..6),
            ty in prop::sample::select(vec![ValueType::U16, ValueType::I16, ValueType::U32, ValueType::I32, ValueType::U64, ValueType::F32, ValueType::F64, ValueType::Bcd])) {
            let n = ty.words().unwrap_or(2);
            let s = spec(ty, ByteOrder::ABCD, n);
            let _ = decode(&words, &s);
        }
    }
}
