//! The monthly report as one self-contained HTML page (no external assets), laid out to
//! print on A4: cover, summary, units, quotas, ratings with their reasons, alerts, charts.

use chrono::Datelike;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use rust_decimal::Decimal;

use super::monthly::MonthlyReport;
use crate::energy::category::{ELECTRICITY, WATER};
use crate::rules::alert::Status as AlertStatus;

/// Chinese or English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn parse(s: Option<&str>) -> Lang {
        if s == Some("en") { Lang::En } else { Lang::Zh }
    }
    pub fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// A chart to place in the report: its title and SVG markup.
pub struct Figure {
    pub title: String,
    pub svg: String,
}

/// Thousands separators and at most `dp` decimals (trailing zeros dropped).
pub fn number(d: Decimal, dp: u32) -> String {
    grouped(crate::decimal::round_half_up(d, dp).normalize())
}

/// Yuan with both fen places, grouped: 5,956.10, 0.00.
pub fn money(d: Decimal) -> String {
    let mut d = crate::decimal::cents(d);
    d.rescale(2);
    grouped(d)
}

fn grouped(d: Decimal) -> String {
    let text = d.abs().to_string();
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if d.is_sign_negative() && !d.is_zero() {
        "-"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

fn opt(d: Option<Decimal>, dp: u32) -> String {
    d.map_or_else(|| "—".to_string(), |d| number(d, dp))
}

fn percent(d: Option<Decimal>) -> String {
    d.map_or_else(
        || "—".to_string(),
        |d| {
            format!(
                "{}{}%",
                if d > Decimal::ZERO { "+" } else { "" },
                number(d, 1)
            )
        },
    )
}

const STYLE: &str = r#"
body{font-family:"WenQuanYi Micro Hei","Microsoft YaHei","PingFang SC",sans-serif;color:#1d2a24;margin:0;background:#fff;font-size:10.5pt}
main{max-width:190mm;margin:0 auto;padding:10mm 0}
h1{font-size:22pt;margin:0 0 4mm}h2{font-size:14pt;border-bottom:2px solid #1e6b52;padding-bottom:1.5mm;margin:9mm 0 3mm}
h3{font-size:11pt;margin:5mm 0 2mm}
.cover{height:250mm;display:flex;flex-direction:column;justify-content:center;text-align:center;page-break-after:always}
.cover .site{font-size:16pt;color:#4a5a53}.cover .month{font-size:18pt;margin-top:6mm}.cover .gen{margin-top:40mm;color:#6b7a73}
table{border-collapse:collapse;width:100%;margin:2mm 0;font-size:9.5pt}
th,td{border:1px solid #c9d3ce;padding:1.2mm 1.8mm;text-align:left;vertical-align:top}
th{background:#eef3f0}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:grid;grid-template-columns:repeat(3,1fr);gap:3mm}
.card{border:1px solid #c9d3ce;border-radius:2mm;padding:3mm}.card .v{font-size:16pt;font-weight:bold}.card .k{color:#4a5a53;font-size:9pt}
.green{color:#1e6b52}.yellow{color:#a86b00}.red{color:#b3261e}
.grade{font-weight:bold}.why{color:#4a5a53;font-size:8.5pt}
figure{margin:3mm 0;page-break-inside:avoid}figure svg{width:100%;height:auto}figcaption{font-size:9pt;color:#4a5a53}
section{page-break-inside:auto}tr{page-break-inside:avoid}
@page{size:A4;margin:12mm}
@media print{main{padding:0}}
"#;

pub fn render(r: &MonthlyReport, figures: &[Figure], lang: Lang) -> Markup {
    let t = |zh, en| lang.t(zh, en);
    let org = r.units.first();
    html! {
        (DOCTYPE)
        html lang=(t("zh-CN", "en")) {
            head {
                meta charset="utf-8";
                title { (r.site) " · " (t("节能工作月报", "Monthly energy report")) " " (r.month) }
                style { (PreEscaped(STYLE)) }
            }
            body { main {
                div.cover {
                    div.site { (r.site) }
                    h1 { (t("节能工作月报", "Monthly energy-saving report")) }
                    div.month { (r.month) }
                    div.gen { (t("生成时间", "Generated")) " " (r.generated_local) " · jieneng" }
                }
                @if let Some(o) = org {
                    section {
                        h2 { (t("一、总体情况", "1. Summary")) }
                        div.cards {
                            div.card { div.k { (t("综合能耗 (kgce)", "Total energy (kgce)")) } div.v { (number(o.kgce, 0)) } }
                            div.card { div.k { (t("同比", "vs same month last year")) } div.v { (percent(o.change_percent)) } div.k { (t("去年同月 ", "last year ")) (number(o.last_year_kgce, 0)) " kgce" } }
                            div.card { div.k { (t("碳排放 (kg CO₂)", "CO₂ (kg)")) } div.v { (number(o.co2_kg, 0)) } }
                            div.card { div.k { (t("人均综合能耗 (kgce/人)", "Per person (kgce)")) } div.v { (opt(o.kgce_per_person, 2)) } }
                            div.card { div.k { (t("单位建筑面积能耗 (kgce/m²)", "Per m² (kgce)")) } div.v { (opt(o.kgce_per_m2, 3)) } }
                            div.card { div.k { (t("人均用水 (m³/人)", "Water per person (m³)")) } div.v { (opt(o.water_m3_per_person, 2)) } }
                        }
                        table {
                            tr { th { (t("能源品种", "Energy")) } th.n { (t("用量", "Use")) } th { (t("单位", "Unit")) } th.n { "kgce" } th.n { "kg CO₂" } }
                            @for c in &o.categories {
                                tr { td { (t(c.name_zh, c.name_en)) } td.n { (number(c.consumption, 2)) } td { (c.unit_of_measure) } td.n { (number(c.kgce, 1)) } td.n { (number(c.co2_kg, 1)) } }
                            }
                        }
                        @if !r.electricity_by_use.is_empty() {
                            h3 { (t("用电分项 (kWh)", "Electricity by use (kWh)")) }
                            table { tr { @for (_, name, _) in &r.electricity_by_use { th.n { (name) } } }
                                    tr { @for (_, _, v) in &r.electricity_by_use { td.n { (number(*v, 0)) } } } }
                        }
                    }
                }
                section {
                    h2 { (t("二、各单位能耗", "2. Units")) }
                    table {
                        tr { th { (t("单位", "Unit")) } th.n { (t("电 (kWh)", "Electricity (kWh)")) } th.n { (t("水 (m³)", "Water (m³)")) } th.n { (t("综合能耗 (kgce)", "kgce")) } th.n { (t("去年同月", "Last year")) } th.n { (t("同比", "Change")) } th.n { (t("人均", "Per person")) } th.n { (t("每平方米", "Per m²")) } }
                        @for u in &r.units {
                            @let of = |code: &str| u.categories.iter().find(|c| c.category == code).map(|c| c.consumption);
                            tr {
                                td { (PreEscaped("&nbsp;&nbsp;".repeat(u.level))) (u.name) }
                                td.n { (opt(of(ELECTRICITY), 0)) } td.n { (opt(of(WATER), 1)) }
                                td.n { (number(u.kgce, 0)) } td.n { (number(u.last_year_kgce, 0)) } td.n { (percent(u.change_percent)) }
                                td.n { (opt(u.kgce_per_person, 2)) } td.n { (opt(u.kgce_per_m2, 3)) }
                            }
                        }
                    }
                }
                section {
                    h2 { (t("三、定额执行", "3. Quotas")) }
                    table {
                        tr { th { (t("单位", "Unit")) } th { (t("品种", "Category")) } th.n { (t("本月定额", "Allowance")) } th.n { (t("实际", "Used")) } th.n { (t("预计月末", "Projected")) } th.n { "%" } th { (t("状态", "Status")) } }
                        @for q in &r.quotas {
                            @let name = r.units.iter().find(|u| u.unit == q.unit).map_or(q.unit.as_str(), |u| u.name.as_str());
                            @let (class, label) = (q.status.class(), t(q.status.label_zh(), q.status.label_en()));
                            tr { td { (name) } td { @let (zh, en) = super::monthly::category_label(&q.category); (t(zh, en)) } td.n { (number(q.allocation, 0)) } td.n { (number(q.used, 0)) } td.n { (number(q.projected, 0)) } td.n { (opt(q.projected_percent, 1)) } td class=(class) { (label) } }
                        }
                    }
                }
                section {
                    h2 { (t("四、考核评价", "4. Ratings")) }
                    table {
                        tr { th.n { (t("排名", "Rank")) } th { (t("单位", "Unit")) } th.n { (t("得分", "Score")) } th { (t("等级", "Grade")) } }
                        @for u in &r.ratings {
                            tr { td.n { (u.rank) } td { (u.unit_name) } td.n { (number(u.score, 2)) } td.grade { (u.grade) } }
                        }
                    }
                    @for u in &r.ratings {
                        h3 { (u.rank) ". " (u.unit_name) " — " (number(u.score, 2)) " " (u.grade) }
                        table {
                            tr { th { (t("考核项", "Item")) } th.n { (t("输入", "Input")) } th.n { (t("得分", "Score")) } th.n { (t("权重", "Weight")) } th { (t("依据", "Why")) } }
                            @for i in &u.items {
                                tr { td { (t(i.name_zh, i.name_en)) } td.n { (opt(i.input, 2)) } td.n { (opt(i.score, 2)) } td.n { (opt(i.effective_weight, 2)) } td.why { (t(&i.explanation, &i.explanation_en)) } }
                            }
                        }
                    }
                }
                section {
                    h2 { (t("五、本月告警", "5. Alerts this month")) }
                    @if r.alerts.is_empty() { p { (t("本月无告警。", "No alerts this month.")) } }
                    @else {
                        table {
                            tr { th { (t("类型", "Kind")) } th { (t("对象", "Subject")) } th { (t("级别", "Severity")) } th { (t("首次", "First")) } th { (t("最近", "Last")) } th { (t("状态", "Status")) } th { (t("说明", "Message")) } }
                            @for a in &r.alerts {
                                @let status = match a.status { AlertStatus::Open => t("未处理", "open"), AlertStatus::Acknowledged => t("已确认", "acknowledged"), AlertStatus::Resolved => t("已解决", "resolved") };
                                tr { td { (t(a.kind.label_zh(), a.kind.label_en())) } td { (a.subject) } td { (t(a.severity.label_zh(), a.severity.label_en())) }
                                     td { (a.first_seen.format("%m-%d %H:%M")) } td { (a.last_seen.format("%m-%d %H:%M")) } td { (status) } td.why { (t(&a.message_zh, &a.message_en)) } }
                            }
                        }
                    }
                }
                @if !figures.is_empty() {
                    section {
                        h2 { (t("六、图表", "6. Charts")) }
                        @for f in figures { figure { (PreEscaped(&f.svg)) figcaption { (f.title) } } }
                    }
                }
                p.why { (t("数据来源: 表计读数经能耗台账计算; 折标系数与碳排放因子见系统配置。", "Source: meter readings through the energy ledger; coefficients as configured.")) " " (r.month) " · " (r.generated_at.year()) }
            } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_and_trimmed() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(number(d("1234567.891"), 2), "1,234,567.89");
        assert_eq!(number(d("-1234.5"), 0), "-1,235");
        assert_eq!(number(d("12.50"), 2), "12.5");
        assert_eq!(number(d("0"), 2), "0");
        assert_eq!(percent(Some(d("3.456"))), "+3.5%");
    }

    #[test]
    fn money_keeps_both_fen_places() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(money(d("5956.1")), "5,956.10");
        assert_eq!(money(d("0")), "0.00");
        assert_eq!(money(d("-1234.565")), "-1,234.57");
        assert_eq!(money(d("73226.46")), "73,226.46");
    }
}
