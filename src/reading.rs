//! A reading: one value of one quantity of one meter at one instant (UTC).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::quantity::Quantity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadingQuality {
    /// Read from the meter by a collector.
    Measured,
    /// Entered by hand (import, API).
    Manual,
    /// Estimated by someone (a replacement's missing register, a meter that could not be read).
    Estimated,
}

impl ReadingQuality {
    pub fn code(self) -> i64 {
        match self {
            ReadingQuality::Measured => 0,
            ReadingQuality::Manual => 1,
            ReadingQuality::Estimated => 2,
        }
    }
    pub fn from_code(code: i64) -> ReadingQuality {
        match code {
            1 => ReadingQuality::Manual,
            2 => ReadingQuality::Estimated,
            _ => ReadingQuality::Measured,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub meter: Arc<str>,
    pub quantity: Quantity,
    pub time: DateTime<Utc>,
    pub value: f64,
    pub quality: ReadingQuality,
}
