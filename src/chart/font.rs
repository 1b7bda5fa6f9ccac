//! The compiled-in CJK font: registered with plotters for the bitmap backend, and its metrics
//! for laying text out the same in the SVG (drawn by a browser) and the PNG.
//!
//! `plotters::style::register_font` (feature `ab_glyph`) parses the bytes with
//! `ab_glyph::FontRef::try_from_slice`, that is `try_from_slice_and_index(bytes, 0)`; ttf-parser
//! underneath reads a TrueType collection's header, so the .ttc is taken as it is and face 0,
//! the proportional WenQuanYi Micro Hei, is the one used (face 1 is its monospaced sibling).
//!
//! Two things about plotters 0.3.7's ab_glyph text are corrected here: it scales a font so that
//! ascent - descent (not the em) equals the size asked for, and it places each glyph's ink at
//! the pen position, dropping the glyph's left side bearing, which spaces CJK text unevenly.
//! The bitmap canvas therefore asks for em × [`size_per_em`] and draws glyph by glyph, each
//! moved by its own bearing ([`glyph`]).

use std::sync::OnceLock;

use plotters::style::FontStyle;

use super::{ChartError, FONT_FAMILY};

use crate::render::font::CJK_FONT as FONT;

pub(crate) struct Metrics {
    face: ttf_parser::Face<'static>,
    units_per_em: f64,
    /// ascent - descent in font units: what ab_glyph scales to the size.
    height: f64,
}

/// The face's metrics, parsed once; `None` only if the compiled-in bytes were unreadable.
pub(crate) fn metrics() -> Option<&'static Metrics> {
    static METRICS: OnceLock<Option<Metrics>> = OnceLock::new();
    METRICS
        .get_or_init(|| {
            let face = ttf_parser::Face::parse(FONT, 0).ok()?;
            let units_per_em = f64::from(face.units_per_em());
            let height = f64::from(face.ascender()) - f64::from(face.descender());
            (units_per_em > 0.0 && height > 0.0).then_some(Metrics {
                face,
                units_per_em,
                height,
            })
        })
        .as_ref()
}

impl Metrics {
    /// Advance and left bearing (ink's left edge from the pen) of `c`, in ems; the font's
    /// missing-glyph box for a character it lacks, as ab_glyph draws it.
    pub fn glyph(&self, c: char) -> (f64, f64) {
        let g = self.face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
        let advance = self.face.glyph_hor_advance(g).map_or(0.0, f64::from);
        let bearing = self
            .face
            .glyph_bounding_box(g)
            .map_or(0.0, |b| f64::from(b.x_min));
        (advance / self.units_per_em, bearing / self.units_per_em)
    }

    /// Width of `s` at `em`.
    pub fn width(&self, s: &str, em: f64) -> f64 {
        s.chars().map(|c| self.glyph(c).0).sum::<f64>() * em
    }

    /// plotters' (ab_glyph's) font size for one em.
    pub fn size_per_em(&self) -> f64 {
        self.height / self.units_per_em
    }
}

/// Registers the font with plotters (once) and makes sure its metrics are there.
pub(crate) fn register() -> Result<&'static Metrics, ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT).is_ok()
    });
    match metrics() {
        Some(m) if ok => Ok(m),
        _ => Err(ChartError::Font),
    }
}
