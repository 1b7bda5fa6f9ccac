//! A durable, append-only spool of batches waiting for the InfluxDB server.
//!
//! Batches are records in segment files (`<seq>.seg`): `[len: u32 LE][crc32: u32 LE][payload]`,
//! each appended and fsynced before the batch counts as spooled. `cursor` holds the segment
//! and offset of the oldest record not yet delivered; it is replaced atomically (write, fsync,
//! rename) after each delivery. On open, a torn record at the end of the last segment (a
//! crash mid-append) is cut off; a record with a bad checksum ends its segment's replay.
//!
//! Delivery is at least once: a batch delivered just before a crash, whose cursor update did
//! not reach the disk, is sent again. InfluxDB overwrites identical points; VictoriaMetrics
//! needs `-dedup.minScrapeInterval=1ms` to do the same.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

const SEGMENT_BYTES: u64 = 16 * 1024 * 1024;
const HEADER: u64 = 8;

#[derive(Debug, Error)]
pub enum SpoolError {
    #[error("spool {dir} is full ({bytes} of {max} bytes)")]
    Full { dir: PathBuf, bytes: u64, max: u64 },
    #[error("spool {dir}: {source}")]
    Io {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// A record read from the spool, with where the next one starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub segment: u64,
    pub offset: u64,
    pub next_offset: u64,
    pub payload: Vec<u8>,
}

#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    /// Segment sequence numbers present, oldest first.
    segments: Vec<u64>,
    cursor: (u64, u64),
    writer: Option<(u64, File, u64)>,
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:012}.seg"))
}

impl Spool {
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Spool, SpoolError> {
        let io = |source| SpoolError::Io {
            dir: dir.to_path_buf(),
            source,
        };
        fs::create_dir_all(dir).map_err(io)?;
        let mut segments: Vec<u64> = fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| {
                e.ok()?
                    .file_name()
                    .to_str()?
                    .strip_suffix(".seg")?
                    .parse()
                    .ok()
            })
            .collect();
        segments.sort_unstable();
        let cursor = fs::read_to_string(dir.join("cursor"))
            .ok()
            .and_then(|s| {
                let (a, b) = s.trim().split_once(' ')?;
                Some((a.parse().ok()?, b.parse().ok()?))
            })
            .unwrap_or((segments.first().copied().unwrap_or(0), 0));
        // Segments wholly before the cursor were delivered.
        for seq in segments.iter().filter(|s| **s < cursor.0) {
            let _ = fs::remove_file(segment_path(dir, *seq));
        }
        segments.retain(|s| *s >= cursor.0);
        let mut spool = Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            segments,
            cursor,
            writer: None,
        };
        if let Some(&last) = spool.segments.last() {
            let valid = spool.valid_length(last).map_err(io)?;
            let file = OpenOptions::new()
                .append(true)
                .open(segment_path(dir, last))
                .map_err(io)?;
            file.set_len(valid).map_err(io)?;
            file.sync_all().map_err(io)?;
            spool.writer = Some((last, file, valid));
        }
        Ok(spool)
    }

    /// Length of the intact records at the start of a segment.
    fn valid_length(&self, seq: u64) -> io::Result<u64> {
        let mut file = File::open(segment_path(&self.dir, seq))?;
        let mut data = Vec::new();
        file.read_to_end(&mut data)?;
        let mut at = 0usize;
        while at + HEADER as usize <= data.len() {
            let len = u32::from_le_bytes(data[at..at + 4].try_into().unwrap_or_default()) as usize;
            let crc = u32::from_le_bytes(data[at + 4..at + 8].try_into().unwrap_or_default());
            let end = at + HEADER as usize + len;
            if end > data.len() || crc32fast::hash(&data[at + 8..end]) != crc {
                break;
            }
            at = end;
        }
        Ok(at as u64)
    }

    /// Segment files on disk (the oldest may be partly delivered).
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Bytes waiting for delivery.
    pub fn pending_bytes(&self) -> u64 {
        let mut total = 0;
        for &seq in &self.segments {
            let len = match &self.writer {
                Some((s, _, len)) if *s == seq => *len,
                _ => fs::metadata(segment_path(&self.dir, seq))
                    .map(|m| m.len())
                    .unwrap_or(0),
            };
            total += if seq == self.cursor.0 {
                len.saturating_sub(self.cursor.1)
            } else {
                len
            };
        }
        total
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Appends one batch durably.
    pub fn append(&mut self, payload: &[u8]) -> Result<(), SpoolError> {
        let io = |source| SpoolError::Io {
            dir: self.dir.clone(),
            source,
        };
        let pending = self.pending_bytes();
        if pending + payload.len() as u64 + HEADER > self.max_bytes {
            return Err(SpoolError::Full {
                dir: self.dir.clone(),
                bytes: pending,
                max: self.max_bytes,
            });
        }
        let rotate = self
            .writer
            .as_ref()
            .is_none_or(|(_, _, len)| *len >= SEGMENT_BYTES);
        if rotate {
            let seq = self.segments.last().map_or(self.cursor.0.max(1), |s| s + 1);
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(segment_path(&self.dir, seq))
                .map_err(io)?;
            if let Ok(d) = File::open(&self.dir) {
                let _ = d.sync_all();
            }
            self.segments.push(seq);
            if self.segments.len() == 1 {
                self.cursor = (seq, 0);
            }
            self.writer = Some((seq, file, 0));
        }
        let (_, file, len) = self.writer.as_mut().expect("opened above");
        let mut record = Vec::with_capacity(payload.len() + HEADER as usize);
        record.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        record.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        record.extend_from_slice(payload);
        file.write_all(&record).map_err(io)?;
        file.sync_data().map_err(io)?;
        *len += record.len() as u64;
        Ok(())
    }

    /// The oldest undelivered record.
    pub fn peek(&mut self) -> Result<Option<Record>, SpoolError> {
        loop {
            let (seq, offset) = self.cursor;
            if !self.segments.contains(&seq) {
                return Ok(None);
            }
            let read = || -> io::Result<Option<Record>> {
                let mut file = File::open(segment_path(&self.dir, seq))?;
                let size = file.metadata()?.len();
                if offset + HEADER > size {
                    return Ok(None);
                }
                file.seek(SeekFrom::Start(offset))?;
                let mut header = [0u8; 8];
                file.read_exact(&mut header)?;
                let len = u32::from_le_bytes(header[..4].try_into().unwrap_or_default()) as u64;
                let crc = u32::from_le_bytes(header[4..].try_into().unwrap_or_default());
                if offset + HEADER + len > size {
                    return Ok(None);
                }
                let mut payload = vec![0; len as usize];
                file.read_exact(&mut payload)?;
                if crc32fast::hash(&payload) != crc {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("bad checksum at {offset}"),
                    ));
                }
                Ok(Some(Record {
                    segment: seq,
                    offset,
                    next_offset: offset + HEADER + len,
                    payload,
                }))
            };
            match read() {
                Ok(Some(r)) => return Ok(Some(r)),
                Ok(None) if self.segments.last() == Some(&seq) => return Ok(None),
                // The end of an older segment: go on with the next one.
                Ok(None) => self.advance_segment()?,
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    tracing::error!(segment = seq, error = %e, "damaged spool segment; skipping the rest of it");
                    let _ = fs::rename(
                        segment_path(&self.dir, seq),
                        self.dir.join(format!("{seq:012}.damaged")),
                    );
                    self.segments.retain(|s| *s != seq);
                    if self.writer.as_ref().is_some_and(|(s, _, _)| *s == seq) {
                        self.writer = None;
                    }
                    self.cursor = (self.segments.first().copied().unwrap_or(seq + 1), 0);
                    self.save_cursor()?;
                }
                Err(source) => {
                    return Err(SpoolError::Io {
                        dir: self.dir.clone(),
                        source,
                    });
                }
            }
        }
    }

    fn advance_segment(&mut self) -> Result<(), SpoolError> {
        let seq = self.cursor.0;
        let _ = fs::remove_file(segment_path(&self.dir, seq));
        self.segments.retain(|s| *s != seq);
        self.cursor = (self.segments.first().copied().unwrap_or(seq + 1), 0);
        self.save_cursor()
    }

    /// Marks a record delivered.
    pub fn commit(&mut self, record: &Record) -> Result<(), SpoolError> {
        self.cursor = (record.segment, record.next_offset);
        self.save_cursor()?;
        // A fully delivered segment that is no longer written to can go.
        let done = self
            .writer
            .as_ref()
            .is_none_or(|(s, _, _)| *s != record.segment);
        let size = fs::metadata(segment_path(&self.dir, record.segment))
            .map(|m| m.len())
            .unwrap_or(0);
        if done && record.next_offset >= size {
            self.advance_segment()?;
        }
        Ok(())
    }

    fn save_cursor(&self) -> Result<(), SpoolError> {
        let io = |source| SpoolError::Io {
            dir: self.dir.clone(),
            source,
        };
        let tmp = self.dir.join("cursor.tmp");
        let mut f = File::create(&tmp).map_err(io)?;
        write!(f, "{} {}", self.cursor.0, self.cursor.1).map_err(io)?;
        f.sync_all().map_err(io)?;
        fs::rename(&tmp, self.dir.join("cursor")).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(s: &mut Spool) -> Vec<Vec<u8>> {
        let mut out = vec![];
        while let Some(r) = s.peek().unwrap() {
            out.push(r.payload.clone());
            s.commit(&r).unwrap();
        }
        out
    }

    #[test]
    fn records_come_back_in_order_once_across_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path(), 1 << 20).unwrap();
        for i in 0..5u8 {
            s.append(&[i; 10]).unwrap();
        }
        let r = s.peek().unwrap().unwrap();
        s.commit(&r).unwrap();
        drop(s);
        let mut s = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(
            drain(&mut s),
            (1..5u8).map(|i| vec![i; 10]).collect::<Vec<_>>()
        );
        s.append(b"later").unwrap();
        assert_eq!(drain(&mut s), vec![b"later".to_vec()]);
        assert_eq!(s.pending_bytes(), 0);
    }

    #[test]
    fn a_torn_tail_is_cut_and_a_full_spool_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path(), 100).unwrap();
        s.append(b"one").unwrap();
        s.append(b"two").unwrap();
        assert!(matches!(s.append(&[0; 100]), Err(SpoolError::Full { .. })));
        drop(s);
        // A crash halfway through appending a third record.
        let seg = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .find(|e| e.path().extension().is_some_and(|x| x == "seg"))
            .unwrap()
            .path();
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(&[9, 0, 0, 0, 1, 2]).unwrap();
        drop(f);
        let mut s = Spool::open(dir.path(), 100).unwrap();
        assert_eq!(drain(&mut s), vec![b"one".to_vec(), b"two".to_vec()]);
    }
}
