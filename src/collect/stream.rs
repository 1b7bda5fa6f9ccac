//! What a stream parser says about the bytes received so far on a line: DL/T 645 and CJ/T 188
//! replies (and, in the simulator, requests) arrive in pieces, with a preamble or noise before
//! the frame.

/// A stream parser's answer for the bytes received so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<T> {
    /// At least this many more bytes are needed before anything can be said.
    NeedMore(usize),
    /// A whole frame. `consumed`: bytes used from the start of the buffer, noise included (a
    /// following frame starts there); `noise`: bytes skipped before the 68H (preamble, garbage).
    Frame {
        reply: T,
        consumed: usize,
        noise: usize,
    },
}
