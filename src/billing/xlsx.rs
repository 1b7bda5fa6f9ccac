//! Statements as an Excel workbook: a summary sheet with one row per statement (totals as
//! formulas), then one sheet per statement laid out like the printed one. Figures are stored
//! as numbers so finance can keep calculating with them.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{
    ColNum, Color, Format, FormatBorder, Formula, RowNum, Url, Workbook, Worksheet, XlsxError,
    cell_range, quote_sheet_name,
};

use super::statement::{BoundaryReading, Statement, cents, display_unit};
use super::tenant::BillingSettings;
use crate::energy::intervals::Quality;

const SUMMARY: &str = "汇总";
/// The first row of the sheet of a statement not issued.
pub(crate) const DRAFT_BANNER: &str =
    "草稿 — 未开具，不作缴费依据  DRAFT — not issued, not a demand for payment";

/// A boundary's or an interval's data quality, in Chinese.
pub fn quality_zh(q: Quality) -> &'static str {
    match q {
        Quality::Measured => "实测",
        Quality::Interpolated => "插值",
        Quality::Manual => "手工",
        Quality::Corrected => "修正",
        Quality::Estimated => "估算",
        Quality::Invalid => "无效",
        Quality::Missing => "缺失",
    }
}

/// The status in Chinese, flagged when readings changed after issue.
pub(crate) fn status_zh(s: &Statement) -> String {
    if s.reissue_needed {
        format!("{} (需重开)", s.status.name_zh())
    } else {
        s.status.name_zh().to_string()
    }
}

struct Formats {
    title: Format,
    draft: Format,
    header: Format,
    label: Format,
    money: Format,
    money_total: Format,
    quantity: Format,
    price: Format,
    percent: Format,
}

impl Formats {
    fn new() -> Self {
        let money = Format::new().set_num_format("#,##0.00");
        Formats {
            title: Format::new().set_bold().set_font_size(14),
            draft: Format::new()
                .set_bold()
                .set_font_size(14)
                .set_font_color(Color::RGB(0xC00000)),
            header: Format::new()
                .set_bold()
                .set_background_color(Color::RGB(0xE7E6E6))
                .set_border(FormatBorder::Thin),
            label: Format::new().set_bold(),
            money_total: money.clone().set_bold(),
            money,
            quantity: Format::new().set_num_format("#,##0.00"),
            price: Format::new().set_num_format("0.0000"),
            percent: Format::new().set_num_format("0.0%"),
        }
    }
}

fn num(d: Decimal) -> f64 {
    d.to_f64().unwrap_or_default()
}

/// `=SUM(..)` over `first..=last` of one column, with the value cached for viewers that do not
/// recalculate.
fn sum(col: ColNum, first: RowNum, last: RowNum, value: Decimal) -> Formula {
    Formula::new(format!("=SUM({})", cell_range(first, col, last, col)))
        .set_result(cents(value).to_string())
}

/// A valid, unused sheet name for a tenant id: Excel allows at most 31 characters, none of
/// `[]:*?/\`, no apostrophe at either end, and compares names case-insensitively.
fn sheet_name(id: &str, taken: &mut Vec<String>) -> String {
    let cleaned: String = id
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .collect();
    let cleaned = cleaned.trim_matches('\'');
    let base = if cleaned.is_empty() {
        "商户"
    } else {
        cleaned
    };
    let is_taken = |name: &str| {
        let lower = name.to_lowercase();
        // Excel reserves "History" for its change tracking.
        lower == "history" || taken.iter().any(|t| t.to_lowercase() == lower)
    };
    let mut name = base
        .chars()
        .take(31)
        .collect::<String>()
        .trim_end_matches('\'')
        .to_string();
    let mut n = 2;
    while is_taken(&name) {
        let suffix = format!("~{n}");
        let keep = 31 - suffix.chars().count();
        name = base
            .chars()
            .take(keep)
            .collect::<String>()
            .trim_end_matches('\'')
            .to_string()
            + &suffix;
        n += 1;
    }
    taken.push(name.clone());
    name
}

/// The workbook for `statements`, as the bytes of an `.xlsx` file.
pub fn workbook(
    statements: &[Statement],
    settings: &BillingSettings,
) -> Result<Vec<u8>, XlsxError> {
    let f = Formats::new();
    let mut wb = Workbook::new();
    let mut taken = vec![SUMMARY.to_string()];
    let names: Vec<String> = statements
        .iter()
        .map(|s| sheet_name(&s.tenant, &mut taken))
        .collect();

    summary(wb.add_worksheet(), statements, &names, settings, &f)?;
    for (s, name) in statements.iter().zip(&names) {
        let ws = wb.add_worksheet();
        ws.set_name(name)?;
        statement_sheet(ws, s, settings, &f)?;
    }
    wb.save_to_buffer()
}

fn title(settings: &BillingSettings, what: &str) -> String {
    if settings.issuer.is_empty() {
        what.to_string()
    } else {
        format!("{} {what}", settings.issuer)
    }
}

fn summary(
    ws: &mut Worksheet,
    statements: &[Statement],
    sheet_names: &[String],
    settings: &BillingSettings,
    f: &Formats,
) -> Result<(), XlsxError> {
    ws.set_name(SUMMARY)?;
    ws.set_paper_size(9)
        .set_landscape()
        .set_print_fit_to_pages(1, 0);
    ws.write_string_with_format(0, 0, title(settings, "水电费结算汇总"), &f.title)?;
    let headers = [
        ("编号", 24),
        ("商户", 24),
        ("类型", 8),
        ("合同号", 16),
        ("结算期", 10),
        ("开具日期", 12),
        ("缴费截止", 12),
        ("状态", 10),
        ("应收金额(元)", 14),
        ("已缴(元)", 14),
        ("滞纳金(元)", 12),
        ("欠缴(元)", 14),
    ];
    for (col, (h, width)) in headers.iter().enumerate() {
        ws.write_string_with_format(1, col as ColNum, *h, &f.header)?;
        ws.set_column_width(col as ColNum, *width)?;
    }
    ws.set_freeze_panes(2, 0)?;

    let first: RowNum = 2;
    for (i, (s, sheet)) in statements.iter().zip(sheet_names).enumerate() {
        let row = first + i as RowNum;
        let link = Url::new(format!("internal:{}!A1", quote_sheet_name(sheet)));
        ws.write_url_with_text(row, 0, link, &s.number)?;
        ws.write_string(row, 1, &s.tenant_name)?;
        ws.write_string(row, 2, s.kind.name_zh())?;
        ws.write_string(row, 3, &s.contract)?;
        ws.write_string(row, 4, &s.period)?;
        ws.write_string(row, 5, s.issue_date.to_string())?;
        ws.write_string(row, 6, s.due_date.to_string())?;
        ws.write_string(row, 7, status_zh(s))?;
        for (col, value) in [
            (8, s.total),
            (9, s.paid),
            (10, s.late_fee),
            (11, s.outstanding),
        ] {
            ws.write_number_with_format(row, col, num(value), &f.money)?;
        }
    }

    let total_row = first + statements.len() as RowNum;
    ws.write_string_with_format(total_row, 0, "合计", &f.label)?;
    let add = |field: fn(&Statement) -> Decimal| statements.iter().map(field).sum::<Decimal>();
    for (col, value) in [
        (8, add(|s| s.total)),
        (9, add(|s| s.paid)),
        (10, add(|s| s.late_fee)),
        (11, add(|s| s.outstanding)),
    ] {
        if statements.is_empty() {
            ws.write_number_with_format(total_row, col, 0.0, &f.money_total)?;
        } else {
            ws.write_formula_with_format(
                total_row,
                col,
                sum(col, first, total_row - 1, value),
                &f.money_total,
            )?;
        }
    }
    Ok(())
}

/// Reading value, time and quality in three cells, or 缺失 when there is none.
fn boundary(
    ws: &mut Worksheet,
    row: RowNum,
    col: ColNum,
    b: Option<&BoundaryReading>,
) -> Result<(), XlsxError> {
    match b {
        Some(b) => {
            if let Some(v) = b.value {
                ws.write_number_with_format(row, col, num(v), &reading_format(v))?;
            }
            ws.write_string(row, col + 1, b.local_time.clone())?;
            ws.write_string(row, col + 2, quality_zh(b.quality))?;
        }
        None => {
            ws.write_string(row, col + 2, quality_zh(Quality::Missing))?;
        }
    }
    Ok(())
}

/// A register figure's format: the places it carries (the register's resolution, two more
/// when interpolated).
fn reading_format(d: Decimal) -> Format {
    let places = "0".repeat(d.scale() as usize);
    let pattern = if places.is_empty() {
        "0".to_string()
    } else {
        format!("0.{places}")
    };
    Format::new().set_num_format(pattern)
}

/// Under a boundary that does not sit on a reading, one row per reading it comes from: what
/// it is (起码依据读数), the reading's time, value and quality.
fn boundary_readings(
    ws: &mut Worksheet,
    mut row: RowNum,
    meter: &str,
    label: &str,
    b: &BoundaryReading,
) -> Result<RowNum, XlsxError> {
    if b.value.is_some() && b.quality != Quality::Interpolated {
        return Ok(row);
    }
    for r in &b.readings {
        ws.write_string(row, 0, format!("{meter}: {label}依据读数"))?;
        ws.write_string(row, 1, &r.local_time)?;
        ws.write_number_with_format(row, 2, num(r.value), &reading_format(r.value))?;
        ws.write_string(row, 3, quality_zh(r.quality))?;
        row += 1;
    }
    Ok(row)
}

fn statement_sheet(
    ws: &mut Worksheet,
    s: &Statement,
    settings: &BillingSettings,
    f: &Formats,
) -> Result<(), XlsxError> {
    ws.set_paper_size(9)
        .set_landscape()
        .set_print_fit_to_pages(1, 0);
    // Columns serve both tables: meters (A..M) and lines (A..H).
    for (col, width) in [14, 24, 24, 12, 20, 8, 12, 20, 8, 12, 6, 8, 8, 30]
        .into_iter()
        .enumerate()
    {
        ws.set_column_width(col as ColNum, width)?;
    }
    // A statement not issued says so above everything else.
    let top: RowNum = if s.status.is_issued() {
        0
    } else {
        ws.write_string_with_format(0, 0, DRAFT_BANNER, &f.draft)?;
        1
    };
    ws.write_string_with_format(top, 0, title(settings, "水电费结算单"), &f.title)?;

    let mut row: RowNum = top + 2;
    let dates = format!("{} 至 {}", s.start, s.end);
    let issue = s.issue_date.to_string();
    let due = s.due_date.to_string();
    let tenant = format!("{} ({})", s.tenant_name, s.tenant);
    let status = status_zh(s);
    for (label, value) in [
        ("编号", s.number.as_str()),
        (s.kind.payer_zh(), &tenant),
        ("类型", s.kind.name_zh()),
        ("合同号", &s.contract),
        ("结算期", &s.period),
        ("起止日期", &dates),
        ("开具日期", &issue),
        ("缴费截止", &due),
        ("状态", &status),
    ] {
        ws.write_string_with_format(row, 0, label, &f.label)?;
        ws.write_string(row, 1, value)?;
        row += 1;
    }

    row += 1;
    let meter_headers = [
        "表计",
        "名称",
        "倍率",
        "起码",
        "起码时间",
        "起码质量",
        "止码",
        "止码时间",
        "止码质量",
        "计量用量",
        "单位",
        "损耗率",
        "数据质量",
        "数据来源",
    ];
    for (col, h) in meter_headers.iter().enumerate() {
        ws.write_string_with_format(row, col as ColNum, *h, &f.header)?;
    }
    row += 1;
    for m in &s.meters {
        ws.write_string(row, 0, &m.meter)?;
        ws.write_string(row, 1, &m.name)?;
        ws.write_number(row, 2, num(m.multiplier))?;
        boundary(ws, row, 3, m.start.as_ref())?;
        boundary(ws, row, 6, m.end.as_ref())?;
        ws.write_number_with_format(row, 9, num(m.metered), &f.quantity)?;
        ws.write_string(row, 10, display_unit(&m.unit))?;
        ws.write_number_with_format(row, 11, num(m.loss_rate), &f.percent)?;
        ws.write_string(row, 12, quality_zh(m.quality))?;
        ws.write_string(row, 13, m.data.summary(false))?;
        row += 1;
    }
    for m in &s.meters {
        ws.write_string(
            row,
            0,
            format!("{}: 价格 {} ({})", m.meter, m.tariff_name, m.tariff),
        )?;
        row += 1;
        for (label, b) in [("起码", &m.start), ("止码", &m.end)] {
            if let Some(b) = b {
                row = boundary_readings(ws, row, &m.meter, label, b)?;
            }
        }
        for note in &m.notes {
            ws.write_string(row, 0, format!("{}: {note}", m.meter))?;
            row += 1;
        }
    }

    row += 1;
    let line_headers = [
        "表计",
        "项目",
        "起止日期",
        "计量用量",
        "计费数量",
        "单位",
        "单价(元)",
        "金额(元)",
    ];
    for (col, h) in line_headers.iter().enumerate() {
        ws.write_string_with_format(row, col as ColNum, *h, &f.header)?;
    }
    row += 1;
    let first_line = row;
    for l in &s.lines {
        ws.write_string(row, 0, &l.meter)?;
        ws.write_string(row, 1, &l.description)?;
        ws.write_string(row, 2, format!("{} 至 {}", l.from, l.to))?;
        if let Some(metered) = l.metered {
            ws.write_number_with_format(row, 3, num(metered), &f.quantity)?;
        }
        ws.write_number_with_format(row, 4, num(l.quantity), &f.quantity)?;
        ws.write_string(row, 5, display_unit(&l.unit))?;
        ws.write_number_with_format(row, 6, num(l.price), &f.price)?;
        ws.write_number_with_format(row, 7, num(l.amount), &f.money)?;
        row += 1;
    }
    ws.write_string_with_format(row, 0, "合计", &f.label)?;
    if s.lines.is_empty() {
        ws.write_number_with_format(row, 7, num(s.total), &f.money_total)?;
    } else {
        ws.write_formula_with_format(row, 7, sum(7, first_line, row - 1, s.total), &f.money_total)?;
    }
    row += 1;
    if s.arrears > Decimal::ZERO {
        // Earlier periods' arrears stand beside the statement, not in its total.
        for (label, value) in [
            ("上期欠费(元)", s.arrears),
            ("连同本期应缴合计(元)", s.arrears + s.outstanding),
        ] {
            ws.write_string_with_format(row, 0, label, &f.label)?;
            ws.write_number_with_format(row, 7, num(value), &f.money)?;
            row += 1;
        }
    }
    if !s.holds.is_empty() {
        row += 1;
        ws.write_string_with_format(row, 0, "数据复核", &f.label)?;
        row += 1;
        for h in &s.holds {
            ws.write_string(row, 0, &h.reason)?;
            row += 1;
        }
        let verdict = match &s.accepted {
            Some(a) => format!(
                "复核接受: {} 于 {}，理由: {}",
                a.by,
                a.at.format("%Y-%m-%d %H:%M UTC"),
                a.reason
            ),
            None => "待财务复核: 复核接受或数据更正之前不得开具".to_string(),
        };
        ws.write_string(row, 0, verdict)?;
        row += 1;
    }
    if !s.paid.is_zero() || !s.late_fee.is_zero() {
        for (label, value) in [
            ("已缴(元)", s.paid),
            ("滞纳金(元)", s.late_fee),
            ("欠缴(元)", s.outstanding),
        ] {
            ws.write_string_with_format(row, 0, label, &f.label)?;
            ws.write_number_with_format(row, 7, num(value), &f.money)?;
            row += 1;
        }
    }

    if let Some(q) = &s.free_quota {
        row += 1;
        let unit = s
            .meters
            .first()
            .map(|m| display_unit(&m.unit))
            .unwrap_or_default();
        ws.write_string_with_format(row, 0, "免费额度", &f.label)?;
        row += 1;
        ws.write_string(row, 0, "住户人数")?;
        ws.write_number(row, 1, q.occupants)?;
        row += 1;
        for (label, value) in [
            ("人均免费额度", q.per_person),
            ("本期额度", q.granted),
            ("上期结转", q.carried_in),
            ("已用额度", q.used),
            ("结转下期", q.carried_out),
        ] {
            ws.write_string(row, 0, label)?;
            ws.write_number_with_format(row, 1, num(value), &f.quantity)?;
            ws.write_string(row, 2, unit)?;
            row += 1;
        }
        if q.months_without_data > 0 {
            ws.write_string(row, 0, "无抄表数据月数(不计额度)")?;
            ws.write_number(row, 1, q.months_without_data)?;
            row += 1;
        }
    }
    if let Some(share) = s.per_occupant {
        ws.write_string(row, 0, "每人分摊(元)")?;
        ws.write_number_with_format(row, 1, num(share), &f.money)?;
        row += 1;
        if s.shares.iter().any(|x| *x != share) {
            // Every share, so that they add up to the total.
            ws.write_string(row, 0, "各人分摊(元)")?;
            for (i, x) in s.shares.iter().enumerate() {
                ws.write_number_with_format(row, 1 + i as u16, num(*x), &f.money)?;
            }
            row += 1;
        }
    }

    if let Some(replaces) = &s.replaces {
        row += 1;
        ws.write_string_with_format(row, 0, "重开说明", &f.label)?;
        row += 1;
        ws.write_string(row, 0, "原单号")?;
        ws.write_string(row, 1, replaces)?;
        row += 1;
        for (label, value) in [("原金额(元)", s.previous_total), ("差额(元)", s.difference)]
        {
            ws.write_string(row, 0, label)?;
            if let Some(v) = value {
                ws.write_number_with_format(row, 1, num(v), &f.money)?;
            }
            row += 1;
        }
    }

    if !settings.payment_note.is_empty() {
        row += 1;
        ws.write_string(row, 0, &settings.payment_note)?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::billing::statement::{FreeQuotaUse, Line, LineKind, MeterBlock, RawReading, Status};
    use crate::billing::tariff::TouPeriod;
    use crate::billing::tenant::TenantKind;
    use chrono::{NaiveDate, TimeZone, Utc};
    use rust_decimal_macros::dec;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// A dormitory room's statement: one meter, two lines, a free quota; used by pdf.rs too.
    pub(crate) fn sample() -> Statement {
        let line = |period: TouPeriod, metered, quantity, price, amount| Line {
            meter: "E-301".into(),
            kind: LineKind::Energy,
            description: format!("电费·{}", period.name_zh()),
            description_en: format!("electricity {}", period.name_en()),
            period: Some(period),
            tier: None,
            from: day("2026-10-01"),
            to: day("2026-10-31"),
            metered: Some(metered),
            quantity,
            unit: "kWh".into(),
            price,
            amount,
        };
        let lines = vec![
            line(
                TouPeriod::Peak,
                dec!(1150.50),
                dec!(1150.50),
                dec!(1.0649),
                dec!(1225.17),
            ),
            line(
                TouPeriod::Valley,
                dec!(39.47),
                dec!(39.47),
                dec!(0.2379),
                dec!(9.39),
            ),
        ];
        // The period's boundaries: local midnights in Beijing time; readings 10 minutes
        // either side of the end.
        let at = |m: u32, d: u32, minutes: i64| {
            let t = Utc.with_ymd_and_hms(2026, m, d, 16, 0, 0).unwrap()
                + chrono::Duration::minutes(minutes);
            let local = (t + chrono::Duration::hours(8))
                .format("%Y-%m-%d %H:%M")
                .to_string();
            (t, local)
        };
        let raw = |m, d, minutes, value| {
            let (time, local_time) = at(m, d, minutes);
            RawReading {
                time,
                local_time,
                value,
                quality: Quality::Measured,
            }
        };
        let reading = |m, d, value, quality, readings| {
            let (time, local_time) = at(m, d, 0);
            BoundaryReading {
                time,
                local_time,
                value: Some(value),
                quality,
                readings,
            }
        };
        let start = reading(
            9,
            30,
            dec!(8231.20),
            Quality::Measured,
            vec![raw(9, 30, -15, dec!(8231.05)), raw(9, 30, 0, dec!(8231.20))],
        );
        let end = reading(
            10,
            31,
            dec!(9421.1700),
            Quality::Interpolated,
            vec![
                raw(10, 31, -10, dec!(9421.10)),
                raw(10, 31, 10, dec!(9421.24)),
            ],
        );
        Statement {
            number: "JN-202610-dorm-301".into(),
            tenant: "dorm-301".into(),
            tenant_name: "学生公寓3号楼301室".into(),
            kind: TenantKind::DormitoryRoom,
            contract: "HT-2026-017".into(),
            period: "2026-10".into(),
            start: day("2026-10-01"),
            end: day("2026-10-31"),
            issue_date: day("2026-11-03"),
            due_date: day("2026-11-18"),
            status: Status::Issued,
            meters: vec![MeterBlock {
                meter: "E-301".into(),
                name: "3号楼301室电表".into(),
                unit: "kWh".into(),
                tariff: "dorm".into(),
                tariff_name: "宿舍分时电价".into(),
                multiplier: dec!(1),
                start: Some(start),
                end: Some(end),
                notes: vec!["2026-10-12 09:30 换表: 旧表止码 8600.00, 新表起码 0.00".into()],
                metered: dec!(1189.97),
                quality: Quality::Interpolated,
                loss_rate: dec!(0),
                tou_registers: true,
                data: Default::default(),
            }],
            total: dec!(1234.56),
            lines,
            free_quota: Some(FreeQuotaUse {
                occupants: 4,
                per_person: dec!(25),
                granted: dec!(100),
                carried_in: dec!(10),
                used: dec!(100),
                carried_out: dec!(10),
                months_without_data: 0,
            }),
            per_occupant: Some(dec!(308.64)),
            shares: vec![dec!(308.64); 4],
            replaces: Some("JN-202610-dorm-301-A".into()),
            previous_total: Some(dec!(1300.00)),
            difference: Some(dec!(-65.44)),
            paid: dec!(0),
            late_fee: dec!(0),
            outstanding: dec!(1234.56),
            reissue_needed: false,
            arrears: Decimal::ZERO,
            holds: vec![],
            accepted: None,
        }
    }

    pub(crate) fn settings() -> BillingSettings {
        BillingSettings {
            issuer: "某某大学后勤管理处".into(),
            payment_note: "请于缴费截止日前到后勤服务大厅或通过校园一卡通缴费。".into(),
            ..BillingSettings::default()
        }
    }

    #[test]
    fn the_sample_adds_up() {
        let s = sample();
        for l in &s.lines {
            assert_eq!(l.amount, cents(l.quantity * l.price));
        }
        assert_eq!(crate::billing::statement::total(&s.lines), s.total);
    }

    #[test]
    fn writes_a_zip_package() {
        let mut second = sample();
        second.tenant = "shop/7:北门".into();
        second.free_quota = None;
        second.replaces = None;
        second.paid = dec!(100);
        second.late_fee = dec!(1.50);
        let bytes = workbook(&[sample(), second], &settings()).unwrap();
        assert!(bytes.starts_with(b"PK"));
        assert!(workbook(&[], &settings()).unwrap().starts_with(b"PK"));
    }

    /// The workbook's text: every part of the package, unzipped.
    fn package_text(xlsx: &[u8]) -> String {
        let file = tempfile::Builder::new().suffix(".xlsx").tempfile().unwrap();
        std::fs::write(file.path(), xlsx).unwrap();
        let out = std::process::Command::new("unzip")
            .arg("-p")
            .arg(file.path())
            .output()
            .expect("unzip is needed");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn a_draft_sheet_starts_by_saying_it_is_not_issued() {
        let mut draft = sample();
        draft.status = Status::Draft;
        let text = package_text(&workbook(&[draft], &settings()).unwrap());
        assert!(text.contains(DRAFT_BANNER), "{text}");
        let issued = package_text(&workbook(&[sample()], &settings()).unwrap());
        assert!(!issued.contains("DRAFT") && !issued.contains("未开具"));
    }

    #[test]
    fn a_held_sheet_says_why_and_shows_the_arrears() {
        use crate::billing::review::{Hold, HoldKind};
        let mut held = sample();
        held.status = Status::NeedsReview;
        held.arrears = dec!(500);
        held.meters[0].data.interpolated = dec!(10);
        held.holds = vec![Hold {
            meter: "E-301".into(),
            kind: HoldKind::Missing,
            reason: "E-301: 6 小时无数据".into(),
            reason_en: String::new(),
        }];
        let text = package_text(&workbook(&[held], &settings()).unwrap());
        for want in [
            "数据复核",
            "E-301: 6 小时无数据",
            "待财务复核",
            "上期欠费(元)",
            "插值 100%",
        ] {
            assert!(text.contains(want), "{want}: {text}");
        }
    }

    #[test]
    fn two_tenants_with_the_same_cleaned_id_get_two_sheets() {
        let mut a = sample();
        a.tenant = "a/b".into();
        let mut b = sample();
        b.tenant = "A:B".into();
        assert!(workbook(&[a, b], &settings()).is_ok());
    }

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let mut taken = vec![SUMMARY.to_string()];
        assert_eq!(sheet_name("shop/7:north", &mut taken), "shop_7_north");
        assert_eq!(sheet_name("shop:7/north", &mut taken), "shop_7_north~2");
        assert_eq!(sheet_name("SHOP_7_NORTH", &mut taken), "SHOP_7_NORTH~3");
        assert_eq!(sheet_name("[a]*?\\", &mut taken), "_a____");
        assert_eq!(sheet_name("'quoted'", &mut taken), "quoted");
        assert_eq!(sheet_name("汇总", &mut taken), "汇总~2");
        assert_eq!(sheet_name("history", &mut taken), "history~2");
        assert_eq!(sheet_name("", &mut taken), "商户");

        let long = "x".repeat(40);
        let first = sheet_name(&long, &mut taken);
        assert_eq!(first, "x".repeat(31));
        let second = sheet_name(&long, &mut taken);
        assert_eq!(second, format!("{}~2", "x".repeat(29)));
        let cjk = "学".repeat(40);
        assert_eq!(sheet_name(&cjk, &mut taken).chars().count(), 31);

        for name in &taken {
            rust_xlsxwriter::check_sheet_name(name).unwrap();
        }
        let mut lower: Vec<String> = taken.iter().map(|t| t.to_lowercase()).collect();
        lower.sort();
        lower.dedup();
        assert_eq!(lower.len(), taken.len());
    }
}
