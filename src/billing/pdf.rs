//! Statements as a printable PDF: one A4 page per statement (more when the lines do not fit,
//! with the table header repeated), in Chinese, set in the CJK font compiled into the binary.
//! krilla embeds only the glyphs used, so a statement stays small.
//!
//! Each statement is first laid out into pages of drawing operations, then drawn; the footer
//! is added last because it carries the statement's page count.

use krilla::Document;
use krilla::color::luma;
use krilla::geom::Transform;
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::text::Font;
use rust_decimal::Decimal;

use super::statement::{BoundaryReading, MeterBlock, Statement, cents, display_unit};
use super::tenant::BillingSettings;
use super::xlsx::{quality_zh, status_zh};
use crate::decimal::round_half_up;
use crate::energy::intervals::Quality;

/// WenQuanYi Micro Hei (index 0 of the collection); see assets/fonts/README.md.
use crate::render::font::{CJK_FONT as FONT, Metrics};
use crate::render::pdf::{Op, PAGE_H, PAGE_W, draw, text};

const LEFT: f32 = 50.0;
const RIGHT: f32 = PAGE_W - 50.0;
const TOP: f32 = 40.0;
const ROW: f32 = 16.0;
const TOTAL_ROW: f32 = 20.0;
const PAD: f32 = 4.0;
const SOURCE: &str = "数据来源: 表计读数与能耗台账, 每行金额四舍五入到分, 合计为各行之和";
/// Across every page of a statement not issued.
const WATERMARK: &str = "草稿 DRAFT";

/// The PDF for `statements`, each starting on a new page.
pub fn document(statements: &[Statement], settings: &BillingSettings) -> Result<Vec<u8>, String> {
    let metrics = Metrics::parse(FONT, 0)?;
    let font = Font::new(FONT.into(), 0).ok_or("the bundled font could not be loaded")?;
    let size = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or("invalid page size")?;

    let mut document = Document::new();
    let title = match statements {
        [s] => format!("水电费结算单 {}", s.number),
        _ => "水电费结算单".to_string(),
    };
    document.set_metadata(
        Metadata::new()
            .title(title)
            .language("zh-CN".into())
            .creator("jieneng".into()),
    );
    let foot = Footer::new(settings, &metrics);
    for s in statements {
        let pages = layout(s, settings, &metrics, foot.top - 10.0);
        let count = pages.len();
        for (i, ops) in pages.iter().enumerate() {
            let mut page = document.start_page_with(size.clone());
            let mut surface = page.surface();
            if !s.status.is_issued() {
                watermark(&mut surface, &font, &metrics);
            }
            surface.set_fill(Some(Fill::default()));
            draw(&mut surface, &font, ops, &[]);
            draw(
                &mut surface,
                &font,
                &foot.ops(s, i + 1, count, &metrics),
                &[],
            );
            surface.finish();
            page.finish();
        }
    }
    document.finish().map_err(|e| format!("PDF: {e:?}"))
}

/// 草稿 DRAFT in large light grey letters diagonally across the page, under what is printed.
fn watermark(surface: &mut Surface, font: &Font, m: &Metrics) {
    const SIZE: f32 = 96.0;
    let (cx, cy) = (PAGE_W / 2.0, PAGE_H / 2.0);
    surface.push_transform(&Transform::from_rotate_at(-40.0, cx, cy));
    surface.set_fill(Some(Fill {
        paint: luma::Color::new(225).into(),
        ..Fill::default()
    }));
    let x = cx - m.width(WATERMARK, SIZE) / 2.0;
    draw(
        surface,
        font,
        &[text(x, cy + SIZE * 0.35, SIZE, WATERMARK, false)],
        &[],
    );
    surface.pop();
}

/// The foot of every page: payment note, data source, statement number and page number.
struct Footer {
    note: Vec<String>,
    /// Where the footer's rule is.
    top: f32,
}

impl Footer {
    const NOTE: f32 = 8.0;
    const SMALL: f32 = 7.5;

    fn new(settings: &BillingSettings, m: &Metrics) -> Self {
        let note = if settings.payment_note.trim().is_empty() {
            Vec::new()
        } else {
            m.wrap(settings.payment_note.trim(), Self::NOTE, RIGHT - LEFT)
        };
        let top = PAGE_H - 30.0 - 24.0 - 11.0 * note.len() as f32;
        Footer { note, top }
    }

    fn ops(&self, s: &Statement, page: usize, pages: usize, m: &Metrics) -> Vec<Op> {
        let mut ops = vec![Op::Rule {
            x1: LEFT,
            y1: self.top,
            x2: RIGHT,
            y2: self.top,
            width: 0.5,
        }];
        let mut y = self.top;
        for line in &self.note {
            y += 11.0;
            ops.push(text(LEFT, y, Self::NOTE, line, false));
        }
        y += 12.0;
        ops.push(text(LEFT, y, Self::SMALL, SOURCE, false));
        y += 12.0;
        ops.push(text(
            LEFT,
            y,
            Self::SMALL,
            &format!("单号 {}", s.number),
            false,
        ));
        let number = format!("第 {page} 页 / 共 {pages} 页");
        ops.push(text(
            RIGHT - m.width(&number, Self::SMALL),
            y,
            Self::SMALL,
            &number,
            false,
        ));
        ops
    }
}

struct Column {
    title: &'static str,
    width: f32,
    right: bool,
}

const fn column(title: &'static str, width: f32, right: bool) -> Column {
    Column {
        title,
        width,
        right,
    }
}

const METER_COLUMNS: [Column; 5] = [
    column("表计", 150.0, false),
    column("倍率", 45.0, true),
    column("起码 (质量)", 105.0, true),
    column("止码 (质量)", 105.0, true),
    column("计量用量", 90.0, true),
];

const LINE_COLUMNS: [Column; 5] = [
    column("项目", 215.0, false),
    column("计费数量", 80.0, true),
    column("单位", 40.0, false),
    column("单价(元)", 70.0, true),
    column("金额(元)", 90.0, true),
];

/// Pages of one statement, as drawing operations, its body ending at `bottom`.
struct Layout<'a> {
    m: &'a Metrics<'a>,
    s: &'a Statement,
    issuer: &'a str,
    done: Vec<Vec<Op>>,
    ops: Vec<Op>,
    /// The top of what comes next.
    y: f32,
    bottom: f32,
}

impl Layout<'_> {
    fn text(&mut self, x: f32, y: f32, size: f32, s: &str, bold: bool) {
        self.ops.push(text(x, y, size, s, bold));
    }

    fn right(&mut self, right: f32, y: f32, size: f32, s: &str, bold: bool) {
        let x = right - self.m.width(s, size);
        self.text(x, y, size, s, bold);
    }

    fn centre(&mut self, y: f32, size: f32, s: &str, bold: bool) {
        let x = (PAGE_W - self.m.width(s, size)) / 2.0;
        self.text(x, y, size, s, bold);
    }

    fn rule(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32) {
        self.ops.push(Op::Rule {
            x1,
            y1,
            x2,
            y2,
            width,
        });
    }

    /// Starts a new page when `height` does not fit on this one; says whether it did.
    fn need(&mut self, height: f32) -> bool {
        if self.y + height <= self.bottom {
            return false;
        }
        self.done.push(std::mem::take(&mut self.ops));
        self.header(true);
        true
    }

    fn header(&mut self, continued: bool) {
        let s = self.s;
        let mut y = TOP;
        if !self.issuer.is_empty() {
            y += 12.0;
            let issuer = self.m.fit(self.issuer, 11.0, RIGHT - LEFT);
            self.centre(y, 11.0, &issuer, false);
            y += 6.0;
        }
        y += 22.0;
        self.centre(
            y,
            20.0,
            if continued {
                "水电费结算单 (续)"
            } else {
                "水电费结算单"
            },
            true,
        );
        y += 18.0;
        let ids = format!(
            "单号 {}    结算期 {} ({} 至 {})",
            s.number, s.period, s.start, s.end
        );
        self.centre(y, 9.0, &ids, false);
        y += 13.0;
        let dates = format!("开具日期 {}    缴费截止 {}", s.issue_date, s.due_date);
        self.centre(y, 9.0, &dates, false);
        y += 8.0;
        self.rule(LEFT, y, RIGHT, y, 0.8);
        self.y = y + 8.0;
    }

    fn tenant(&mut self) {
        let s = self.s;
        let contract = if s.contract.is_empty() {
            "—"
        } else {
            s.contract.as_str()
        };
        let name = format!("{} ({})", s.tenant_name, s.tenant);
        let status = status_zh(s);
        let half = (RIGHT - LEFT) / 2.0;
        let rows = [
            [
                (s.kind.payer_zh(), name.as_str()),
                ("类型", s.kind.name_zh()),
            ],
            [("合同号", contract), ("状态", status.as_str())],
        ];
        for row in rows {
            self.y += 15.0;
            for (i, (label, value)) in row.into_iter().enumerate() {
                let x = LEFT + half * i as f32;
                self.text(x, self.y, 10.0, &format!("{label}:"), true);
                let value = self.m.fit(value, 10.0, half - 52.0);
                self.text(x + 48.0, self.y, 10.0, &value, false);
            }
        }
        self.y += 8.0;
    }

    fn section(&mut self, title: &str, first_lines: f32) {
        self.need(26.0 + first_lines);
        self.y += 20.0;
        self.text(LEFT, self.y, 10.5, title, true);
        self.y += 6.0;
    }

    /// A ruled row of `cells` in `columns`, each cut to its column's width.
    fn row(&mut self, columns: &[Column], cells: &[String], size: f32, bold: bool, height: f32) {
        let top = self.y;
        let baseline = top + height / 2.0 + size * 0.36;
        let mut x = LEFT;
        for (col, cell) in columns.iter().zip(cells) {
            let cell = self.m.fit(cell, size, col.width - 2.0 * PAD);
            if col.right {
                self.right(x + col.width - PAD, baseline, size, &cell, bold);
            } else {
                self.text(x + PAD, baseline, size, &cell, bold);
            }
            self.rule(x, top, x, top + height, 0.4);
            x += col.width;
        }
        self.rule(x, top, x, top + height, 0.4);
        self.rule(LEFT, top + height, x, top + height, 0.4);
        self.y = top + height;
    }

    fn table_header(&mut self, columns: &[Column]) {
        let top = self.y;
        let end = LEFT + columns.iter().map(|c| c.width).sum::<f32>();
        self.rule(LEFT, top, end, top, 0.8);
        let titles: Vec<String> = columns.iter().map(|c| c.title.to_string()).collect();
        self.row(columns, &titles, 9.0, true, ROW);
    }

    /// Rows under a header that is repeated on each new page.
    fn table(&mut self, columns: &[Column], rows: &[Vec<String>]) {
        self.need(2.0 * ROW);
        self.table_header(columns);
        for cells in rows {
            if self.need(ROW) {
                self.y += 6.0;
                self.table_header(columns);
            }
            self.row(columns, cells, 9.0, false, ROW);
        }
    }

    fn meters(&mut self) {
        let s = self.s;
        self.section("表计读数", 2.0 * ROW);
        let boundary = |b: &Option<BoundaryReading>| match b {
            Some(BoundaryReading {
                value: Some(v),
                quality,
                ..
            }) => format!("{} ({})", reading(*v), quality_zh(*quality)),
            Some(b) => format!("— ({})", quality_zh(b.quality)),
            None => "— (缺失)".to_string(),
        };
        let rows: Vec<Vec<String>> = s
            .meters
            .iter()
            .map(|m| {
                vec![
                    format!("{} {}", m.meter, m.name),
                    plain(m.multiplier, 0),
                    boundary(&m.start),
                    boundary(&m.end),
                    format!("{} {}", fixed(m.metered, 2), display_unit(&m.unit)),
                ]
            })
            .collect();
        self.table(&METER_COLUMNS, &rows);

        let mut notes = Vec::new();
        for m in &s.meters {
            let mut detail = format!(
                "{}: 价格 {}; 期间数据质量 {}",
                m.meter,
                m.tariff_name,
                quality_zh(m.quality)
            );
            if !m.loss_rate.is_zero() {
                detail += &format!("; 损耗率 {}%", plain(m.loss_rate * Decimal::ONE_HUNDRED, 0));
            }
            detail += &format!("; 数据来源 {}", m.data.summary(false));
            notes.push(detail);
            notes.extend(boundary_notes(m));
            notes.extend(m.notes.iter().map(|n| format!("{}: {n}", m.meter)));
        }
        self.y += 3.0;
        for note in notes {
            for line in self.m.wrap(&note, 7.5, RIGHT - LEFT) {
                self.need(10.0);
                self.y += 10.0;
                self.text(LEFT, self.y, 7.5, &line, false);
            }
        }
    }

    fn lines(&mut self) {
        let s = self.s;
        self.section("费用明细", 2.0 * ROW);
        let several = s.meters.len() > 1;
        let rows: Vec<Vec<String>> = s
            .lines
            .iter()
            .map(|l| {
                let item = if several {
                    format!("{} {}", l.meter, l.description)
                } else {
                    l.description.clone()
                };
                vec![
                    item,
                    fixed(l.quantity, 2),
                    display_unit(&l.unit).to_string(),
                    plain(l.price, 2),
                    fixed(l.amount, 2),
                ]
            })
            .collect();
        self.table(&LINE_COLUMNS, &rows);

        if self.need(TOTAL_ROW) {
            self.y += 6.0;
            self.table_header(&LINE_COLUMNS);
        }
        // 合计 spans all columns but the amount.
        let top = self.y;
        let amount_x = RIGHT - LINE_COLUMNS[4].width;
        let baseline = top + TOTAL_ROW / 2.0 + 10.0 * 0.36;
        let words = format!("合计 (大写) 人民币{}", yuan_in_words(s.total));
        let words = self.m.fit(&words, 10.0, amount_x - LEFT - 2.0 * PAD);
        self.text(LEFT + PAD, baseline, 10.0, &words, true);
        self.right(RIGHT - PAD, baseline, 10.0, &fixed(s.total, 2), true);
        for x in [LEFT, amount_x, RIGHT] {
            self.rule(x, top, x, top + TOTAL_ROW, 0.4);
        }
        self.rule(LEFT, top + TOTAL_ROW, RIGHT, top + TOTAL_ROW, 0.8);
        self.y = top + TOTAL_ROW;

        if s.arrears > Decimal::ZERO {
            // Earlier periods' arrears stand beside the statement, not in its total.
            self.need(18.0);
            self.y += 16.0;
            let arrears = format!(
                "上期欠费 {}    连同本期应缴合计 {}",
                yuan(s.arrears),
                yuan(s.arrears + s.outstanding)
            );
            self.right(RIGHT, self.y, 9.5, &arrears, true);
        }
        if !s.paid.is_zero() || !s.late_fee.is_zero() {
            self.need(18.0);
            self.y += 16.0;
            let paid = format!(
                "已缴 {}    滞纳金 {}    欠缴 {}",
                yuan(s.paid),
                yuan(s.late_fee),
                yuan(s.outstanding)
            );
            self.right(RIGHT, self.y, 9.5, &paid, false);
        }
    }

    fn free_quota(&mut self) {
        let s = self.s;
        let unit = s
            .meters
            .first()
            .map(|m| display_unit(&m.unit))
            .unwrap_or_default();
        let mut lines = Vec::new();
        if let Some(q) = &s.free_quota {
            lines.push(format!(
                "住户人数 {} 人    人均免费额度 {} {unit}    本期额度 {} {unit}",
                q.occupants,
                fixed(q.per_person, 2),
                fixed(q.granted, 2)
            ));
            lines.push(format!(
                "上期结转 {} {unit}    已用额度 {} {unit}    结转下期 {} {unit}",
                fixed(q.carried_in, 2),
                fixed(q.used, 2),
                fixed(q.carried_out, 2)
            ));
            if q.months_without_data > 0 {
                lines.push(format!(
                    "本期有 {} 个月无抄表数据，不计免费额度",
                    q.months_without_data
                ));
            }
        }
        if let Some(share) = s.per_occupant {
            let occupants = s
                .free_quota
                .as_ref()
                .map(|q| format!(" (合计 ÷ {} 人)", q.occupants));
            lines.push(format!(
                "每人分摊 {}{}",
                yuan(share),
                occupants.unwrap_or_default()
            ));
            // The odd fen, so that the shares add up to the total.
            let odd: Vec<String> = (s.shares.iter().enumerate())
                .filter(|(_, x)| **x != share)
                .map(|(i, x)| format!("第{}人 {}", i + 1, yuan(*x)))
                .collect();
            if !odd.is_empty() {
                lines.push(format!("其中 {}（各人合计等于总额）", odd.join("，")));
            }
        }
        if lines.is_empty() {
            return;
        }
        self.section("免费额度与分摊", 14.0);
        for line in lines {
            self.need(14.0);
            self.y += 14.0;
            self.text(LEFT, self.y, 9.5, &line, false);
        }
    }

    /// Why the statement was held for review, and who accepted it with what reason.
    fn review(&mut self) {
        let s = self.s;
        if s.holds.is_empty() {
            return;
        }
        let mut lines: Vec<String> = s.holds.iter().map(|h| format!("· {}", h.reason)).collect();
        match &s.accepted {
            Some(a) => lines.push(format!(
                "复核接受: {} 于 {}，理由: {}",
                a.by,
                a.at.format("%Y-%m-%d %H:%M UTC"),
                a.reason
            )),
            None => lines.push("待财务复核: 复核接受或数据更正之前不得开具".to_string()),
        }
        self.section("数据复核", 14.0);
        for note in lines {
            for line in self.m.wrap(&note, 8.5, RIGHT - LEFT) {
                self.need(12.0);
                self.y += 12.0;
                self.text(LEFT, self.y, 8.5, &line, false);
            }
        }
    }

    fn reissue(&mut self) {
        let s = self.s;
        let Some(replaces) = &s.replaces else { return };
        self.section("重开说明", 28.0);
        let signed = |d: Decimal| {
            if d > Decimal::ZERO {
                format!("+{}", yuan(d))
            } else {
                yuan(d)
            }
        };
        let lines = [
            format!("本单替代原单, 原单号 {replaces}"),
            format!(
                "原金额 {}    本单金额 {}    差额 {}",
                s.previous_total.map(yuan).unwrap_or_else(|| "—".into()),
                yuan(s.total),
                s.difference.map(signed).unwrap_or_else(|| "—".into())
            ),
        ];
        for line in lines {
            self.need(14.0);
            self.y += 14.0;
            self.text(LEFT, self.y, 9.5, &line, false);
        }
    }
}

/// Who signs and stamps a statement, in Chinese and English, two to a row; the payer's
/// acknowledgement has a row of its own.
const SIGNATURES: [&[(&str, &str)]; 3] = [
    &[("经办人(签字)", "Prepared by"), ("复核人", "Checked by")],
    &[("财务部门(盖章)", "Finance office stamp"), ("日期", "Date")],
    &[("缴费单位确认(签字/盖章)", "Payer's acknowledgement")],
];

impl Layout<'_> {
    /// The signature and stamp block, at the foot of the statement's last page: each label
    /// with a line to sign on, its English beneath.
    fn signatures(&mut self) {
        const ROW_H: f32 = 30.0;
        let height = ROW_H * SIGNATURES.len() as f32 + 8.0;
        self.need(height + 12.0);
        self.y = self.y.max(self.bottom - height);
        let half = (RIGHT - LEFT) / 2.0;
        for row in SIGNATURES {
            self.y += ROW_H;
            for (i, (zh, en)) in row.iter().enumerate() {
                let x = LEFT + half * i as f32;
                let end = if i + 1 == row.len() {
                    RIGHT
                } else {
                    x + half - 16.0
                };
                // The payer as what it is: 宿舍确认, 食堂确认 ...
                let zh = zh.replace("缴费单位", self.s.kind.payer_zh());
                self.text(x, self.y, 9.5, &zh, true);
                self.text(x, self.y + 10.0, 7.0, en, false);
                let line_from = x + self.m.width(&zh, 9.5) + 6.0;
                self.rule(line_from, self.y + 1.0, end, self.y + 1.0, 0.5);
            }
        }
        self.y += 8.0;
    }
}

fn layout(s: &Statement, settings: &BillingSettings, m: &Metrics, bottom: f32) -> Vec<Vec<Op>> {
    let mut l = Layout {
        m,
        s,
        issuer: settings.issuer.trim(),
        done: Vec::new(),
        ops: Vec::new(),
        y: 0.0,
        bottom,
    };
    l.header(false);
    l.tenant();
    l.meters();
    l.lines();
    l.free_quota();
    l.review();
    l.reissue();
    l.signatures();
    l.done.push(l.ops);
    l.done
}

/// Where a boundary value does not sit on a reading, the readings it comes from: "E-301 起码
/// 2026-10-01 00:00 插值 8,231.2000, 据读数 2026-09-30 23:50 8,231.10 (实测)、2026-10-01 00:10
/// 8,231.30 (实测)".
fn boundary_notes(m: &MeterBlock) -> Vec<String> {
    let mut out = Vec::new();
    for (label, b) in [("起码", &m.start), ("止码", &m.end)] {
        let Some(b) = b else { continue };
        let what = match b.value {
            Some(_) if b.quality != Quality::Interpolated => continue,
            Some(v) => format!("插值 {}", reading(v)),
            None => "无连续表码 (其间有换表、重置或回退)".to_string(),
        };
        let from: Vec<String> = b
            .readings
            .iter()
            .map(|r| {
                format!(
                    "{} {} ({})",
                    r.local_time,
                    reading(r.value),
                    quality_zh(r.quality)
                )
            })
            .collect();
        let mut note = format!("{} {label} {} {what}", m.meter, b.local_time);
        if !from.is_empty() {
            note += &format!(", 据读数 {}", from.join("、"));
        }
        out.push(note);
    }
    out
}

/// A register figure with the places it carries (the register's resolution, two more when
/// interpolated), with thousands separators.
fn reading(d: Decimal) -> String {
    fixed(d, d.scale())
}

/// `d` half-up to `dp` places, with thousands separators: 1,234.56.
fn fixed(d: Decimal, dp: u32) -> String {
    let mut d = round_half_up(d, dp);
    d.rescale(dp);
    let s = d.abs().to_string();
    let (int, frac) = s
        .split_once('.')
        .map_or((s.as_str(), None), |(i, f)| (i, Some(f)));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if d.is_sign_negative() && !d.is_zero() {
        "-"
    } else {
        ""
    };
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// `d` with all its significant places but at least `min_dp`: prices 0.6264, 3.45 → 3.45.
fn plain(d: Decimal, min_dp: u32) -> String {
    fixed(d, d.normalize().scale().max(min_dp))
}

fn yuan(d: Decimal) -> String {
    if d < Decimal::ZERO {
        format!("-¥{}", fixed(-d, 2))
    } else {
        format!("¥{}", fixed(d, 2))
    }
}

const DIGITS: [char; 10] = ['零', '壹', '贰', '叁', '肆', '伍', '陆', '柒', '捌', '玖'];

/// An amount in Chinese capital numerals, as written on receipts and bank forms: 1234.56 →
/// 壹仟贰佰叁拾肆元伍角陆分, 10 → 壹拾元整, 0 → 零元整. Rounded half-up to the fen first.
pub fn yuan_in_words(d: Decimal) -> String {
    let mut d = cents(d);
    d.rescale(2);
    let all_fen = d.mantissa().unsigned_abs();
    let (whole, jiao, fen) = (
        all_fen / 100,
        (all_fen / 10 % 10) as usize,
        (all_fen % 10) as usize,
    );
    let mut out = String::new();
    if d.is_sign_negative() && all_fen != 0 {
        out.push('负');
    }
    if whole > 0 {
        out += &integer_words(whole);
        out.push('元');
    }
    match (jiao, fen) {
        (0, 0) if whole == 0 => out += "零元整",
        (0, 0) => out.push('整'),
        (j, 0) => {
            out.push(DIGITS[j]);
            out.push('角');
        }
        (j, f) => {
            if j > 0 {
                out.push(DIGITS[j]);
                out.push('角');
            } else if whole > 0 {
                // A missing 角 after whole yuan is written as 零: 325.04 → 叁佰贰拾伍元零肆分.
                out.push('零');
            }
            out.push(DIGITS[f]);
            out.push('分');
        }
    }
    out
}

/// Words for a positive whole number, grouping by 亿 and 万 with a single 零 for each run of
/// zeros inside: 1004 → 壹仟零肆, 100700 → 壹拾万零柒佰.
fn integer_words(n: u128) -> String {
    const YI: u128 = 100_000_000;
    if n >= YI {
        let (high, low) = (n / YI, n % YI);
        let mut out = integer_words(high) + "亿";
        if low > 0 {
            if low < YI / 10 {
                out.push('零');
            }
            out += &below_yi(low);
        }
        out
    } else {
        below_yi(n)
    }
}

fn below_yi(n: u128) -> String {
    let (high, low) = (n / 10_000, n % 10_000);
    if high == 0 {
        return below_wan(low);
    }
    let mut out = below_wan(high) + "万";
    if low > 0 {
        if low < 1000 {
            out.push('零');
        }
        out += &below_wan(low);
    }
    out
}

fn below_wan(n: u128) -> String {
    const UNITS: [&str; 4] = ["仟", "佰", "拾", ""];
    let mut out = String::new();
    let mut zero = false;
    for (i, unit) in UNITS.iter().enumerate() {
        let digit = (n / 10u128.pow(3 - i as u32) % 10) as usize;
        if digit == 0 {
            zero = !out.is_empty();
        } else {
            if zero {
                out.push('零');
                zero = false;
            }
            out.push(DIGITS[digit]);
            out += unit;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::statement::{Line, LineKind, Status};
    use crate::billing::xlsx::tests::{sample, settings};
    use rust_decimal_macros::dec;
    use std::process::Command;

    #[test]
    fn amounts_in_capital_numerals() {
        assert_eq!(yuan_in_words(dec!(0)), "零元整");
        assert_eq!(yuan_in_words(dec!(0.05)), "伍分");
        assert_eq!(yuan_in_words(dec!(0.50)), "伍角");
        assert_eq!(yuan_in_words(dec!(10.00)), "壹拾元整");
        assert_eq!(yuan_in_words(dec!(1004.50)), "壹仟零肆元伍角");
        assert_eq!(yuan_in_words(dec!(1234.56)), "壹仟贰佰叁拾肆元伍角陆分");
        assert_eq!(yuan_in_words(dec!(100000.00)), "壹拾万元整");
        assert_eq!(yuan_in_words(dec!(-1234.56)), "负壹仟贰佰叁拾肆元伍角陆分");
        assert_eq!(yuan_in_words(dec!(-0.004)), "零元整");
        // Examples from the PBOC rules for filling in bills (正确填写票据和结算凭证的基本规定).
        assert_eq!(yuan_in_words(dec!(1409.50)), "壹仟肆佰零玖元伍角");
        assert_eq!(yuan_in_words(dec!(6007.14)), "陆仟零柒元壹角肆分");
        assert_eq!(yuan_in_words(dec!(1680.32)), "壹仟陆佰捌拾元叁角贰分");
        assert_eq!(yuan_in_words(dec!(107000.53)), "壹拾万柒仟元伍角叁分");
        assert_eq!(yuan_in_words(dec!(16409.02)), "壹万陆仟肆佰零玖元零贰分");
        assert_eq!(yuan_in_words(dec!(325.04)), "叁佰贰拾伍元零肆分");
        assert_eq!(yuan_in_words(dec!(100700)), "壹拾万零柒佰元整");
        assert_eq!(yuan_in_words(dec!(100001000)), "壹亿零壹仟元整");
        assert_eq!(yuan_in_words(dec!(110000000)), "壹亿壹仟万元整");
        assert_eq!(yuan_in_words(dec!(2000000000000)), "贰万亿元整");
        assert_eq!(yuan_in_words(dec!(0.125)), "壹角叁分");
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(fixed(dec!(1234567.891), 2), "1,234,567.89");
        assert_eq!(fixed(dec!(-65.4), 2), "-65.40");
        assert_eq!(fixed(dec!(999), 2), "999.00");
        assert_eq!(fixed(dec!(-0.001), 2), "0.00");
        assert_eq!(plain(dec!(0.62640), 2), "0.6264");
        assert_eq!(plain(dec!(3.4), 2), "3.40");
        assert_eq!(plain(dec!(80), 0), "80");
        assert_eq!(yuan(dec!(-65.44)), "-¥65.44");
    }

    #[test]
    fn the_font_has_what_statements_print() {
        let m = Metrics::parse(FONT, 0).unwrap();
        let used = "水电费结算单合计大写人民币壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整零负¥…—·÷()0123456789,.kWhm³";
        for c in used.chars() {
            assert!(m.has(c), "no glyph for {c}");
        }
        // CJK ideographs are a full em; digits are narrower and all equally wide.
        assert!((m.advance('水') - 1.0).abs() < 0.01);
        assert!(m.advance('1') < 0.7);
        assert_eq!(m.advance('1'), m.advance('8'));
        assert!((m.width("水电", 10.0) - 20.0).abs() < 0.1);
    }

    #[test]
    fn long_text_is_cut_and_wrapped_to_width() {
        let m = Metrics::parse(FONT, 0).unwrap();
        let long = "学生公寓".repeat(20);
        let cut = m.fit(&long, 9.0, 100.0);
        assert!(cut.ends_with('…') && m.width(&cut, 9.0) <= 100.0);
        let lines = m.wrap(&long, 9.0, 100.0);
        assert!(lines.len() > 1 && lines.iter().all(|l| m.width(l, 9.0) <= 100.0));
        assert_eq!(lines.concat(), long);
    }

    fn pages(pdf: &[u8]) -> usize {
        let text = String::from_utf8_lossy(pdf);
        text.match_indices("/Type /Page")
            .filter(|(i, _)| !text[i + 11..].starts_with('s'))
            .count()
    }

    /// pdftotext drops or adds spaces around CJK text; compare without any.
    fn squash(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }

    /// The text of the PDF via poppler's pdftotext, when it is installed.
    fn pdftotext(pdf: &[u8]) -> Option<String> {
        pdftotext_as(pdf, "-layout")
    }

    /// The same in the order it is drawn (`-raw`), which keeps rotated text together.
    fn pdftotext_as(pdf: &[u8], mode: &str) -> Option<String> {
        let file = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
        std::fs::write(file.path(), pdf).unwrap();
        match Command::new("pdftotext")
            .arg(mode)
            .arg(file.path())
            .arg("-")
            .output()
        {
            Ok(out) if out.status.success() => {
                Some(String::from_utf8_lossy(&out.stdout).into_owned())
            }
            Ok(out) => panic!("pdftotext failed: {}", String::from_utf8_lossy(&out.stderr)),
            Err(e) => {
                eprintln!("pdftotext not available ({e}); skipping the text check");
                None
            }
        }
    }

    #[test]
    fn one_statement_on_one_small_page() {
        let pdf = document(&[sample()], &settings()).unwrap();
        assert!(pdf.starts_with(b"%PDF"));
        assert!(pdf.len() < 200 * 1024, "{} bytes", pdf.len());
        assert_eq!(pages(&pdf), 1);
        if let Some(text) = pdftotext(&pdf) {
            let text = squash(&text);
            for expected in [
                "水电费结算单",
                "学生公寓3号楼301室",
                "某某大学后勤管理处",
                "1,234.56",
                "壹仟贰佰叁拾肆元伍角陆分",
                "插值",
                "9,421.1700 (插值)",
                "E-301 止码 2026-11-01 00:00 插值 9,421.1700, 据读数 2026-10-31 23:50 9,421.10 (实测)、2026-11-01 00:10 9,421.24 (实测)",
                "每人分摊 ¥308.64",
                "宿舍:学生公寓3号楼301室",
                "JN-202610-dorm-301-A",
                "-¥65.44",
                "第 1 页 / 共 1 页",
                SOURCE,
            ] {
                assert!(
                    text.contains(&squash(expected)),
                    "`{expected}` missing from:\n{text}"
                );
            }
        }
    }

    #[test]
    fn a_room_statement_names_the_room_and_every_odd_share() {
        let mut s = sample();
        s.shares = vec![dec!(308.66), dec!(308.64), dec!(308.64), dec!(308.62)];
        let pdf = document(&[s], &settings()).unwrap();
        if let Some(text) = pdftotext(&pdf) {
            let text = squash(&text);
            assert!(!text.contains("商户"), "{text}");
            assert!(
                text.contains(&squash("其中 第1人 ¥308.66，第4人 ¥308.62")),
                "{text}"
            );
        }
    }

    #[test]
    fn a_held_statement_says_why_and_arrears_stand_beside_the_total() {
        use crate::billing::review::{Acceptance, Hold, HoldKind};
        let mut s = sample();
        s.status = crate::billing::statement::Status::NeedsReview;
        s.arrears = dec!(500);
        s.meters[0].data.measured = dec!(985);
        s.meters[0].data.interpolated = dec!(15);
        s.holds = vec![Hold {
            meter: "E-301".into(),
            kind: HoldKind::Doubtful,
            reason: "E-301: 1.5% 的用量为插值或估算（上限 1%）".into(),
            reason_en: String::new(),
        }];
        let text = |s: &Statement| {
            squash(
                &pdftotext(&document(std::slice::from_ref(s), &settings()).unwrap())
                    .expect("pdftotext (poppler-utils) is needed"),
            )
        };
        let held = text(&s);
        for want in [
            "数据复核",
            "E-301:1.5%的用量为插值或估算（上限1%）",
            "待财务复核",
            "数据来源实抄98.5%·插值1.5%",
            "上期欠费¥500.00",
        ] {
            assert!(held.contains(want), "{want}: {held}");
        }
        s.status = crate::billing::statement::Status::Issued;
        s.accepted = Some(Acceptance {
            by: "wang".into(),
            at: chrono::Utc::now(),
            reason: "燃气表漏抄，与食堂确认".into(),
        });
        let accepted = text(&s);
        assert!(accepted.contains("复核接受:wang"), "{accepted}");
        assert!(
            accepted.contains("理由:燃气表漏抄，与食堂确认"),
            "{accepted}"
        );
        assert!(!accepted.contains("待财务复核"), "{accepted}");
    }

    #[test]
    fn long_statements_continue_on_more_pages() {
        let mut long = sample();
        let template = long.lines[0].clone();
        long.lines = (1..=80)
            .map(|i| Line {
                description: format!("电费·峰 第{i}行"),
                quantity: Decimal::from(i),
                amount: cents(Decimal::from(i) * template.price),
                kind: LineKind::Energy,
                ..template.clone()
            })
            .collect();
        long.total = crate::billing::statement::total(&long.lines);
        // No issuer and no payment note: the header and footer shrink.
        let pdf = document(&[long, sample()], &BillingSettings::default()).unwrap();
        let count = pages(&pdf);
        assert!(count > 2, "{count} pages");
        if let Some(text) = pdftotext(&pdf) {
            assert_eq!(text.matches('\u{c}').count(), count);
            let text = squash(&text);
            assert!(text.contains("水电费结算单(续)"));
            assert!(text.contains("第80行"));
            // Page numbers count within each statement; the table header is on every page.
            assert!(text.contains(&format!("第{0}页/共{0}页", count - 1)));
            assert!(text.contains("第1页/共1页"));
            assert_eq!(text.matches("金额(元)").count(), count);
        }
    }

    #[test]
    fn water_is_in_cubic_metres() {
        let mut s = sample();
        s.meters[0].unit = "m3".into();
        for l in &mut s.lines {
            l.unit = "m3".into();
        }
        let pdf = document(&[s], &settings()).unwrap();
        let text = squash(&pdftotext(&pdf).expect("pdftotext (poppler-utils) is needed"));
        assert!(text.contains("1,189.97m³"), "{text}");
        assert!(text.contains("1,150.50m³"), "{text}");
        assert!(text.contains("人均免费额度25.00m³"), "{text}");
        assert!(!text.contains("m3"), "{text}");
    }

    #[test]
    fn a_statement_not_issued_says_draft_across_every_page() {
        let text = |status| {
            let mut s = sample();
            s.status = status;
            let pdf = document(&[s], &settings()).unwrap();
            squash(&pdftotext_as(&pdf, "-raw").expect("pdftotext (poppler-utils) is needed"))
        };
        let draft = text(Status::Draft);
        assert!(draft.contains(&squash(WATERMARK)), "{draft}");
        let mut long = sample();
        long.status = Status::Draft;
        long.lines = vec![long.lines[0].clone(); 80];
        let pdf = document(&[long], &settings()).unwrap();
        let raw = pdftotext_as(&pdf, "-raw").unwrap();
        assert!(pages(&pdf) > 1);
        assert_eq!(raw.matches("DRAFT").count(), pages(&pdf));
        for status in [Status::Issued, Status::Paid, Status::Overdue] {
            let issued = text(status);
            assert!(!issued.contains("DRAFT"), "{status:?}: {issued}");
            assert!(!issued.contains("草稿"), "{status:?}: {issued}");
        }
    }

    #[test]
    fn each_statement_ends_with_its_signatures_and_stamp() {
        let mut long = sample();
        long.lines = vec![long.lines[0].clone(); 80];
        let pdf = document(&[sample(), long], &settings()).unwrap();
        let text = squash(&pdftotext(&pdf).expect("pdftotext (poppler-utils) is needed"));
        for row in SIGNATURES {
            for (zh, en) in row {
                // The sample is a dormitory room: its payer signs as the 宿舍.
                let zh = zh.replace("缴费单位", "宿舍");
                // Once per statement, not on every page (日期 is in 开具日期 too).
                let zh_count = text.matches(&squash(&zh)).count();
                assert!(zh_count >= 2, "{zh}: {text}");
                assert_eq!(text.matches(&squash(en)).count(), 2, "{en}: {text}");
            }
        }
        assert_eq!(text.matches("经办人(签字)").count(), 2);
        // After the last line of the long statement, on its last page.
        let last_page = text.rsplit('\u{c}').find(|p| !p.is_empty()).unwrap();
        assert!(last_page.contains("宿舍确认(签字/盖章)"), "{last_page}");
    }

    #[test]
    fn no_statements_no_pages() {
        let pdf = document(&[], &BillingSettings::default()).unwrap();
        assert!(pdf.starts_with(b"%PDF"));
    }
}
