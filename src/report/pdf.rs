//! The monthly report as a printable A4 PDF in Chinese: cover, summary, units, quotas, ratings
//! with each item's reason, alerts, and the charts as images.

use super::html::number;
use super::monthly::MonthlyReport;
use crate::energy::category::{ELECTRICITY, WATER};
use crate::render::font::Metrics;
use crate::render::pdf::{Flow, column};
use crate::rules::alert::Status as AlertStatus;
use rust_decimal::Decimal;

/// A chart as a PNG, with its caption and height / width.
pub struct PngFigure {
    pub caption: String,
    pub png: Vec<u8>,
    pub aspect: f32,
}

fn opt(d: Option<Decimal>, dp: u32) -> String {
    d.map_or_else(|| "—".into(), |d| number(d, dp))
}

fn percent(d: Option<Decimal>) -> String {
    d.map_or_else(
        || "—".into(),
        |d| {
            format!(
                "{}{}%",
                if d > Decimal::ZERO { "+" } else { "" },
                number(d, 1)
            )
        },
    )
}

pub fn document(r: &MonthlyReport, figures: Vec<PngFigure>) -> Result<Vec<u8>, String> {
    let m = Metrics::cjk()?;
    let mut f = Flow::new(&m);
    // Cover.
    f.space(220.0);
    f.centred(16.0, &r.site, false);
    f.space(12.0);
    f.centred(28.0, "节能工作月报", true);
    f.space(12.0);
    f.centred(18.0, &r.month, false);
    f.space(260.0);
    f.centred(
        10.0,
        &format!("生成时间 {} · jieneng", r.generated_local),
        false,
    );
    f.new_page();

    if let Some(o) = r.units.first() {
        f.heading("一、总体情况");
        f.paragraph(
            &format!(
                "本月综合能耗 {} kgce，去年同月 {} kgce，同比 {}；碳排放 {} kg CO₂；人均综合能耗 {} kgce/人，单位建筑面积能耗 {} kgce/m²，人均用水 {} m³/人。",
                number(o.kgce, 0),
                number(o.last_year_kgce, 0),
                percent(o.change_percent),
                number(o.co2_kg, 0),
                opt(o.kgce_per_person, 2),
                opt(o.kgce_per_m2, 3),
                opt(o.water_m3_per_person, 2),
            ),
            10.5,
        );
        let rows: Vec<Vec<String>> = o
            .categories
            .iter()
            .map(|c| {
                vec![
                    c.name_zh.to_string(),
                    number(c.consumption, 2),
                    c.unit_of_measure.to_string(),
                    number(c.kgce, 1),
                    number(c.co2_kg, 1),
                ]
            })
            .collect();
        f.table(
            &[
                column("能源品种", 135.0, false),
                column("用量", 110.0, true),
                column("单位", 50.0, false),
                column("折标煤 (kgce)", 100.0, true),
                column("碳排放 (kg)", 100.0, true),
            ],
            &rows,
            9.5,
        );
        if !r.electricity_by_use.is_empty() {
            let rows: Vec<Vec<String>> = r
                .electricity_by_use
                .iter()
                .map(|(code, name, v)| vec![format!("{name} ({code})"), number(*v, 0)])
                .collect();
            f.table(
                &[column("用电分项", 245.0, false), column("kWh", 250.0, true)],
                &rows,
                9.5,
            );
        }
    }

    f.heading("二、各单位能耗");
    let rows: Vec<Vec<String>> = r
        .units
        .iter()
        .map(|u| {
            let of = |code: &str| {
                u.categories
                    .iter()
                    .find(|c| c.category == code)
                    .map(|c| c.consumption)
            };
            vec![
                format!("{}{}", "  ".repeat(u.level), u.name),
                opt(of(ELECTRICITY), 0),
                opt(of(WATER), 1),
                number(u.kgce, 0),
                number(u.last_year_kgce, 0),
                percent(u.change_percent),
                opt(u.kgce_per_person, 2),
                opt(u.kgce_per_m2, 3),
            ]
        })
        .collect();
    f.table(
        &[
            column("单位", 105.0, false),
            column("电 kWh", 62.0, true),
            column("水 m³", 52.0, true),
            column("kgce", 55.0, true),
            column("去年同月", 55.0, true),
            column("同比", 48.0, true),
            column("人均", 55.0, true),
            column("每m²", 63.0, true),
        ],
        &rows,
        8.5,
    );

    f.heading("三、定额执行");
    let rows: Vec<Vec<String>> = r
        .quotas
        .iter()
        .map(|q| {
            let name = r
                .units
                .iter()
                .find(|u| u.unit == q.unit)
                .map_or(q.unit.as_str(), |u| u.name.as_str());
            let status = q.status.label_zh();
            vec![
                name.to_string(),
                super::monthly::category_label(&q.category).0.to_string(),
                number(q.allocation, 0),
                number(q.used, 0),
                number(q.projected, 0),
                opt(q.projected_percent, 1),
                status.to_string(),
            ]
        })
        .collect();
    f.table(
        &[
            column("单位", 90.0, false),
            column("品种", 70.0, false),
            column("本月定额", 75.0, true),
            column("实际", 75.0, true),
            column("预计月末", 75.0, true),
            column("%", 50.0, true),
            column("状态", 60.0, false),
        ],
        &rows,
        9.0,
    );

    f.heading("四、考核评价");
    let rows: Vec<Vec<String>> = r
        .ratings
        .iter()
        .map(|u| {
            vec![
                u.rank.to_string(),
                u.unit_name.clone(),
                number(u.score, 2),
                u.grade.clone(),
            ]
        })
        .collect();
    f.table(
        &[
            column("排名", 50.0, true),
            column("单位", 220.0, false),
            column("得分", 100.0, true),
            column("等级", 125.0, false),
        ],
        &rows,
        9.5,
    );
    for u in &r.ratings {
        f.keep(120.0);
        f.paragraph(
            &format!(
                "{}. {} — {} 分, {}",
                u.rank,
                u.unit_name,
                number(u.score, 2),
                u.grade
            ),
            10.5,
        );
        let rows: Vec<Vec<String>> = u
            .items
            .iter()
            .map(|i| {
                vec![
                    i.name_zh.to_string(),
                    opt(i.input, 2),
                    opt(i.score, 2),
                    opt(i.effective_weight, 2),
                    i.explanation.clone(),
                ]
            })
            .collect();
        f.table(
            &[
                column("考核项", 95.0, false),
                column("输入", 50.0, true),
                column("得分", 45.0, true),
                column("权重", 45.0, true),
                column("依据", 260.0, false),
            ],
            &rows,
            8.0,
        );
    }

    f.heading("五、本月告警");
    if r.alerts.is_empty() {
        f.paragraph("本月无告警。", 10.5);
    } else {
        let rows: Vec<Vec<String>> = r
            .alerts
            .iter()
            .map(|a| {
                let status = match a.status {
                    AlertStatus::Open => "未处理",
                    AlertStatus::Acknowledged => "已确认",
                    AlertStatus::Resolved => "已解决",
                };
                vec![
                    a.kind.label_zh().to_string(),
                    a.subject.clone(),
                    a.severity.label_zh().to_string(),
                    a.first_seen.format("%m-%d %H:%M").to_string(),
                    status.to_string(),
                    a.message_zh.clone(),
                ]
            })
            .collect();
        f.table(
            &[
                column("类型", 70.0, false),
                column("对象", 85.0, false),
                column("级别", 35.0, false),
                column("首次", 60.0, false),
                column("状态", 45.0, false),
                column("说明", 200.0, false),
            ],
            &rows,
            8.0,
        );
    }

    if !figures.is_empty() {
        f.heading("六、图表");
        let width = f.width();
        for fig in figures {
            f.figure(fig.png, width, fig.aspect, &fig.caption);
        }
    }
    f.paragraph(
        "数据来源: 表计读数经能耗台账计算; 折标系数与碳排放因子见系统配置。",
        8.5,
    );
    let title = format!("{} 节能工作月报 {}", r.site, r.month);
    let foot = format!("{} · 节能工作月报 {}", r.site, r.month);
    f.finish(&title, move |page, pages| {
        format!("{foot} · 第 {page} 页 / 共 {pages} 页")
    })
}
