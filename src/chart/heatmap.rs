//! Days × hours, coloured light to dark with the value.

use chrono::NaiveDate;
use plotters::prelude::DrawingBackend;
use plotters::style::RGBColor;

use super::canvas::{
    Align, Canvas, MARGIN, NO_VALUE, Rect, TEXT, TICK_EM, X_LABELS_H, clean, fmt_num, measure,
    value_decimals,
};
use super::{ChartError, Plot};

pub(super) struct Heatmap<'a> {
    pub days: &'a [(NaiveDate, [f64; 24])],
}

/// Pale green through green to dark blue: even in grey print, darker is more.
const STOPS: [(f64, (u8, u8, u8)); 4] = [
    (0.0, (0xF0, 0xF7, 0xF1)),
    (0.35, (0xA6, 0xD8, 0xB5)),
    (0.7, (0x3E, 0x95, 0x9A)),
    (1.0, (0x1B, 0x3F, 0x6E)),
];

/// The scale's colour at `t` in [0, 1].
pub(crate) fn colour_at(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let k = STOPS
        .iter()
        .position(|s| s.0 >= t)
        .unwrap_or(STOPS.len() - 1)
        .max(1);
    let (t0, a) = STOPS[k - 1];
    let (t1, b) = STOPS[k];
    let f = ((t - t0) / (t1 - t0)).clamp(0.0, 1.0);
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

impl Plot for Heatmap<'_> {
    fn plot<DB: DrawingBackend>(
        &self,
        c: &Canvas<DB>,
        title: &str,
        unit: &str,
    ) -> Result<(), ChartError> {
        let cells = || {
            self.days
                .iter()
                .flat_map(|d| d.1.iter().copied().filter_map(clean))
        };
        let (Some(min), Some(max)) = (cells().reduce(f64::min), cells().reduce(f64::max)) else {
            return c.no_data(title, unit);
        };
        let top = c.header(title, unit, &[])?;
        let d = value_decimals(min.abs().max(max.abs()));
        let (min_label, max_label) = (fmt_num(min, d), fmt_num(max, d));
        let key_w = 12.0 + 6.0 + measure(&min_label, TICK_EM).max(measure(&max_label, TICK_EM));
        let day_w = measure("00-00", TICK_EM);
        let plot = Rect {
            left: MARGIN + day_w + 6.0,
            top,
            right: c.w - MARGIN - key_w - 14.0,
            bottom: c.h - MARGIN - X_LABELS_H,
        };
        let rows = self.days.len();
        let cell_w = plot.width() / 24.0;
        let cell_h = plot.height() / rows as f64;
        let gap = if cell_w > 6.0 && cell_h > 6.0 {
            1.0
        } else {
            0.0
        };
        let t = |v: f64| {
            if max > min {
                (v - min) / (max - min)
            } else {
                0.0
            }
        };
        // Cell edges from their index, so neighbours share an edge exactly.
        let col = |h: usize| plot.left + cell_w * h as f64;
        let row = |r: usize| plot.top + cell_h * r as f64;
        for (r, (_, hours)) in self.days.iter().enumerate() {
            for (h, v) in hours.iter().enumerate() {
                let colour = clean(*v).map_or(NO_VALUE, |v| colour_at(t(v)));
                c.rect(col(h), row(r), col(h + 1) - gap, row(r + 1) - gap, colour)?;
            }
        }
        // Day labels on the left, thinned to fit; hour labels below.
        let every = (((TICK_EM + 3.0) / cell_h).ceil() as usize).max(1);
        for (r, (day, _)) in self.days.iter().enumerate() {
            if r % every == 0 {
                let y = plot.top + cell_h * (r as f64 + 0.5) + TICK_EM * 0.35;
                let label = day.format("%m-%d").to_string();
                c.text(&label, plot.left - 6.0, y, TICK_EM, Align::Right, TEXT)?;
            }
        }
        let hour_w = measure("00时", TICK_EM) + 6.0;
        let step = [1usize, 2, 3, 4, 6, 12]
            .into_iter()
            .find(|s| *s as f64 * cell_w >= hour_w)
            .unwrap_or(12);
        for h in (0..24).step_by(step) {
            let x = plot.left + cell_w * (h as f64 + 0.5);
            let y = plot.bottom + 6.0 + TICK_EM * 0.85;
            c.text(&format!("{h}时"), x, y, TICK_EM, Align::Center, TEXT)?;
        }
        // The key: a vertical gradient, maximum at the top.
        let kx = plot.right + 14.0;
        let ky0 = plot.top;
        let ky1 = plot.top + plot.height().min(160.0);
        let steps = 32;
        let band = (ky1 - ky0) / steps as f64;
        for i in 0..steps {
            let y = ky0 + band * i as f64;
            let colour = colour_at(1.0 - (i as f64 + 0.5) / steps as f64);
            c.rect(kx, y, kx + 12.0, y + band + 0.5, colour)?;
        }
        c.text(
            &max_label,
            kx + 18.0,
            ky0 + TICK_EM * 0.8,
            TICK_EM,
            Align::Left,
            TEXT,
        )?;
        c.text(&min_label, kx + 18.0, ky1, TICK_EM, Align::Left, TEXT)
    }
}
