//! Vertical bars: per day with a quota, per month year on year, and stacked categories.

use chrono::NaiveDate;
use plotters::prelude::DrawingBackend;

use super::canvas::{
    AXIS, Align, Axis, BLUE, Canvas, INK, LABEL_EM, LIGHT_BLUE, LegendItem, MARGIN, QUOTA, RED,
    Rect, SERIES, TICK_EM, X_LABELS_H, clean, fmt_num, measure, tick_target, value_decimals,
};
use super::{ChartError, Plot, Stack};

/// The widest a bar gets, in logical pixels.
const MAX_BAR: f64 = 56.0;

pub(super) struct DailyBars<'a> {
    pub days: &'a [(NaiveDate, f64)],
    pub quota: Option<&'a [f64]>,
}

pub(super) struct MonthlyBars<'a> {
    pub year: i32,
    pub this: &'a [f64],
    pub last: &'a [f64],
    pub quota: Option<&'a [f64]>,
}

pub(super) struct StackedBars<'a> {
    pub periods: &'a [String],
    pub stacks: &'a [Stack],
}

/// The plot below the header and above one row of slot labels, right of the value labels.
fn layout<DB: DrawingBackend>(c: &Canvas<DB>, top: f64, min: f64, max: f64) -> (Rect, Axis) {
    let bottom = c.h - MARGIN - X_LABELS_H;
    let axis = Axis::new(min, max, tick_target(bottom - top));
    let plot = Rect {
        left: MARGIN + axis.label_width() + 8.0,
        top,
        right: c.w - MARGIN,
        bottom,
    };
    (plot, axis)
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((a, b)) => Some((a.min(v), b.max(v))),
    })
}

/// A stepped line across slots: each value spans its slot, neighbours joined vertically;
/// broken where a value is missing.
fn stepped<DB: DrawingBackend>(
    c: &Canvas<DB>,
    values: &[Option<f64>],
    slot_x: impl Fn(usize) -> (f64, f64),
    y: impl Fn(f64) -> f64,
) -> Result<(), ChartError> {
    let mut run: Vec<(f64, f64)> = vec![];
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => {
                let (x0, x1) = slot_x(i);
                run.push((x0, y(*v)));
                run.push((x1, y(*v)));
            }
            None => {
                c.dashed(&run, QUOTA, 2.0)?;
                run.clear();
            }
        }
    }
    c.dashed(&run, QUOTA, 2.0)
}

fn axis_line<DB: DrawingBackend>(
    c: &Canvas<DB>,
    plot: Rect,
    axis: &Axis,
) -> Result<(), ChartError> {
    let y = axis.map(0.0, plot.bottom, plot.top);
    c.line(&[(plot.left, y), (plot.right, y)], AXIS, 1.0)
}

impl Plot for DailyBars<'_> {
    fn plot<DB: DrawingBackend>(
        &self,
        c: &Canvas<DB>,
        title: &str,
        unit: &str,
    ) -> Result<(), ChartError> {
        let values: Vec<Option<f64>> = self.days.iter().map(|d| clean(d.1)).collect();
        let quota: Vec<Option<f64>> = match self.quota {
            Some(q) => q.iter().map(|&v| clean(v)).collect(),
            None => vec![None; values.len()],
        };
        let Some((min, max)) = min_max(values.iter().chain(&quota).flatten().copied()) else {
            return c.no_data(title, unit);
        };
        if values.iter().all(Option::is_none) {
            return c.no_data(title, unit);
        }
        let over = |i: usize| matches!((values[i], quota[i]), (Some(v), Some(q)) if v > q);
        let any_over = (0..values.len()).any(over);
        let mut legend = vec![];
        if self.quota.is_some() {
            legend.push(LegendItem::boxed("用量", BLUE));
            if any_over {
                legend.push(LegendItem::boxed("超定额", RED));
            }
            legend.push(LegendItem::dashed("定额", QUOTA));
        }
        let top = c.header(title, unit, &legend)?;
        let (plot, axis) = layout(c, top, min, max);
        c.y_axis(plot, &axis)?;
        let n = values.len();
        let slot = plot.width() / n as f64;
        // A few bars stay bars, not blocks.
        let bar = (slot * 0.7).min(MAX_BAR);
        let y = |v: f64| axis.map(v, plot.bottom, plot.top);
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v {
                let x0 = plot.left + slot * (i as f64 + 0.5) - bar / 2.0;
                let colour = if over(i) { RED } else { BLUE };
                c.rect(x0, y(0.0), x0 + bar, y(*v), colour)?;
            }
        }
        axis_line(c, plot, &axis)?;
        let slot_x = |i: usize| {
            (
                plot.left + slot * i as f64,
                plot.left + slot * (i + 1) as f64,
            )
        };
        stepped(c, &quota, slot_x, y)?;
        let labels: Vec<String> = self
            .days
            .iter()
            .map(|d| d.0.format("%m-%d").to_string())
            .collect();
        c.slot_labels(plot, &labels)
    }
}

impl Plot for MonthlyBars<'_> {
    fn plot<DB: DrawingBackend>(
        &self,
        c: &Canvas<DB>,
        title: &str,
        unit: &str,
    ) -> Result<(), ChartError> {
        let month = |s: &[f64], i: usize| s.get(i).copied().and_then(clean);
        let this: Vec<Option<f64>> = (0..12).map(|i| month(self.this, i)).collect();
        let last: Vec<Option<f64>> = (0..12).map(|i| month(self.last, i)).collect();
        let quota: Vec<Option<f64>> = (0..12)
            .map(|i| self.quota.and_then(|q| month(q, i)))
            .collect();
        if this.iter().chain(&last).all(Option::is_none) {
            return c.no_data(title, unit);
        }
        let (min, max) = min_max(this.iter().chain(&last).chain(&quota).flatten().copied())
            .unwrap_or((0.0, 1.0));
        let over = |i: usize| matches!((this[i], quota[i]), (Some(v), Some(q)) if v > q);
        let any_over = (0..12).any(over);
        let mut legend = vec![
            LegendItem::boxed(format!("{}年", self.year - 1), LIGHT_BLUE),
            LegendItem::boxed(format!("{}年", self.year), BLUE),
        ];
        if any_over {
            legend.push(LegendItem::boxed("超定额", RED));
        }
        if self.quota.is_some() {
            legend.push(LegendItem::dashed("定额", QUOTA));
        }
        let top = c.header(title, unit, &legend)?;
        let (plot, axis) = layout(c, top, min, max);
        c.y_axis(plot, &axis)?;
        let slot = plot.width() / 12.0;
        let y = |v: f64| axis.map(v, plot.bottom, plot.top);
        let bar = slot * 0.36;
        for i in 0..12 {
            let x = plot.left + slot * i as f64 + slot * 0.12;
            if let Some(v) = last[i] {
                c.rect(x, y(0.0), x + bar, y(v), LIGHT_BLUE)?;
            }
            if let Some(v) = this[i] {
                let colour = if over(i) { RED } else { BLUE };
                c.rect(
                    x + bar + slot * 0.04,
                    y(0.0),
                    x + 2.0 * bar + slot * 0.04,
                    y(v),
                    colour,
                )?;
            }
        }
        axis_line(c, plot, &axis)?;
        let slot_x = |i: usize| {
            (
                plot.left + slot * i as f64,
                plot.left + slot * (i + 1) as f64,
            )
        };
        stepped(c, &quota, slot_x, y)?;
        let labels: Vec<String> = (1..=12).map(|m| format!("{m}月")).collect();
        c.slot_labels(plot, &labels)
    }
}

impl Plot for StackedBars<'_> {
    fn plot<DB: DrawingBackend>(
        &self,
        c: &Canvas<DB>,
        title: &str,
        unit: &str,
    ) -> Result<(), ChartError> {
        let n = self.periods.len();
        let part =
            |s: &Stack, i: usize| s.values.get(i).copied().and_then(clean).map(|v| v.max(0.0));
        let totals: Vec<f64> = (0..n)
            .map(|i| self.stacks.iter().filter_map(|s| part(s, i)).sum())
            .collect();
        let any = (0..n).any(|i| self.stacks.iter().any(|s| part(s, i).is_some()));
        if n == 0 || !any {
            return c.no_data(title, unit);
        }
        let max = totals.iter().copied().fold(0.0, f64::max);
        let colour = |k: usize| SERIES[k % SERIES.len()];
        let legend: Vec<LegendItem> = self
            .stacks
            .iter()
            .enumerate()
            .map(|(k, s)| LegendItem::boxed(s.name.clone(), colour(k)))
            .collect();
        let top = c.header(title, unit, &legend)?;
        // Room above the highest bar for its total.
        let (plot, axis) = layout(c, top + LABEL_EM, 0.0, max);
        c.y_axis(plot, &axis)?;
        let slot = plot.width() / n as f64;
        let bar = (slot * 0.6).min(MAX_BAR);
        let y = |v: f64| axis.map(v, plot.bottom, plot.top);
        let d = value_decimals(max);
        let labels: Vec<String> = totals.iter().map(|t| fmt_num(*t, d)).collect();
        let widest = labels
            .iter()
            .map(|l| measure(l, TICK_EM))
            .fold(0.0, f64::max);
        let show_totals = widest <= slot * 0.95;
        for i in 0..n {
            let x0 = plot.left + slot * (i as f64 + 0.5) - bar / 2.0;
            let mut base = 0.0;
            for (k, s) in self.stacks.iter().enumerate() {
                if let Some(v) = part(s, i).filter(|v| *v > 0.0) {
                    c.rect(x0, y(base), x0 + bar, y(base + v), colour(k))?;
                    base += v;
                }
            }
            if show_totals && totals[i] > 0.0 {
                let cx = plot.left + slot * (i as f64 + 0.5);
                c.text(&labels[i], cx, y(base) - 4.0, TICK_EM, Align::Center, INK)?;
            }
        }
        axis_line(c, plot, &axis)?;
        c.slot_labels(plot, self.periods)
    }
}
