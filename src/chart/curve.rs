//! The load curve: one or two time series over hours or days.

use chrono::{Duration, NaiveDateTime, NaiveTime, Timelike};
use plotters::prelude::DrawingBackend;

use super::canvas::{
    Align, Axis, BLUE, Canvas, GRID, LIGHT_BLUE, LegendItem, MARGIN, Rect, TEXT, TICK_EM,
    X_LABELS_H, clean, measure, tick_target,
};
use super::{ChartError, Plot, Series};

pub(super) struct LoadCurve<'a> {
    pub main: &'a Series,
    pub compare: Option<&'a Series>,
}

/// Spans up to this long are labelled HH:MM, longer ones MM-DD.
const HOURS_SPAN: i64 = 36 * 3600;

fn midnight(t: NaiveDateTime) -> NaiveDateTime {
    t.date().and_time(NaiveTime::MIN)
}

fn floor_hour(t: NaiveDateTime) -> NaiveDateTime {
    t.with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(t)
}

fn ceil_hour(t: NaiveDateTime) -> NaiveDateTime {
    let f = floor_hour(t);
    if f == t { t } else { f + Duration::hours(1) }
}

fn ceil_day(t: NaiveDateTime) -> NaiveDateTime {
    let f = midnight(t);
    if f == t { t } else { f + Duration::days(1) }
}

/// Runs of consecutive usable points, broken at missing values and at gaps longer than 2.5
/// times the series' usual step.
fn runs(points: &[(NaiveDateTime, f64)], shift: Duration) -> Vec<Vec<(NaiveDateTime, f64)>> {
    let mut sorted: Vec<(NaiveDateTime, Option<f64>)> =
        points.iter().map(|&(t, v)| (t + shift, clean(v))).collect();
    sorted.sort_by_key(|p| p.0);
    let mut steps: Vec<i64> = sorted
        .windows(2)
        .map(|w| (w[1].0 - w[0].0).num_seconds())
        .filter(|s| *s > 0)
        .collect();
    steps.sort_unstable();
    let usual = steps.get(steps.len() / 2).copied().unwrap_or(i64::MAX / 4);
    let mut out: Vec<Vec<(NaiveDateTime, f64)>> = vec![];
    let mut cur: Vec<(NaiveDateTime, f64)> = vec![];
    for (t, v) in sorted {
        match v {
            Some(v) => {
                if let Some(&(prev, _)) = cur.last()
                    && (t - prev).num_seconds() as f64 > 2.5 * usual as f64
                {
                    out.push(std::mem::take(&mut cur));
                }
                cur.push((t, v));
            }
            None => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

impl Plot for LoadCurve<'_> {
    fn plot<DB: DrawingBackend>(
        &self,
        c: &Canvas<DB>,
        title: &str,
        unit: &str,
    ) -> Result<(), ChartError> {
        let first_day = |s: &Series| s.points.iter().map(|p| p.0.date()).min();
        let shift = match (first_day(self.main), self.compare.and_then(first_day)) {
            (Some(a), Some(b)) => Duration::days((a - b).num_days()),
            _ => Duration::zero(),
        };
        let main = runs(&self.main.points, Duration::zero());
        let compare = self
            .compare
            .map(|s| runs(&s.points, shift))
            .unwrap_or_default();
        let all = || main.iter().chain(&compare).flatten();
        let (Some(t_min), Some(t_max)) = (all().map(|p| p.0).min(), all().map(|p| p.0).max())
        else {
            return c.no_data(title, unit);
        };
        let v_min = all().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let v_max = all().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);

        let hours = (t_max - t_min).num_seconds() <= HOURS_SPAN;
        let (lo, hi) = if hours {
            let lo = floor_hour(t_min);
            let hi = ceil_hour(t_max);
            (
                lo,
                if hi == lo {
                    lo + Duration::hours(1)
                } else {
                    hi
                },
            )
        } else {
            (midnight(t_min), ceil_day(t_max))
        };
        let span = (hi - lo).num_seconds() as f64;

        let mut legend = vec![];
        if let Some(cmp) = self.compare {
            legend.push(LegendItem::line(self.main.name.clone(), BLUE));
            legend.push(LegendItem::line(cmp.name.clone(), LIGHT_BLUE));
            legend.retain(|l| !l.label.is_empty());
        }
        let top = c.header(title, unit, &legend)?;
        let bottom = c.h - MARGIN - X_LABELS_H;
        let axis = Axis::new(v_min, v_max, tick_target(bottom - top));
        let label_w = measure("00:00", TICK_EM);
        let plot = Rect {
            left: MARGIN + axis.label_width().max(label_w / 2.0) + 8.0,
            top,
            right: c.w - MARGIN - label_w / 2.0,
            bottom,
        };
        let x = |t: NaiveDateTime| plot.left + (t - lo).num_seconds() as f64 / span * plot.width();
        let y = |v: f64| axis.map(v, plot.bottom, plot.top);

        c.y_axis(plot, &axis)?;
        // Time ticks: the smallest step whose labels do not touch.
        let px_per_s = plot.width() / span;
        let room = label_w + 14.0;
        let ticks: Vec<(NaiveDateTime, String)> = if hours {
            let step = [1i64, 2, 3, 4, 6, 12, 24]
                .into_iter()
                .find(|h| (h * 3600) as f64 * px_per_s >= room)
                .unwrap_or(24);
            let h0 = i64::from(lo.hour());
            let mut t = lo + Duration::hours((step - h0 % step) % step);
            let mut out = vec![];
            while t <= hi {
                let label = if t == hi && t == midnight(t) && t != lo {
                    "24:00".to_string()
                } else {
                    t.format("%H:%M").to_string()
                };
                out.push((t, label));
                t += Duration::hours(step);
            }
            out
        } else {
            let step = [1i64, 2, 7, 14, 28]
                .into_iter()
                .find(|d| (d * 86_400) as f64 * px_per_s >= room)
                .unwrap_or(28);
            let mut t = lo;
            let mut out = vec![];
            while t <= hi {
                out.push((t, t.format("%m-%d").to_string()));
                t += Duration::days(step);
            }
            out
        };
        for (t, label) in &ticks {
            let tx = x(*t);
            if tx > plot.left + 0.5 && tx < plot.right - 0.5 {
                c.line(&[(tx, plot.top), (tx, plot.bottom)], GRID, 1.0)?;
            }
            let ly = plot.bottom + 6.0 + TICK_EM * 0.85;
            c.text(label, tx, ly, TICK_EM, Align::Center, TEXT)?;
        }

        let zero = y(0.0);
        for run in &compare {
            let pts: Vec<(f64, f64)> = run.iter().map(|&(t, v)| (x(t), y(v))).collect();
            draw_run(c, &pts, LIGHT_BLUE, zero, false)?;
        }
        for run in &main {
            let pts: Vec<(f64, f64)> = run.iter().map(|&(t, v)| (x(t), y(v))).collect();
            draw_run(c, &pts, BLUE, zero, true)?;
        }
        let axis_y = plot.bottom;
        c.line(
            &[(plot.left, axis_y), (plot.right, axis_y)],
            super::canvas::AXIS,
            1.0,
        )
    }
}

fn draw_run<DB: DrawingBackend>(
    c: &Canvas<DB>,
    pts: &[(f64, f64)],
    colour: plotters::style::RGBColor,
    zero: f64,
    area: bool,
) -> Result<(), ChartError> {
    match pts {
        [] => Ok(()),
        [(px, py)] => c.rect(px - 1.5, py - 1.5, px + 1.5, py + 1.5, colour),
        _ => {
            if area {
                let mut poly = pts.to_vec();
                poly.push((pts[pts.len() - 1].0, zero));
                poly.push((pts[0].0, zero));
                c.polygon(&poly, colour, 0.10)?;
            }
            c.line(pts, colour, 2.0)
        }
    }
}
