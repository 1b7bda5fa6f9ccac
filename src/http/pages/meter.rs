//! `GET /meters/{id}`: a meter's live values (over SSE), its last 24 hours, communication
//! health, latest register readings with their quality, and its audit trail.

use axum::extract::Path;
use chrono::{Duration, Utc};
use maud::{Markup, PreEscaped, html};

use super::layout::{Page, f, status_class, status_label, svg};
use crate::chart::{Chart, Series};
use crate::energy::ledger::{Ledger, Step, register_quantity};
use crate::http::error::AppError;
use crate::quantity::Quantity;
use crate::reading::ReadingQuality;
use crate::site::MeterSource;

const METER_SCRIPT: &str = include_str!("../assets/meter.js");

/// `GET /meters/{id}`.
pub async fn page(page: Page, Path(id): Path<String>) -> Result<Markup, AppError> {
    let (state, lang) = (&page.state, page.lang);
    let t = |zh, en| lang.t(zh, en);
    let meter = state.meter(&id)?.clone();
    let live = state.live.get(&id);
    let status = crate::status::status(&meter, live.as_ref(), Utc::now());
    let connection = match &meter.source {
        MeterSource::Modbus { connection, .. }
        | MeterSource::Line { connection, .. }
        | MeterSource::Mqtt { connection, .. } => Some(connection.clone()),
        MeterSource::Manual { .. } => None,
    };
    let health = connection
        .as_ref()
        .map(|c| state.health.device_health(&id, c));
    let (site, store) = (state.site.clone(), state.store.clone());
    let m2 = meter.clone();
    let (chart, readings, audit) =
        tokio::task::spawn_blocking(move || -> Result<_, crate::store::StoreError> {
            let reader = store.reader()?;
            let ledger = Ledger::new(&reader, &site);
            let tz = site.timezone;
            let now = Utc::now();
            let quantity = register_quantity(&m2);
            let power = reader.readings(
                &m2.id,
                Quantity::named("power_kw"),
                now - Duration::hours(24),
                now,
            )?;
            let (series, unit) = if power.is_empty() {
                let from = now - Duration::hours(24);
                let from =
                    from - Duration::minutes(i64::from(chrono::Timelike::minute(&from) % 15));
                let rows = ledger.meter(&m2, quantity, from, now, Step::Quarter)?;
                let per_hour = rows
                    .iter()
                    .map(|r| {
                        (
                            r.start.with_timezone(&tz).naive_local(),
                            f(r.consumption) * 4.0,
                        )
                    })
                    .collect();
                (per_hour, if quantity.unit() == "kWh" { "kW" } else { "/h" })
            } else {
                let mult = f(m2.multiplier);
                (
                    power
                        .iter()
                        .map(|r| (r.time.with_timezone(&tz).naive_local(), r.value * mult))
                        .collect(),
                    "kW",
                )
            };
            let title = lang.t("近24小时", "Last 24 hours").to_string();
            let chart =
                svg(Chart::new(&title, unit).load_curve(&Series::new(title.clone(), series), None));
            let mut readings = reader.readings(&m2.id, quantity, now - Duration::days(2), now)?;
            readings.reverse();
            readings.truncate(24);
            let audit = reader.audit(Some(&m2.id), 20)?;
            Ok((chart, readings, audit))
        })
        .await??;
    let tz = state.site.timezone;
    let body = html! {
        div.cards {
            div.card { div { (t("状态", "Status")) } div.v { @if live.is_some() { span class=(status_class(status.status)) { (status_label(status.status, lang)) } } } small { (status.detail.clone().unwrap_or_default()) } }
            div.card { div { (t("倍率", "Multiplier")) } div.v { (meter.multiplier) } }
            div.card { div { (t("分类分项", "Category")) } div.v { (meter.category.code) } small { (t(meter.category.name_zh, meter.category.name_en)) } }
            div.card { div { (t("最后通信", "Last seen")) } div.v { (live.as_ref().and_then(|l| l.last_seen).map(|s| s.with_timezone(&tz).format("%H:%M:%S").to_string()).unwrap_or_else(|| "—".into())) } }
        }
        div.grid {
            section.panel { h2 { (t("实时数据", "Live values")) } table {
                tr { th { (t("量", "Quantity")) } th.num { (t("值", "Value")) } th { (t("时间", "Time")) } }
                @if let Some(l) = &live { @for (q, v) in &l.values {
                    tr id=(format!("q-{}", q.name())) { td { (t(q.def().label_zh, q.def().label_en)) " " small { (q.unit()) } } td.num.v { (format!("{v:.3}")) } td.t { (l.value_times.get(q).map(|t| t.with_timezone(&tz).format("%H:%M:%S").to_string()).unwrap_or_default()) } }
                } }
            } }
            section.panel { h2 { (t("近24小时曲线", "Last 24 hours")) } (chart) }
            section.panel { h2 { (t("通信状况", "Communication")) }
                @if let Some(h) = &health { table {
                    tr { td { (t("连接", "Connection")) } td { (h.connection) } }
                    tr { td { (t("请求数", "Requests")) } td.num { (h.requests) } }
                    tr { td { (t("重试", "Retries")) } td.num { (h.retries) } }
                    tr { td { (t("错误", "Errors")) } td { @for (k, n) in &h.errors { (k) ": " (n) " " } } }
                    tr { td { (t("平均响应 (ms)", "Mean response (ms)")) } td.num { (h.response_ms_avg.map(|v| format!("{v:.0}")).unwrap_or_else(|| "—".into())) } }
                } } @else { p.muted { (t("人工抄表", "Read by hand")) } }
            }
            section.panel { h2 { (t("最近读数 (表底)", "Latest register readings")) } table {
                tr { th { (t("时间", "Time")) } th.num { (t("读数", "Reading")) } th { (t("质量", "Quality")) } }
                @for r in &readings { tr { td { (r.time.with_timezone(&tz).format("%m-%d %H:%M")) } td.num { (format!("{:.2}", r.value)) } td { (match r.quality { ReadingQuality::Measured => t("实测", "measured"), ReadingQuality::Manual => t("人工", "by hand"), ReadingQuality::Estimated => t("估算", "estimated") }) } } }
            } }
        }
        section.panel { h2 { (t("更正与事件 (审计记录)", "Corrections and events (audit log)")) } table {
            tr { th { (t("时间", "When")) } th { (t("人员", "Who")) } th { (t("操作", "Action")) } th { (t("说明", "Note")) } }
            @for a in &audit { tr { td { (a.at.with_timezone(&tz).format("%Y-%m-%d %H:%M")) } td { (a.who) } td { (a.action) } td { (a.note) } } }
        } }
        script { (PreEscaped(format!("const METER={};const TZ='{}';", serde_json::to_string(&id).unwrap_or_default(), state.site.timezone.name()))) (PreEscaped(METER_SCRIPT)) }
    };
    Ok(page.render(&meter.name, body))
}
