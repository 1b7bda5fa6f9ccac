//! A meter's address as DL/T 645 (6 bytes, 12 digits) and CJ/T 188 (7 bytes, 14 digits) carry
//! it: the digits printed on the nameplate, as BCD, sent low byte first; `AA` in a byte
//! leaves it open (wildcard and shortened addressing).

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// An address of `N` bytes, kept in wire order (low byte first).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NameplateAddress<const N: usize>(pub(crate) [u8; N]);

impl<const N: usize> NameplateAddress<N> {
    /// `AA` in every byte: any meter answers with its own address.
    pub const WILDCARD: Self = NameplateAddress([0xAA; N]);

    /// From the bytes as they travel on the wire (low byte first).
    pub fn from_wire(bytes: [u8; N]) -> Self {
        NameplateAddress(bytes)
    }

    /// The bytes as sent on the wire (low byte first).
    pub fn wire(&self) -> [u8; N] {
        self.0
    }

    /// Whether a reply from `other` answers a request sent to `self`: equal, or `self` has `AA`
    /// in the bytes it leaves open.
    pub fn accepts(&self, other: &Self) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .all(|(&want, &got)| want == 0xAA || want == got)
    }
}

/// The nameplate digits: high byte first, as printed on the meter.
impl<const N: usize> fmt::Display for NameplateAddress<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0.iter().rev() {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl<const N: usize> fmt::Debug for NameplateAddress<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("address {text:?}: {digits} decimal digits as on the nameplate")]
pub struct AddressError {
    pub text: String,
    pub digits: usize,
}

/// Parses the nameplate digits (`"202300001234"`): pair i from the left is wire byte N-1-i.
impl<const N: usize> FromStr for NameplateAddress<N> {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, AddressError> {
        let err = || AddressError {
            text: text.to_string(),
            digits: 2 * N,
        };
        let digits = text.as_bytes();
        if digits.len() != 2 * N || !digits.iter().all(u8::is_ascii_digit) {
            return Err(err());
        }
        let mut wire = [0u8; N];
        for (i, pair) in digits.chunks(2).enumerate() {
            let (Some(&hi), Some(&lo)) = (pair.first(), pair.get(1)) else {
                return Err(err());
            };
            wire[N - 1 - i] = ((hi - b'0') << 4) | (lo - b'0');
        }
        Ok(NameplateAddress(wire))
    }
}
