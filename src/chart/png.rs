//! A small PNG encoder for the bitmap backend's RGB buffer (8-bit truecolour, no interlace).
//!
//! plotters can only save bitmaps to a file (through the `image` crate); charts are wanted as
//! bytes, and flate2 + crc32fast are already in the build, so the few chunks are written here.

use std::io::Write as _;

use flate2::Compression;
use flate2::write::ZlibEncoder;

pub(crate) const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];

/// Encodes `rgb` (`width` × `height` × 3 bytes, rows top to bottom) as a PNG with a pHYs chunk
/// of `dpi`, so Excel and PDF writers that read it place the image at its intended size.
pub(crate) fn encode(rgb: &[u8], width: u32, height: u32, dpi: u32) -> Vec<u8> {
    let stride = width as usize * 3;
    debug_assert_eq!(rgb.len(), stride * height as usize);
    // Each row filtered with "Up" (type 2): charts are large flat areas, and bars and grid lines
    // repeat row after row, so the differences are mostly zero and deflate well and fast.
    let mut z = ZlibEncoder::new(Vec::with_capacity(rgb.len() / 16), Compression::new(3));
    let mut line = vec![0u8; stride + 1];
    let mut prev: &[u8] = &[];
    for row in rgb.chunks_exact(stride.max(1)) {
        if prev.is_empty() {
            line[0] = 0;
            line[1..].copy_from_slice(row);
        } else {
            line[0] = 2;
            for ((out, &a), &b) in line[1..].iter_mut().zip(row).zip(prev) {
                *out = a.wrapping_sub(b);
            }
        }
        // Writing into a Vec cannot fail.
        let _ = z.write_all(&line);
        prev = row;
    }
    let idat = z.finish().unwrap_or_default();

    let mut out = Vec::with_capacity(idat.len() + 80);
    out.extend_from_slice(&SIGNATURE);
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    // Bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace.
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    let ppm = (f64::from(dpi) / 0.0254).round() as u32;
    let mut phys = Vec::with_capacity(9);
    phys.extend_from_slice(&ppm.to_be_bytes());
    phys.extend_from_slice(&ppm.to_be_bytes());
    phys.push(1); // unit: metre
    chunk(&mut out, b"pHYs", &phys);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}
