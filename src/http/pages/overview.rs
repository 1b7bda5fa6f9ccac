//! `GET /`: the campus at a glance (live power and meter status refreshed every 5 s, today and
//! this month against yesterday and the quotas, the top consumers, open alerts).

use maud::{Markup, PreEscaped, html};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::layout::{Lang, Page, status_class, status_label};
use crate::energy::category::ELECTRICITY;
use crate::http::handlers::meters::{MeterView, view};
use crate::ingest::MeterStatus;
use crate::report::html::number;
use crate::rules::alert::Severity;

/// The rate shown in the table (kW for electricity, m³/h for water) and the register.
fn key_values(v: &MeterView) -> (Option<f64>, Option<(f64, &'static str)>) {
    let rate = v
        .values
        .get("power_kw")
        .or(v.values.get("flow_m3h"))
        .copied();
    let register = [
        ("energy_import_kwh", "kWh"),
        ("water_m3", "m³"),
        ("gas_m3", "m³"),
        ("heat_gj", "GJ"),
    ]
    .iter()
    .find_map(|(q, u)| v.values.get(q).map(|x| (*x, *u)));
    (rate, register)
}

fn category_name(code: &str, lang: Lang) -> &'static str {
    crate::energy::category::category(code).map_or("", |c| lang.t(c.name_zh, c.name_en))
}

/// Time of day for today's values, date and time for older ones (a meter read by hand).
fn seen(t: chrono::DateTime<chrono::Utc>, tz: chrono_tz::Tz) -> String {
    let local = t.with_timezone(&tz);
    if chrono::Utc::now() - t < chrono::Duration::hours(24) {
        local.format("%H:%M:%S").to_string()
    } else {
        local.format("%Y-%m-%d %H:%M").to_string()
    }
}

const SCRIPT: &str = include_str!("../assets/overview.js");

/// `GET /`: the campus at a glance.
pub async fn page(page: Page) -> Markup {
    let (state, lang) = (&page.state, page.lang);
    let t = |zh, en| lang.t(zh, en);
    let views: Vec<MeterView> = state.site.meters.iter().map(|m| view(state, m)).collect();
    // Open alerts by severity (critical, warning, info); none shown when they cannot be read.
    let store = state.store.clone();
    let open = tokio::task::spawn_blocking(move || store.reader().and_then(|r| r.alerts(None)))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let count = |s: Severity| open.iter().filter(|a| a.severity == s).count();
    let (critical, warning) = (count(Severity::Critical), count(Severity::Warning));
    let figures = state.overview.get(state).await;
    if let Err(e) = &figures {
        tracing::warn!(error = ?e, "overview figures not computed");
    }
    let figures = figures.ok();
    let online = views
        .iter()
        .filter(|v| v.status == MeterStatus::Online)
        .count();
    let total_power: f64 = views
        .iter()
        .filter(|v| v.category == ELECTRICITY)
        .filter_map(|v| {
            v.values
                .get("power_kw")
                .map(|p| p * v.multiplier.parse::<f64>().unwrap_or(1.0))
        })
        .sum();
    let statuses = format!(
        "const TZ='{}';const STATUS={{waiting:'{}',online:'{}',offline:'{}',error:'{}',manual:'{}'}};const CLS={{waiting:'neutral',online:'ok',offline:'bad',error:'bad',manual:'neutral'}};",
        state.site.timezone.name(),
        status_label(MeterStatus::Waiting, lang),
        status_label(MeterStatus::Online, lang),
        status_label(MeterStatus::Offline, lang),
        status_label(MeterStatus::Error, lang),
        status_label(MeterStatus::Manual, lang),
    );
    let ranking = figures
        .as_ref()
        .filter(|o| !o.top_units.is_empty())
        .map(|o| {
            let title = t("本月用电排名 (kWh)", "Electricity this month by unit (kWh)");
            let items: Vec<(String, f64)> = o
                .top_units
                .iter()
                .map(|u| (u.name.clone(), u.kwh.to_f64().unwrap_or(f64::NAN)))
                .collect();
            let height = 80 + 36 * u32::try_from(items.len()).unwrap_or(10);
            crate::chart::Chart::new(title, "kWh")
                .size(640, height)
                .ranking(&items)
                .map(|b| PreEscaped(String::from_utf8_lossy(&b).into_owned()))
        });
    let body = html! {
        div.cards {
            @if let Some(o) = &figures {
                div.card #today {
                    div { (t("今日用电 (kWh)", "Electricity today (kWh)")) }
                    div.v { (number(o.today_kwh, 0)) }
                    small {
                        (t("较昨日同时段", "vs yesterday by now")) " "
                        @match o.change_percent {
                            Some(c) => span class=(if c > Decimal::TEN { "bad" } else if c < Decimal::ZERO { "ok" } else { "" }) { @if c > Decimal::ZERO { "+" } (number(c, 1)) "%" },
                            None => "—",
                        }
                    }
                }
                div.card { div { (t("昨日用电 (kWh)", "Yesterday (kWh)")) } div.v { (number(o.yesterday_kwh, 0)) } }
                div.card #month { div { (t("本月累计 (kWh)", "This month (kWh)")) } div.v { (number(o.month_kwh, 0)) } }
            }
            div.card { div { (t("当前总功率 (kW)", "Total power (kW)")) } div.v #power { (format!("{total_power:.1}")) } }
            div.card { div { (t("在线表计", "Meters online")) } div.v { span #online { (online) } " / " (views.len()) } }
            a.card href="/alerts" style="text-decoration:none;color:inherit" {
                div { (t("未解决告警", "Open alerts")) }
                div.v { span.bad { (critical) } " / " (warning) }
                small { (t("严重 / 警告", "critical / warning")) }
            }
        }
        @if let Some(o) = &figures {
            div.grid {
                section.panel #quotas {
                    h2 { (t("本月定额执行", "Quotas this month")) }
                    table {
                        tr { th { (t("单位", "Unit")) } th { (t("品种", "Category")) } th.num { (t("本月定额", "Allowance")) } th.num { (t("已用", "Used")) } th.num { (t("预计月末", "Projected")) } th.num { "%" } th { (t("状态", "Status")) } }
                        @for x in &o.quotas {
                            @let (zh, en) = crate::report::monthly::category_label(&x.category);
                            tr {
                                td { a href=(format!("/units/{}", x.unit)) { (state.site.unit(&x.unit).map_or(x.unit.as_str(), |u| u.name.as_str())) } }
                                td { (t(zh, en)) }
                                td.num { (number(x.allocation, 0)) }
                                td.num { (number(x.used, 0)) }
                                td.num { (number(x.projected, 0)) }
                                td.num { (x.projected_percent.map(|p| number(p, 0)).unwrap_or_else(|| "—".into())) }
                                td class=(x.status.class()) { (t(x.status.label_zh(), x.status.label_en())) }
                            }
                        }
                    }
                    @if o.quotas.is_empty() { p.muted { (t("未设定额", "No quotas set")) } }
                }
                section.panel #ranking {
                    h2 { (t("用电大户", "Top consumers")) }
                    @match &ranking {
                        Some(Ok(svg)) => (svg),
                        Some(Err(e)) => p.muted { (e.to_string()) },
                        None => p.muted { (t("本月尚无数据", "No data this month yet")) },
                    }
                    small { (t("统计至", "As of")) " " (o.as_of.with_timezone(&state.site.timezone).format("%H:%M")) }
                }
            }
        } @else {
            p.muted { (t("今日及本月数据暂不可用，见服务日志。", "Today's and this month's figures are not available; see the server log.")) }
        }
        table {
            thead { tr {
                th { (t("表计", "Meter")) }
                th { (t("编号", "ID")) }
                th { (t("分类分项", "Category")) }
                th { (t("倍率", "Multiplier")) }
                th { (t("状态", "Status")) }
                th { (t("最后通信", "Last seen")) }
                th.num { (t("功率 kW / 流量 m³/h", "Power kW / flow m³/h")) }
                th.num { (t("表底读数", "Register")) }
            } }
            tbody {
                @for unit in &state.site.units {
                    @let rows: Vec<&MeterView> = views.iter().filter(|v| v.unit == unit.id).collect();
                    @if !rows.is_empty() {
                        tr.group { td colspan="8" { a href=(format!("/units/{}", unit.id)) { (unit.name) } } }
                        @for v in rows {
                            @let (rate, register) = key_values(v);
                            @let mult: f64 = v.multiplier.parse().unwrap_or(1.0);
                            tr id=(format!("m-{}", v.id)) {
                                td { a href=(format!("/meters/{}", v.id)) { (v.name) } }
                                td { small { (v.id) } }
                                td { (v.category) " " (category_name(&v.category, lang)) }
                                td.num { (v.multiplier) }
                                td { span class=(format!("st {}", status_class(v.status))) title=(v.status_detail.clone().unwrap_or_default()) { (status_label(v.status, lang)) } }
                                td.seen { (v.last_seen.map(|t| seen(t, state.site.timezone)).unwrap_or_else(|| "—".into())) }
                                td.num.rate { (rate.map(|r| format!("{:.2}", if v.values.contains_key("power_kw") { r * mult } else { r })).unwrap_or_else(|| "—".into())) }
                                td.num.reg { (register.map(|(x, u)| format!("{x:.2} {u}")).unwrap_or_else(|| "—".into())) }
                            }
                        }
                    }
                }
            }
        }
        p { small { (t("功率为一次侧数值（已乘倍率）；表底读数为表计显示值。每 5 秒刷新。", "Power is primary-side (multiplier applied); registers are as the meter shows them. Refreshes every 5 s.")) } }
        script { (PreEscaped(statuses)) (PreEscaped(SCRIPT)) }
    };
    page.render(t("能耗监测平台", "Energy monitoring"), body)
}
