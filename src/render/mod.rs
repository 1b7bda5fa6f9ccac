//! What documents and charts share: the CJK font compiled into the binary and its metrics.

pub mod font;
pub mod pdf;
