//! Charts for the web pages (SVG) and the monthly committee report (PNG, for the PDF and the
//! Excel workbook): plain data in, bytes out, nothing read from the ledger or the disk.
//!
//! ```ignore
//! let svg = Chart::new("本月逐日用电量", "kWh").daily_bars(&days, Some(&quota))?;
//! let png = Chart::new("年度用能同比", "kgce").format(Format::Png).monthly_bars(2026, &this, &last, None)?;
//! ```
//!
//! Text: the PNG is rasterised with WenQuanYi Micro Hei compiled into the binary (through
//! plotters' ab_glyph font table, so no system fontconfig is read and every machine draws the
//! same glyphs; see `font.rs`). The SVG keeps its text as `<text>` with the font-family
//! [`FONT_FAMILY`] and lets the browser draw it; both are laid out with that font's metrics.
//!
//! Values are `f64` (a ledger `Decimal` via `to_f64()`). NaN, ±infinity and absurd magnitudes
//! count as missing; a chart without any usable value draws "无数据 / no data" instead of
//! failing. Zero and negative values are data and are drawn (bars below the zero line).

mod bars;
mod canvas;
mod curve;
mod font;
mod heatmap;
mod png;
mod ranking;
#[cfg(test)]
mod tests;

use chrono::{NaiveDate, NaiveDateTime};
use plotters::drawing::DrawingAreaErrorKind;
use plotters::prelude::{BitMapBackend, DrawingBackend, IntoDrawingArea, SVGBackend};

use canvas::Canvas;

/// The font-family of every SVG `<text>`; also the name the compiled-in font is registered
/// under for the bitmap backend.
pub const FONT_FAMILY: &str = "WenQuanYi Micro Hei, Microsoft YaHei, sans-serif";

/// A PNG has this many pixels per logical pixel of its [`Size`] (sharp in print), and says so
/// in its pHYs chunk (96 dpi × this), so it is placed at the logical size.
pub const PNG_SCALE: u32 = 2;

/// Logical sizes accepted, in either dimension.
pub const MIN_SIDE: u32 = 160;
pub const MAX_SIDE: u32 = 2400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// SVG text (UTF-8), `width` × `height` user units.
    Svg,
    /// PNG, `width` × `height` × [`PNG_SCALE`] pixels, RGB.
    Png,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl Size {
    pub const fn new(width: u32, height: u32) -> Self {
        Self { width, height }
    }
}

impl Default for Size {
    /// 800 × 400: a web page's chart, or a full-width figure on an A4 page.
    fn default() -> Self {
        Self::new(800, 400)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("chart size {width}×{height} outside {MIN_SIDE}–{MAX_SIDE}")]
    Size { width: u32, height: u32 },
    #[error("chart data: {0}")]
    Input(String),
    #[error("the compiled-in chart font could not be read")]
    Font,
    #[error("drawing the chart: {0}")]
    Draw(String),
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ChartError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        ChartError::Draw(e.to_string())
    }
}

/// A named time series for [`Chart::load_curve`] (local times, e.g. kW per 15 minutes).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// Legend label, e.g. "今日"; shown when a comparison is drawn.
    pub name: String,
    pub points: Vec<(NaiveDateTime, f64)>,
}

impl Series {
    pub fn new(name: impl Into<String>, points: Vec<(NaiveDateTime, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
        }
    }
}

/// One category of [`Chart::stacked_bars`]: a value per period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stack {
    /// Legend label, e.g. "空调".
    pub name: String,
    pub values: Vec<f64>,
}

impl Stack {
    pub fn new(name: impl Into<String>, values: Vec<f64>) -> Self {
        Self {
            name: name.into(),
            values,
        }
    }
}

/// What every chart has: a title (Chinese), a unit label, a size and an output format.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    /// Shown as "单位：…" above the value axis; empty for none.
    pub unit: String,
    pub size: Size,
    pub format: Format,
}

impl Chart {
    /// An 800 × 400 SVG chart.
    pub fn new(title: impl Into<String>, unit: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            unit: unit.into(),
            size: Size::default(),
            format: Format::Svg,
        }
    }

    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = Size::new(width, height);
        self
    }

    pub fn format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// A load curve: HH:MM labels up to 36 hours, MM-DD beyond. `compare` (yesterday, the
    /// same day last week ...) is drawn lighter, moved by whole days so that its first day
    /// falls on `main`'s first day. Missing values and gaps over 2.5 steps break the line.
    pub fn load_curve(
        &self,
        main: &Series,
        compare: Option<&Series>,
    ) -> Result<Vec<u8>, ChartError> {
        self.render(&curve::LoadCurve { main, compare })
    }

    /// A bar per day, labelled MM-DD. `quota` (one value per day, NaN for none) is drawn as a
    /// stepped line, and days above it are red.
    pub fn daily_bars(
        &self,
        days: &[(NaiveDate, f64)],
        quota: Option<&[f64]>,
    ) -> Result<Vec<u8>, ChartError> {
        if let Some(q) = quota
            && q.len() != days.len()
        {
            return Err(ChartError::Input(format!(
                "{} quota values for {} days",
                q.len(),
                days.len()
            )));
        }
        self.render(&bars::DailyBars { days, quota })
    }

    /// Year on year: the 12 months of `year` (`this_year[0]` is January; shorter or NaN for
    /// months without a figure) beside those of the year before, with an optional monthly
    /// quota for `year` (months above it red).
    pub fn monthly_bars(
        &self,
        year: i32,
        this_year: &[f64],
        last_year: &[f64],
        quota: Option<&[f64]>,
    ) -> Result<Vec<u8>, ChartError> {
        for (what, v) in [("this year", this_year), ("last year", last_year)]
            .into_iter()
            .chain(quota.map(|q| ("quota", q)))
        {
            if v.len() > 12 {
                return Err(ChartError::Input(format!("{} months for {what}", v.len())));
            }
        }
        self.render(&bars::MonthlyBars {
            year,
            this: this_year,
            last: last_year,
            quota,
        })
    }

    /// Categories stacked per period (照明插座 / 空调 / 动力 / 特殊 per month), with a legend and
    /// each period's total above its bar. Each stack has one value per period; negative values
    /// count as zero.
    pub fn stacked_bars<S: AsRef<str>>(
        &self,
        periods: &[S],
        stacks: &[Stack],
    ) -> Result<Vec<u8>, ChartError> {
        if let Some(s) = stacks.iter().find(|s| s.values.len() != periods.len()) {
            return Err(ChartError::Input(format!(
                "`{}` has {} values for {} periods",
                s.name,
                s.values.len(),
                periods.len()
            )));
        }
        let periods: Vec<String> = periods.iter().map(|p| p.as_ref().to_string()).collect();
        self.render(&bars::StackedBars {
            periods: &periods,
            stacks,
        })
    }

    /// Days (rows, top to bottom) × hours 0–23 (columns), light to dark with the value; a
    /// legend gives the minimum and maximum. Missing hours are pale grey.
    pub fn heatmap(&self, days: &[(NaiveDate, [f64; 24])]) -> Result<Vec<u8>, ChartError> {
        self.render(&heatmap::Heatmap { days })
    }

    /// Horizontal bars sorted descending (ties keep their order), ranked and labelled with
    /// their values; items without a value come last, marked 无数据. Give it about 22 px of
    /// height per item plus 90.
    pub fn ranking<S: AsRef<str>>(&self, items: &[(S, f64)]) -> Result<Vec<u8>, ChartError> {
        let items: Vec<(&str, f64)> = items.iter().map(|(s, v)| (s.as_ref(), *v)).collect();
        self.render(&ranking::Ranking { items: &items })
    }

    fn render(&self, plot: &impl Plot) -> Result<Vec<u8>, ChartError> {
        let Size { width, height } = self.size;
        if !(MIN_SIDE..=MAX_SIDE).contains(&width) || !(MIN_SIDE..=MAX_SIDE).contains(&height) {
            return Err(ChartError::Size { width, height });
        }
        font::register()?;
        match self.format {
            Format::Svg => {
                let mut out = String::new();
                {
                    let area =
                        SVGBackend::with_string(&mut out, (width, height)).into_drawing_area();
                    self.draw(Canvas::new(area, 1.0, true), plot)?;
                }
                Ok(out.into_bytes())
            }
            Format::Png => {
                let (w, h) = (width * PNG_SCALE, height * PNG_SCALE);
                let mut rgb = vec![0u8; w as usize * h as usize * 3];
                {
                    let area = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
                    self.draw(Canvas::new(area, f64::from(PNG_SCALE), false), plot)?;
                }
                png::encode(&rgb, w, h, 96 * PNG_SCALE).map_err(|e| ChartError::Draw(e.to_string()))
            }
        }
    }

    fn draw<DB: DrawingBackend>(&self, c: Canvas<DB>, plot: &impl Plot) -> Result<(), ChartError> {
        c.fill(canvas::WHITE_BG)?;
        plot.plot(&c, &self.title, &self.unit)?;
        c.present()
    }
}

/// One chart kind's drawing, the same for both backends.
trait Plot {
    fn plot<DB: DrawingBackend>(
        &self,
        c: &Canvas<DB>,
        title: &str,
        unit: &str,
    ) -> Result<(), ChartError>;
}
