//! Horizontal bars, highest first, each with its rank, name and value.

use plotters::prelude::DrawingBackend;

use super::canvas::{
    AXIS, Align, Axis, BLUE, Canvas, GRID, INK, LABEL_EM, MARGIN, MUTED, Rect, TEXT, TICK_EM,
    X_LABELS_H, clean, fmt_num, measure, value_decimals,
};
use super::{ChartError, Plot};

pub(super) struct Ranking<'a> {
    pub items: &'a [(&'a str, f64)],
}

/// `s` cut to `width` at `em`, with an ellipsis when cut.
fn fit(s: &str, em: f64, width: f64) -> String {
    if measure(s, em) <= width {
        return s.to_string();
    }
    let mut chars: Vec<char> = s.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let cut: String = chars.iter().collect::<String>() + "…";
        if measure(&cut, em) <= width {
            return cut;
        }
    }
    String::new()
}

impl Plot for Ranking<'_> {
    fn plot<DB: DrawingBackend>(
        &self,
        c: &Canvas<DB>,
        title: &str,
        unit: &str,
    ) -> Result<(), ChartError> {
        let mut items: Vec<(&str, Option<f64>)> =
            self.items.iter().map(|&(n, v)| (n, clean(v))).collect();
        if items.iter().all(|i| i.1.is_none()) {
            return c.no_data(title, unit);
        }
        // Descending, missing last; the sort is stable so ties keep the caller's order.
        items.sort_by(|a, b| match (a.1, b.1) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
        let valid = || items.iter().filter_map(|i| i.1);
        let min = valid().fold(f64::INFINITY, f64::min);
        let max = valid().fold(f64::NEG_INFINITY, f64::max);
        let d = value_decimals(min.abs().max(max.abs()));

        let top = c.header(title, unit, &[])?;
        let bottom = c.h - MARGIN - X_LABELS_H;
        let n = items.len();
        let row = (bottom - top) / n as f64;
        let em = LABEL_EM.min(row * 0.8).max(6.0);
        let every = (((em + 2.0) / row).ceil() as usize).max(1);

        let rank_w = measure(&format!("{n}."), em) + 6.0;
        let names_w = items
            .iter()
            .map(|i| measure(i.0, em))
            .fold(0.0, f64::max)
            .min(c.w * 0.3);
        let values: Vec<String> = items
            .iter()
            .map(|i| i.1.map_or_else(|| "无数据".to_string(), |v| fmt_num(v, d)))
            .collect();
        let values_w = values.iter().map(|v| measure(v, em)).fold(0.0, f64::max);
        let axis = Axis::new(min, max, ((c.w * 0.6 / 90.0) as usize).clamp(2, 6));
        let last_tick_w = measure(&fmt_num(axis.hi, axis.decimals), TICK_EM);
        let plot = Rect {
            left: MARGIN + rank_w + names_w + 8.0,
            top,
            right: c.w - MARGIN - (values_w + 6.0).max(last_tick_w / 2.0),
            bottom,
        };
        let x = |v: f64| axis.map(v, plot.left, plot.right);

        for &t in &axis.ticks {
            let tx = x(t);
            let colour = if t == 0.0 { AXIS } else { GRID };
            c.line(&[(tx, plot.top), (tx, plot.bottom)], colour, 1.0)?;
            let ly = plot.bottom + 6.0 + TICK_EM * 0.85;
            c.text(
                &fmt_num(t, axis.decimals),
                tx,
                ly,
                TICK_EM,
                Align::Center,
                TEXT,
            )?;
        }
        let zero = x(0.0);
        let thick = (row * 0.64).min(26.0);
        for (i, (name, v)) in items.iter().enumerate() {
            let mid = plot.top + row * (i as f64 + 0.5);
            if let Some(v) = v {
                c.rect(zero, mid - thick / 2.0, x(*v), mid + thick / 2.0, BLUE)?;
            }
            if i % every != 0 {
                continue;
            }
            let base = mid + em * 0.35;
            c.text(
                &format!("{}.", i + 1),
                MARGIN + rank_w - 6.0,
                base,
                em,
                Align::Right,
                MUTED,
            )?;
            let name = fit(name, em, names_w);
            c.text(&name, plot.left - 8.0, base, em, Align::Right, INK)?;
            match v {
                Some(v) if *v >= 0.0 => {
                    c.text(&values[i], x(*v) + 5.0, base, em, Align::Left, INK)?
                }
                Some(_) => c.text(&values[i], zero + 5.0, base, em, Align::Left, INK)?,
                None => c.text(&values[i], zero + 5.0, base, em, Align::Left, MUTED)?,
            }
        }
        Ok(())
    }
}
