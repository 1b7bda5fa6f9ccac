//! The monthly report as an Excel workbook: a sheet each for the summary, units, quotas,
//! ratings (with every item and its reason) and alerts, numbers stored as numbers; the charts
//! as pictures on their own sheet.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{Format, Image, Workbook, Worksheet, XlsxError};

use super::monthly::MonthlyReport;
use super::pdf::PngFigure;
use crate::energy::category::{ELECTRICITY, WATER};
use crate::rules::alert::Status as AlertStatus;

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

struct Sheet<'a> {
    ws: &'a mut Worksheet,
    row: u32,
    bold: Format,
    number: Format,
}

impl Sheet<'_> {
    fn header(&mut self, titles: &[&str]) -> Result<(), XlsxError> {
        for (c, t) in titles.iter().enumerate() {
            self.ws
                .write_string_with_format(self.row, c as u16, *t, &self.bold)?;
        }
        self.row += 1;
        Ok(())
    }

    fn text(&mut self, col: u16, s: &str) -> Result<(), XlsxError> {
        self.ws.write_string(self.row, col, s)?;
        Ok(())
    }

    fn num(&mut self, col: u16, d: Option<Decimal>) -> Result<(), XlsxError> {
        if let Some(d) = d {
            self.ws
                .write_number_with_format(self.row, col, f(d), &self.number)?;
        }
        Ok(())
    }
}

fn sheet<'a>(wb: &'a mut Workbook, name: &str, widths: &[f64]) -> Result<Sheet<'a>, XlsxError> {
    let ws = wb.add_worksheet();
    ws.set_name(name)?;
    for (i, w) in widths.iter().enumerate() {
        ws.set_column_width(i as u16, *w)?;
    }
    Ok(Sheet {
        ws,
        row: 0,
        bold: Format::new().set_bold().set_background_color("EEF3F0"),
        number: Format::new().set_num_format("#,##0.00"),
    })
}

pub fn workbook(r: &MonthlyReport, figures: &[PngFigure]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    {
        let mut s = sheet(&mut wb, "概要", &[22.0, 16.0, 10.0, 16.0, 16.0])?;
        s.ws.write_string_with_format(
            0,
            0,
            format!("{} 节能工作月报 {}", r.site, r.month),
            &Format::new().set_bold().set_font_size(14),
        )?;
        s.row = 2;
        if let Some(o) = r.units.first() {
            for (label, value) in [
                ("综合能耗 (kgce)", Some(o.kgce)),
                ("去年同月 (kgce)", Some(o.last_year_kgce)),
                ("同比 (%)", o.change_percent),
                ("碳排放 (kg CO₂)", Some(o.co2_kg)),
                ("人均综合能耗 (kgce/人)", o.kgce_per_person),
                ("单位建筑面积能耗 (kgce/m²)", o.kgce_per_m2),
                ("人均用水 (m³/人)", o.water_m3_per_person),
            ] {
                s.text(0, label)?;
                s.num(1, value)?;
                s.row += 1;
            }
            s.row += 1;
            s.header(&["能源品种", "用量", "单位", "折标煤 (kgce)", "碳排放 (kg)"])?;
            for c in &o.categories {
                s.text(0, c.name_zh)?;
                s.num(1, Some(c.consumption))?;
                s.text(2, c.unit_of_measure)?;
                s.num(3, Some(c.kgce))?;
                s.num(4, Some(c.co2_kg))?;
                s.row += 1;
            }
            s.row += 1;
            s.header(&["用电分项", "kWh"])?;
            for (code, name, v) in &r.electricity_by_use {
                s.text(0, &format!("{name} ({code})"))?;
                s.num(1, Some(*v))?;
                s.row += 1;
            }
        }
    }
    {
        let mut s = sheet(
            &mut wb,
            "各单位",
            &[22.0, 14.0, 12.0, 12.0, 14.0, 14.0, 10.0, 12.0, 12.0, 12.0],
        )?;
        s.header(&[
            "单位",
            "编号",
            "电 (kWh)",
            "水 (m³)",
            "综合能耗 (kgce)",
            "去年同月 (kgce)",
            "同比 (%)",
            "人均 (kgce)",
            "每m² (kgce)",
            "碳排放 (kg)",
        ])?;
        for u in &r.units {
            let of = |code: &str| {
                u.categories
                    .iter()
                    .find(|c| c.category == code)
                    .map(|c| c.consumption)
            };
            s.text(0, &format!("{}{}", "  ".repeat(u.level), u.name))?;
            s.text(1, &u.unit)?;
            s.num(2, of(ELECTRICITY))?;
            s.num(3, of(WATER))?;
            s.num(4, Some(u.kgce))?;
            s.num(5, Some(u.last_year_kgce))?;
            s.num(6, u.change_percent)?;
            s.num(7, u.kgce_per_person)?;
            s.num(8, u.kgce_per_m2)?;
            s.num(9, Some(u.co2_kg))?;
            s.row += 1;
        }
    }
    {
        let mut s = sheet(&mut wb, "定额", &[20.0, 10.0, 14.0, 14.0, 14.0, 10.0, 10.0])?;
        s.header(&[
            "单位",
            "品种",
            "本月定额",
            "实际",
            "预计月末",
            "预计 (%)",
            "状态",
        ])?;
        for q in &r.quotas {
            let name = r
                .units
                .iter()
                .find(|u| u.unit == q.unit)
                .map_or(q.unit.as_str(), |u| u.name.as_str());
            s.text(0, name)?;
            s.text(1, super::monthly::category_label(&q.category).0)?;
            s.num(2, Some(q.allocation))?;
            s.num(3, Some(q.used))?;
            s.num(4, Some(q.projected))?;
            s.num(5, q.projected_percent)?;
            s.text(6, q.status.label_zh())?;
            s.row += 1;
        }
    }
    {
        let mut s = sheet(
            &mut wb,
            "考核评价",
            &[8.0, 20.0, 10.0, 10.0, 18.0, 10.0, 10.0, 10.0, 60.0],
        )?;
        s.header(&[
            "排名",
            "单位",
            "得分",
            "等级",
            "考核项",
            "输入",
            "得分",
            "权重",
            "依据",
        ])?;
        for u in &r.ratings {
            for (k, i) in u.items.iter().enumerate() {
                if k == 0 {
                    s.ws.write_number(s.row, 0, u.rank as f64)?;
                    s.text(1, &u.unit_name)?;
                    s.num(2, Some(u.score))?;
                    s.text(3, &u.grade)?;
                }
                s.text(4, i.name_zh)?;
                s.num(5, i.input)?;
                s.num(6, i.score)?;
                s.num(7, i.effective_weight)?;
                s.text(8, &i.explanation)?;
                s.row += 1;
            }
        }
    }
    {
        let mut s = sheet(&mut wb, "告警", &[14.0, 20.0, 8.0, 18.0, 18.0, 10.0, 60.0])?;
        s.header(&["类型", "对象", "级别", "首次", "最近", "状态", "说明"])?;
        for a in &r.alerts {
            s.text(0, a.kind.label_zh())?;
            s.text(1, &a.subject)?;
            s.text(2, a.severity.label_zh())?;
            s.text(3, &a.first_seen.format("%Y-%m-%d %H:%M UTC").to_string())?;
            s.text(4, &a.last_seen.format("%Y-%m-%d %H:%M UTC").to_string())?;
            s.text(
                5,
                match a.status {
                    AlertStatus::Open => "未处理",
                    AlertStatus::Acknowledged => "已确认",
                    AlertStatus::Resolved => "已解决",
                },
            )?;
            s.text(6, &a.message_zh)?;
            s.row += 1;
        }
    }
    if !figures.is_empty() {
        let ws = wb.add_worksheet();
        ws.set_name("图表")?;
        let mut row = 0;
        for fig in figures {
            ws.write_string(row, 0, &fig.caption)?;
            let image = Image::new_from_buffer(&fig.png)?
                .set_scale_width(0.5)
                .set_scale_height(0.5);
            ws.insert_image(row + 1, 0, &image)?;
            row += 2 + (fig.aspect * 800.0 * 0.5 / 20.0) as u32;
        }
    }
    wb.save_to_buffer()
}
