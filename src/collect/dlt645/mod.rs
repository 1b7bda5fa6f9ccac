//! DL/T 645 electricity meters (the 2007 protocol and its 1997 predecessor) over RS-485, on a
//! serial line or through a transparent TCP gateway: frames in and out (`frame`) and the value
//! formats their data fields use (`data`). Pure: bytes in, values out; the bus scheduler that
//! sends the requests and waits for the replies lives elsewhere. docs/protocols.md lists the
//! frame layout, control codes, error words, identifiers and formats with their sources.

pub mod data;
pub mod frame;
