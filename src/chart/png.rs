//! The bitmap backend's RGB buffer as PNG bytes, with the `png` crate (plotters itself can
//! only save bitmaps to a file).

/// Encodes `rgb` (`width` × `height` × 3 bytes, rows top to bottom) as an 8-bit RGB PNG with a
/// pHYs chunk of `dpi`, so Excel and PDF writers that read it place it at its intended size.
pub(crate) fn encode(
    rgb: &[u8],
    width: u32,
    height: u32,
    dpi: u32,
) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::with_capacity(rgb.len() / 16);
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        // Charts are flat areas and repeated rows: fast compression is small enough.
        encoder.set_compression(png::Compression::Fast);
        let ppm = (f64::from(dpi) / 0.0254).round() as u32;
        encoder.set_pixel_dims(Some(png::PixelDimensions {
            xppu: ppm,
            yppu: ppm,
            unit: png::Unit::Meter,
        }));
        let mut writer = encoder.write_header()?;
        writer.write_image_data(rgb)?;
    }
    Ok(out)
}
