//! Drawing in logical pixels on either backend: the same layout code makes the SVG (1 px = 1
//! unit) and the PNG (at `PNG_SCALE`), and places text by its baseline the same way on both.

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{ChartError, FONT_FAMILY, font};

// A calm palette that prints well: blues and greens, red only for over-quota.
pub(crate) const WHITE_BG: RGBColor = RGBColor(0xFF, 0xFF, 0xFF);
pub(crate) const INK: RGBColor = RGBColor(0x22, 0x2E, 0x36);
pub(crate) const TEXT: RGBColor = RGBColor(0x4A, 0x55, 0x5E);
pub(crate) const MUTED: RGBColor = RGBColor(0x8C, 0x96, 0x9E);
pub(crate) const GRID: RGBColor = RGBColor(0xE4, 0xE8, 0xEB);
pub(crate) const AXIS: RGBColor = RGBColor(0x9A, 0xA4, 0xAB);
pub(crate) const BLUE: RGBColor = RGBColor(0x2F, 0x6F, 0x9F);
pub(crate) const LIGHT_BLUE: RGBColor = RGBColor(0xA9, 0xC8, 0xDF);
pub(crate) const RED: RGBColor = RGBColor(0xC6, 0x3D, 0x32);
pub(crate) const QUOTA: RGBColor = RGBColor(0xA8, 0x72, 0x1A);
pub(crate) const NO_VALUE: RGBColor = RGBColor(0xF2, 0xF3, 0xF4);
/// Stacked categories: alternately dark and light so neighbours stay apart in grey print too.
pub(crate) const SERIES: [RGBColor; 8] = [
    RGBColor(0x1F, 0x5A, 0x7A),
    RGBColor(0x7F, 0xB8, 0xD8),
    RGBColor(0x3E, 0x8E, 0x6A),
    RGBColor(0xB5, 0xDB, 0xBF),
    RGBColor(0x4C, 0x6F, 0x9C),
    RGBColor(0xC9, 0xD7, 0xE8),
    RGBColor(0x6B, 0x8E, 0x5A),
    RGBColor(0x9A, 0xA9, 0xB5),
];

pub(crate) const MARGIN: f64 = 14.0;
pub(crate) const TITLE_EM: f64 = 17.0;
pub(crate) const LABEL_EM: f64 = 12.0;
pub(crate) const TICK_EM: f64 = 11.0;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Center,
    Right,
}

pub(crate) enum Mark {
    Box(RGBColor),
    Line(RGBColor),
    Dashed(RGBColor),
}

pub(crate) struct LegendItem {
    pub label: String,
    pub mark: Mark,
}

impl LegendItem {
    pub fn boxed(label: impl Into<String>, c: RGBColor) -> Self {
        Self {
            label: label.into(),
            mark: Mark::Box(c),
        }
    }
    pub fn line(label: impl Into<String>, c: RGBColor) -> Self {
        Self {
            label: label.into(),
            mark: Mark::Line(c),
        }
    }
    pub fn dashed(label: impl Into<String>, c: RGBColor) -> Self {
        Self {
            label: label.into(),
            mark: Mark::Dashed(c),
        }
    }
}

/// The plotting rectangle, in logical pixels.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rect {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

impl Rect {
    pub fn width(&self) -> f64 {
        self.right - self.left
    }
    pub fn height(&self) -> f64 {
        self.bottom - self.top
    }
}

pub(crate) struct Canvas<DB: DrawingBackend> {
    area: DrawingArea<DB, Shift>,
    scale: f64,
    svg: bool,
    pub w: f64,
    pub h: f64,
}

impl<DB: DrawingBackend> Canvas<DB> {
    pub fn new(area: DrawingArea<DB, Shift>, scale: f64, svg: bool) -> Self {
        let (w, h) = area.dim_in_pixel();
        Self {
            area,
            scale,
            svg,
            w: f64::from(w) / scale,
            h: f64::from(h) / scale,
        }
    }

    pub fn present(&self) -> Result<(), ChartError> {
        self.area.present()?;
        Ok(())
    }

    fn px(&self, v: f64) -> i32 {
        (v * self.scale).round() as i32
    }

    fn pt(&self, (x, y): (f64, f64)) -> (i32, i32) {
        (self.px(x), self.px(y))
    }

    pub fn fill(&self, c: RGBColor) -> Result<(), ChartError> {
        self.area.fill(&c)?;
        Ok(())
    }

    /// A filled rectangle between two corners in any order; nothing when it rounds to no pixel.
    pub fn rect(&self, x0: f64, y0: f64, x1: f64, y1: f64, c: RGBColor) -> Result<(), ChartError> {
        let (a, b) = (
            self.pt((x0.min(x1), y0.min(y1))),
            self.pt((x0.max(x1), y0.max(y1))),
        );
        if a.0 == b.0 || a.1 == b.1 {
            return Ok(());
        }
        // Both backends fill [a, b): the bitmap one up to, not including, the far corner, the
        // SVG one with width = b.0 - a.0; neighbours sharing an edge neither overlap nor gap.
        self.area.draw(&Rectangle::new([a, b], c.filled()))?;
        Ok(())
    }

    pub fn outline(&self, r: Rect, c: RGBColor) -> Result<(), ChartError> {
        let (a, b) = (self.pt((r.left, r.top)), self.pt((r.right, r.bottom)));
        self.area.draw(&Rectangle::new(
            [a, b],
            c.stroke_width(self.px(1.0).max(1) as u32),
        ))?;
        Ok(())
    }

    pub fn line(&self, points: &[(f64, f64)], c: RGBColor, width: f64) -> Result<(), ChartError> {
        if points.len() < 2 {
            return Ok(());
        }
        let pts: Vec<(i32, i32)> = points.iter().map(|&p| self.pt(p)).collect();
        let w = self.px(width).max(1) as u32;
        self.area.draw(&PathElement::new(pts, c.stroke_width(w)))?;
        Ok(())
    }

    pub fn dashed(&self, points: &[(f64, f64)], c: RGBColor, width: f64) -> Result<(), ChartError> {
        if points.len() < 2 {
            return Ok(());
        }
        let pts: Vec<(i32, i32)> = points.iter().map(|&p| self.pt(p)).collect();
        let w = self.px(width).max(1) as u32;
        self.area.draw(&DashedPathElement::new(
            pts,
            self.px(6.0),
            self.px(4.0),
            c.stroke_width(w),
        ))?;
        Ok(())
    }

    /// A translucent area (under a curve).
    pub fn polygon(
        &self,
        points: &[(f64, f64)],
        c: RGBColor,
        alpha: f64,
    ) -> Result<(), ChartError> {
        if points.len() < 3 {
            return Ok(());
        }
        let pts: Vec<(i32, i32)> = points.iter().map(|&p| self.pt(p)).collect();
        self.area.draw(&Polygon::new(pts, c.mix(alpha).filled()))?;
        Ok(())
    }

    /// Text of `em` logical pixels with its baseline at `y`.
    pub fn text(
        &self,
        s: &str,
        x: f64,
        y: f64,
        em: f64,
        align: Align,
        c: RGBColor,
    ) -> Result<(), ChartError> {
        if s.is_empty() {
            return Ok(());
        }
        if self.svg {
            // The SVG backend writes font-size = size / 1.24 and puts the baseline 0.76 em
            // below a top-anchored y; the browser aligns the text itself.
            let h = match align {
                Align::Left => HPos::Left,
                Align::Center => HPos::Center,
                Align::Right => HPos::Right,
            };
            let style = FontDesc::new(FontFamily::Name(FONT_FAMILY), em * 1.24, FontStyle::Normal)
                .color(&c)
                .pos(Pos::new(h, VPos::Top));
            self.area
                .draw_text(s, &style, self.pt((x, y - 0.76 * em)))?;
            return Ok(());
        }
        // The bitmap: glyph by glyph from the font's advances, each at its left bearing (see
        // font.rs); plotters puts the baseline size / 2 below a top-anchored y.
        let Some(m) = font::metrics() else {
            return Err(ChartError::Font);
        };
        let k = m.size_per_em();
        let style = FontDesc::new(
            FontFamily::Name(FONT_FAMILY),
            em * k * self.scale,
            FontStyle::Normal,
        )
        .color(&c)
        .pos(Pos::new(HPos::Left, VPos::Top));
        let em_px = em * self.scale;
        let width = m.width(s, em_px);
        let mut pen = x * self.scale
            - match align {
                Align::Left => 0.0,
                Align::Center => width / 2.0,
                Align::Right => width,
            };
        let top = self.px(y - 0.5 * em * k);
        let mut buf = [0u8; 4];
        for ch in s.chars() {
            let (advance, bearing) = m.glyph(ch);
            if !ch.is_whitespace() {
                let gx = (pen + bearing * em_px).floor() as i32;
                self.area
                    .draw_text(ch.encode_utf8(&mut buf), &style, (gx, top))?;
            }
            pen += advance * em_px;
        }
        Ok(())
    }

    /// Title, unit and legend; returns the y below them where the plot may start.
    pub fn header(
        &self,
        title: &str,
        unit: &str,
        legend: &[LegendItem],
    ) -> Result<f64, ChartError> {
        let avail = self.w - 2.0 * MARGIN;
        let mut em = TITLE_EM;
        let tw = measure(title, em);
        if tw > avail && tw > 0.0 {
            em = (em * avail / tw).max(9.0);
        }
        self.text(
            title,
            self.w / 2.0,
            MARGIN + em * 0.9,
            em,
            Align::Center,
            INK,
        )?;
        let mut y = MARGIN + TITLE_EM * 1.25;

        let unit_label = if unit.is_empty() {
            String::new()
        } else {
            format!("单位：{unit}")
        };
        let unit_w = measure(&unit_label, LABEL_EM);
        // Legend rows, right-aligned, wrapped to the width left of the unit label.
        let max_row = (avail - unit_w - 24.0).max(avail / 2.0);
        let items: Vec<(f64, &LegendItem)> = legend
            .iter()
            .map(|it| (18.0 + measure(&it.label, LABEL_EM), it))
            .collect();
        let mut rows: Vec<Vec<(f64, &LegendItem)>> = vec![];
        let mut row_w = 0.0;
        for it in items {
            let gap = 16.0;
            if rows.is_empty() || row_w + gap + it.0 > max_row {
                rows.push(vec![it]);
                row_w = it.0;
            } else {
                rows.last_mut().expect("a row").push(it);
                row_w += gap + it.0;
            }
        }
        let row_h = LABEL_EM + 8.0;
        let baseline = |r: usize| y + 4.0 + LABEL_EM * 0.85 + r as f64 * row_h;
        self.text(
            &unit_label,
            MARGIN,
            baseline(0),
            LABEL_EM,
            Align::Left,
            TEXT,
        )?;
        for (r, row) in rows.iter().enumerate() {
            let total: f64 = row.iter().map(|i| i.0).sum::<f64>() + 16.0 * (row.len() - 1) as f64;
            let mut x = self.w - MARGIN - total;
            let b = baseline(r);
            let mid = b - LABEL_EM * 0.35;
            for (w, it) in row {
                match it.mark {
                    Mark::Box(c) => self.rect(x, mid - 5.0, x + 12.0, mid + 5.0, c)?,
                    Mark::Line(c) => self.line(&[(x, mid), (x + 14.0, mid)], c, 2.0)?,
                    Mark::Dashed(c) => {
                        self.line(&[(x, mid), (x + 5.0, mid)], c, 2.0)?;
                        self.line(&[(x + 9.0, mid), (x + 14.0, mid)], c, 2.0)?;
                    }
                }
                self.text(&it.label, x + 18.0, b, LABEL_EM, Align::Left, TEXT)?;
                x += w + 16.0;
            }
        }
        let lines = rows.len().max(usize::from(!unit_label.is_empty()));
        y += lines as f64 * row_h + 8.0;
        Ok(y)
    }

    /// The chart for no usable data: title, an empty frame and "无数据 / no data".
    pub fn no_data(&self, title: &str, unit: &str) -> Result<(), ChartError> {
        let top = self.header(title, unit, &[])?;
        let r = Rect {
            left: MARGIN,
            top,
            right: self.w - MARGIN,
            bottom: self.h - MARGIN,
        };
        if r.height() > 4.0 && r.width() > 4.0 {
            self.outline(r, GRID)?;
        }
        let em = 16.0f64.min((r.height() / 2.0).max(8.0));
        let y = (r.top + r.bottom) / 2.0 + em * 0.35;
        self.text(NO_DATA, self.w / 2.0, y, em, Align::Center, MUTED)
    }

    /// Horizontal grid lines and labels of a value axis on the left of `plot`.
    pub fn y_axis(&self, plot: Rect, axis: &Axis) -> Result<(), ChartError> {
        for &t in &axis.ticks {
            let y = axis.map(t, plot.bottom, plot.top);
            let c = if t == 0.0 { AXIS } else { GRID };
            self.line(&[(plot.left, y), (plot.right, y)], c, 1.0)?;
            let label = fmt_num(t, axis.decimals);
            self.text(
                &label,
                plot.left - 6.0,
                y + TICK_EM * 0.35,
                TICK_EM,
                Align::Right,
                TEXT,
            )?;
        }
        Ok(())
    }

    /// Labels under `n` equal slots of `plot`, thinned so they never overlap.
    pub fn slot_labels(&self, plot: Rect, labels: &[String]) -> Result<(), ChartError> {
        let n = labels.len();
        if n == 0 {
            return Ok(());
        }
        let slot = plot.width() / n as f64;
        let widest = labels
            .iter()
            .map(|l| measure(l, TICK_EM))
            .fold(0.0, f64::max);
        let every = (((widest + 8.0) / slot).ceil() as usize).max(1);
        let y = plot.bottom + 6.0 + TICK_EM * 0.85;
        for (i, l) in labels.iter().enumerate() {
            if i % every != 0 {
                continue;
            }
            let x = plot.left + slot * (i as f64 + 0.5);
            self.text(l, x, y, TICK_EM, Align::Center, TEXT)?;
        }
        Ok(())
    }
}

pub(crate) const NO_DATA: &str = "无数据 / no data";

/// Width of `s` at `em`, in logical pixels, from the compiled-in font's advances (which the
/// PNG uses and a browser with WenQuanYi Micro Hei, or YaHei, comes close to).
pub(crate) fn measure(s: &str, em: f64) -> f64 {
    match font::metrics() {
        Some(m) => m.width(s, em),
        None => s.chars().count() as f64 * em,
    }
}

/// Space under the plot for one row of tick labels.
pub(crate) const X_LABELS_H: f64 = TICK_EM + 10.0;

/// A value axis: rounded ends, ticks at a 1-2-2.5-5 step, and how many decimals its labels need.
#[derive(Clone, Debug)]
pub(crate) struct Axis {
    pub lo: f64,
    pub hi: f64,
    pub ticks: Vec<f64>,
    pub decimals: usize,
}

impl Axis {
    /// An axis over `[min, max]` that includes zero, with about `target` intervals.
    pub fn new(min: f64, max: f64, target: usize) -> Self {
        let mut lo = min.min(0.0);
        let mut hi = max.max(0.0);
        if !(hi - lo).is_finite() || hi - lo <= 0.0 {
            lo = lo.min(0.0);
            hi = lo + 1.0;
        }
        let target = target.max(1) as f64;
        let raw = (hi - lo) / target;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|s| *s >= raw * (1.0 - 1e-9))
            .unwrap_or(10.0 * mag);
        // Ends on a multiple of the step; a value a rounding error past one stays on it.
        let snap = |q: f64, round: fn(f64) -> f64| {
            if (q - q.round()).abs() < 1e-9 {
                q.round()
            } else {
                round(q)
            }
        };
        let lo = snap(lo / step, f64::floor) * step;
        let hi = snap(hi / step, f64::ceil) * step;
        let n = ((hi - lo) / step).round() as usize;
        let ticks: Vec<f64> = (0..=n)
            .map(|i| {
                let t = lo + i as f64 * step;
                // Clean -0 and rounding dust.
                if (t / step).abs() < 1e-9 { 0.0 } else { t }
            })
            .collect();
        let decimals = (0..=4)
            .find(|&d| {
                let f = step * 10f64.powi(d as i32);
                (f - f.round()).abs() < 1e-6 * f.max(1.0)
            })
            .unwrap_or(4);
        Self {
            lo,
            hi,
            ticks,
            decimals,
        }
    }

    /// Where `v` falls between `from` (at `lo`) and `to` (at `hi`).
    pub fn map(&self, v: f64, from: f64, to: f64) -> f64 {
        from + (v - self.lo) / (self.hi - self.lo) * (to - from)
    }

    pub fn label_width(&self) -> f64 {
        self.ticks
            .iter()
            .map(|&t| measure(&fmt_num(t, self.decimals), TICK_EM))
            .fold(0.0, f64::max)
    }
}

/// About one tick per 45 logical pixels of axis, 2 to 8.
pub(crate) fn tick_target(len: f64) -> usize {
    ((len / 45.0) as usize).clamp(2, 8)
}

/// A usable value: finite and of a size a meter can report (NaN, ±inf and absurd magnitudes
/// count as missing).
pub(crate) fn clean(v: f64) -> Option<f64> {
    (v.is_finite() && v.abs() < 1e15).then_some(v)
}

/// `v` with `decimals` places and thousands separators: 12,345.6.
pub(crate) fn fmt_num(v: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s.as_str(), None),
    };
    let mut out = String::with_capacity(s.len() + 4);
    let negative = v < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0');
    if negative {
        out.push('-');
    }
    let digits = int.len();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (digits - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// Decimals for value labels of a chart whose largest magnitude is `max_abs`: none from 1,000,
/// one from 10, else two; one figure for every label of a chart so they line up.
pub(crate) fn value_decimals(max_abs: f64) -> usize {
    if max_abs >= 1000.0 {
        0
    } else if max_abs >= 10.0 {
        1
    } else {
        2
    }
}
