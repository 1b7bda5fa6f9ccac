//! Printable A4 PDFs in Chinese: drawing operations laid out first (so page counts are known
//! before footers are drawn), then drawn with krilla in the compiled-in CJK font, which krilla
//! embeds as a subset. [`Flow`] lays out reports: headings, paragraphs, tables that break
//! across pages with their header repeated, and PNG figures.

use krilla::Document;
use krilla::geom::{PathBuilder, Point, Size};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};

use super::font::{CJK_FONT, Metrics};

pub const PAGE_W: f32 = 595.28;
pub const PAGE_H: f32 = 841.89;

/// One drawing operation; `y` is the text baseline (or top edge), from the top of the page.
#[derive(Debug, Clone)]
pub enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        text: String,
        bold: bool,
    },
    Rule {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
    },
    /// A PNG, by its index in the document's images, with its top-left corner at (x, y).
    Image {
        index: usize,
        x: f32,
        y: f32,
        width: f32,
        height: f32,
    },
}

pub fn text(x: f32, y: f32, size: f32, text: &str, bold: bool) -> Op {
    Op::Text {
        x,
        y,
        size,
        text: text.to_string(),
        bold,
    }
}

pub fn draw(surface: &mut Surface, font: &Font, ops: &[Op], images: &[Image]) {
    for op in ops {
        match op {
            Op::Text {
                x,
                y,
                size,
                text,
                bold,
            } => {
                // The font has no bold face: outline the glyphs as well as filling them.
                if *bold {
                    surface.set_stroke(Some(Stroke {
                        width: size * 0.03,
                        ..Stroke::default()
                    }));
                }
                surface.draw_text(
                    Point::from_xy(*x, *y),
                    font.clone(),
                    *size,
                    text,
                    false,
                    TextDirection::Auto,
                );
                surface.set_stroke(None);
            }
            Op::Rule {
                x1,
                y1,
                x2,
                y2,
                width,
            } => {
                let mut pb = PathBuilder::new();
                pb.move_to(*x1, *y1);
                pb.line_to(*x2, *y2);
                if let Some(path) = pb.finish() {
                    surface.set_fill(None);
                    surface.set_stroke(Some(Stroke {
                        width: *width,
                        ..Stroke::default()
                    }));
                    surface.draw_path(&path);
                    surface.set_stroke(None);
                    surface.set_fill(Some(Fill::default()));
                }
            }
            Op::Image {
                index,
                x,
                y,
                width,
                height,
            } => {
                if let (Some(image), Some(size)) =
                    (images.get(*index), Size::from_wh(*width, *height))
                {
                    surface.push_transform(&krilla::geom::Transform::from_translate(*x, *y));
                    surface.draw_image(image.clone(), size);
                    surface.pop();
                }
            }
        }
    }
}

/// A table column: title, width in points, right-aligned (numbers).
#[derive(Debug, Clone)]
pub struct Column {
    pub title: String,
    pub width: f32,
    pub right: bool,
}

pub fn column(title: &str, width: f32, right: bool) -> Column {
    Column {
        title: title.to_string(),
        width,
        right,
    }
}

/// A flowing document: content goes down the page and onto new pages as needed.
pub struct Flow<'m> {
    m: &'m Metrics<'m>,
    pages: Vec<Vec<Op>>,
    ops: Vec<Op>,
    y: f32,
    images: Vec<Vec<u8>>,
    pub left: f32,
    pub right: f32,
    top: f32,
    bottom: f32,
}

impl<'m> Flow<'m> {
    pub fn new(m: &'m Metrics<'m>) -> Flow<'m> {
        Flow {
            m,
            pages: Vec::new(),
            ops: Vec::new(),
            y: 50.0,
            images: Vec::new(),
            left: 50.0,
            right: PAGE_W - 50.0,
            top: 50.0,
            bottom: PAGE_H - 50.0,
        }
    }

    pub fn width(&self) -> f32 {
        self.right - self.left
    }

    pub fn new_page(&mut self) {
        self.pages.push(std::mem::take(&mut self.ops));
        self.y = self.top;
    }

    /// Starts a new page unless `height` more fits on this one; true when it did.
    fn need(&mut self, height: f32) -> bool {
        if self.y + height > self.bottom && self.y > self.top {
            self.new_page();
            return true;
        }
        false
    }

    /// Moves to a new page unless `height` more fits: keeps a caption with what follows.
    pub fn keep(&mut self, height: f32) {
        self.need(height);
    }

    pub fn space(&mut self, height: f32) {
        self.y += height;
    }

    pub fn centred(&mut self, size: f32, s: &str, bold: bool) {
        self.need(size * 1.5);
        self.y += size * 1.2;
        let x = (PAGE_W - self.m.width(s, size)) / 2.0;
        self.ops.push(text(x, self.y, size, s, bold));
        self.y += size * 0.4;
    }

    pub fn heading(&mut self, s: &str) {
        // Keep a heading with at least a few lines of what follows it.
        self.need(110.0);
        self.y += 22.0;
        self.ops.push(text(self.left, self.y, 13.0, s, true));
        self.y += 4.0;
        self.ops.push(Op::Rule {
            x1: self.left,
            y1: self.y,
            x2: self.right,
            y2: self.y,
            width: 1.0,
        });
        self.y += 4.0;
    }

    pub fn paragraph(&mut self, s: &str, size: f32) {
        for line in self.m.wrap(s, size, self.width()) {
            self.need(size * 1.5);
            self.y += size * 1.4;
            self.ops.push(text(self.left, self.y, size, &line, false));
        }
        self.y += size * 0.4;
    }

    /// The cells of a row, each wrapped to its column (at most 6 lines; numbers are cut to
    /// fit instead, they do not wrap).
    fn cell_lines(&self, columns: &[Column], cells: &[String], size: f32) -> Vec<Vec<String>> {
        columns
            .iter()
            .zip(cells)
            .map(|(c, cell)| {
                if c.right {
                    vec![self.m.fit(cell, size, c.width - 6.0)]
                } else {
                    let mut lines = self.m.wrap(cell, size, c.width - 6.0);
                    if lines.len() > 6 {
                        lines.truncate(6);
                        let last = lines.pop().unwrap_or_default();
                        lines.push(self.m.fit(&(last + "…………"), size, c.width - 6.0));
                    }
                    lines
                }
            })
            .collect()
    }

    fn row_height(lines: &[Vec<String>], size: f32) -> f32 {
        let n = lines.iter().map(Vec::len).max().unwrap_or(1).max(1);
        size * 0.5 + size * 1.25 * n as f32
    }

    fn row(&mut self, columns: &[Column], lines: &[Vec<String>], size: f32, bold: bool) {
        let height = Self::row_height(lines, size);
        let mut x = self.left;
        for (c, cell) in columns.iter().zip(lines) {
            for (k, s) in cell.iter().enumerate() {
                let baseline = self.y + size * 1.2 + size * 1.25 * k as f32;
                let tx = if c.right {
                    x + c.width - 3.0 - self.m.width(s, size)
                } else {
                    x + 3.0
                };
                self.ops.push(text(tx, baseline, size, s, bold));
            }
            x += c.width;
        }
        self.y += height;
        self.ops.push(Op::Rule {
            x1: self.left,
            y1: self.y,
            x2: x,
            y2: self.y,
            width: if bold { 0.8 } else { 0.3 },
        });
    }

    /// A table; its header is repeated on every page it runs onto.
    pub fn table(&mut self, columns: &[Column], rows: &[Vec<String>], size: f32) {
        let titles: Vec<String> = columns.iter().map(|c| c.title.clone()).collect();
        let header = self.cell_lines(columns, &titles, size);
        let header_height = Self::row_height(&header, size);
        let first = rows.first().map(|r| self.cell_lines(columns, r, size));
        let first_height = first.as_ref().map_or(0.0, |l| Self::row_height(l, size));
        self.need(header_height + first_height);
        self.row(columns, &header, size, true);
        for r in rows {
            let lines = self.cell_lines(columns, r, size);
            if self.need(Self::row_height(&lines, size)) {
                self.row(columns, &header, size, true);
            }
            self.row(columns, &lines, size, false);
        }
        self.y += 6.0;
    }

    /// A PNG `width` points wide, its height in proportion (`aspect` = height / width).
    pub fn figure(&mut self, png: Vec<u8>, width: f32, aspect: f32, caption: &str) {
        let height = width * aspect;
        self.need(height + 20.0);
        self.y += 4.0;
        self.ops.push(Op::Image {
            index: self.images.len(),
            x: self.left + (self.width() - width) / 2.0,
            y: self.y,
            width,
            height,
        });
        self.images.push(png);
        self.y += height + 12.0;
        let x = (PAGE_W - self.m.width(caption, 9.0)) / 2.0;
        self.ops.push(text(x, self.y, 9.0, caption, false));
        self.y += 6.0;
    }

    /// The PDF, with `footer(page, pages)` drawn at the foot of every page.
    pub fn finish(
        mut self,
        title: &str,
        footer: impl Fn(usize, usize) -> String,
    ) -> Result<Vec<u8>, String> {
        if !self.ops.is_empty() || self.pages.is_empty() {
            self.pages.push(std::mem::take(&mut self.ops));
        }
        let font = Font::new(CJK_FONT.into(), 0).ok_or("the CJK font could not be loaded")?;
        let images = self
            .images
            .into_iter()
            .map(|png| {
                Image::from_png(png.into(), true)
                    .map_err(|e| format!("a figure is not a readable PNG: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let size = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or("invalid page size")?;
        let mut document = Document::new();
        document.set_metadata(
            Metadata::new()
                .title(title.to_string())
                .language("zh-CN".into())
                .creator("jieneng".into()),
        );
        let count = self.pages.len();
        for (i, ops) in self.pages.iter().enumerate() {
            let mut page = document.start_page_with(size.clone());
            let mut surface = page.surface();
            surface.set_fill(Some(Fill::default()));
            draw(&mut surface, &font, ops, &images);
            let foot = footer(i + 1, count);
            let x = (PAGE_W - self.m.width(&foot, 8.0)) / 2.0;
            draw(
                &mut surface,
                &font,
                &[text(x, PAGE_H - 25.0, 8.0, &foot, false)],
                &images,
            );
            surface.finish();
            page.finish();
        }
        document.finish().map_err(|e| format!("PDF: {e:?}"))
    }
}
