//! CJ/T 188-2004 water, heat and gas meters over RS-485 (or M-Bus behind a converter, or a
//! transparent TCP gateway): frames in and out (`frame`) and the 901F meter reading of water and
//! heat meters (`data`). Pure: bytes in, values out. docs/protocols.md lists the frame layout,
//! meter types, unit codes and field formats with their sources.

pub mod data;
pub mod frame;
