//! The pages behind the overview: a unit (load curve, daily bars against the quota, use by
//! category, year on year, day × hour heat map), a meter (live values over SSE, its 24 hours,
//! communication health, readings with quality, audit trail), alerts, ratings with the
//! monthly report, and billing for finance. Server-rendered; charts are inline SVG; the little
//! JavaScript there is has no dependencies.

use axum::Extension;
use axum::extract::{Path, Query, State};
use chrono::{Datelike, Duration, Months, NaiveDate, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;

use super::pages::{Lang, STYLE, status_class, status_label};
use crate::auth::Role;
use crate::chart::{Chart, Series, Stack};
use crate::energy::ledger::{Ledger, Step, register_quantity};
use crate::http::auth::Principal;
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::quantity::Quantity;
use crate::reading::ReadingQuality;
use crate::report::html::{money, number};
use crate::rules::alert::Status as AlertStatus;
use crate::site::MeterSource;
use crate::time::local_midnight;

#[derive(Deserialize, Default)]
pub struct PageQuery {
    lang: Option<String>,
    month: Option<String>,
}

fn lang(q: &PageQuery) -> Lang {
    if q.lang.as_deref() == Some("en") {
        Lang::En
    } else {
        Lang::Zh
    }
}

const EXTRA_STYLE: &str = r#"
nav{background:#163e6d;padding:6px 24px;display:flex;gap:18px;flex-wrap:wrap}
nav a{color:#e6f0ff;text-decoration:none;font-size:14px} nav a:hover{text-decoration:underline}
section.panel{background:#fff;border-radius:6px;padding:12px 16px;margin-bottom:16px;box-shadow:0 1px 2px #0001}
section.panel h2{font-size:16px;margin:0 0 8px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px}
svg{width:100%;height:auto}
button{padding:4px 10px;font-size:13px;cursor:pointer}
.muted{color:#6b778c}
.green{color:#1e6b52}.yellow{color:#a86b00;font-weight:600}.red{color:#b3261e;font-weight:600}
"#;

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(f64::NAN)
}

fn svg(bytes: Result<Vec<u8>, crate::chart::ChartError>) -> Markup {
    match bytes {
        Ok(b) => PreEscaped(String::from_utf8_lossy(&b).into_owned()),
        Err(e) => html! { p.muted { (e.to_string()) } },
    }
}

/// The frame of every page: header, navigation (billing only for finance and admins).
pub(crate) fn layout(
    state: &AppState,
    who: Option<&Principal>,
    lang: Lang,
    title: &str,
    body: Markup,
) -> Markup {
    let t = |zh, en| lang.t(zh, en);
    let finance = who.is_some_and(|p| matches!(p.user.role, Role::Finance | Role::Admin));
    let engineer = who.is_some_and(|p| matches!(p.user.role, Role::Engineer | Role::Admin));
    let suffix = if lang == Lang::En { "?lang=en" } else { "" };
    html! {
        (DOCTYPE)
        html lang=(t("zh-CN", "en")) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (state.site.name) }
                style { (PreEscaped(STYLE)) (PreEscaped(EXTRA_STYLE)) }
            }
            body {
                header {
                    h1 { (state.site.name) " · " (title) }
                    span {
                        @if let Some(p) = who { (p.user.display_name) " (" (t(p.user.role.name_zh(), p.user.role.name())) ") " }
                        // The switch keeps the page's other parameters (a report's month ...). `window.URL`:
                        // in an inline handler, a bare `URL` is `document.URL`, a string.
                        @if lang == Lang::Zh {
                            a href="?lang=en" onclick="event.preventDefault();const u=new window.URL(window.location.href);u.searchParams.set('lang','en');window.location.href=u.href" { "English" }
                        } @else {
                            a href="?" onclick="event.preventDefault();const u=new window.URL(window.location.href);u.searchParams.delete('lang');window.location.href=u.href" { "中文" }
                        }
                    }
                }
                nav {
                    a href=(format!("/{suffix}")) { (t("总览", "Overview")) }
                    @for u in state.site.units.iter().filter(|u| u.parent.is_none() || state.site.units.iter().any(|p| p.parent.is_none() && u.parent.as_deref() == Some(&p.id))) {
                        a href=(format!("/units/{}{suffix}", u.id)) { (u.name) }
                    }
                    a href=(format!("/alerts{suffix}")) { (t("告警", "Alerts")) }
                    a href=(format!("/ratings{suffix}")) { (t("定额与考核", "Quotas & ratings")) }
                    @if finance { a href=(format!("/billing{suffix}")) { (t("水电费结算", "Billing")) } }
                    @if engineer { a href=(format!("/admin{suffix}")) { (t("管理与录入", "Administration")) } }
                    @if who.is_some() { a href="/logout" onclick="event.preventDefault();fetch('/logout',{method:'POST'}).then(()=>location='/login')" { (t("退出", "Sign out")) } }
                    @else { a href="/login" { (t("登录", "Sign in")) } }
                }
                main { (body) }
            }
        }
    }
}

fn today(state: &AppState) -> NaiveDate {
    Utc::now().with_timezone(&state.site.timezone).date_naive()
}

fn month_of(q: &PageQuery, state: &AppState) -> Result<NaiveDate, AppError> {
    match &q.month {
        Some(m) => crate::billing::book::parse_month(m).map_err(AppError::BadRequest),
        None => Ok(today(state).with_day(1).unwrap_or_default() - Months::new(1)),
    }
}

/// `GET /units/{id}`.
pub async fn unit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
    who: Option<Extension<Principal>>,
) -> Result<Markup, AppError> {
    let lang = lang(&q);
    let unit = state
        .site
        .unit(&id)
        .cloned()
        .ok_or_else(|| AppError::NotFound(format!("no unit `{id}`")))?;
    let (site, store) = (state.site.clone(), state.store.clone());
    let day = today(&state);
    let charts = tokio::task::spawn_blocking(
        move || -> Result<Vec<(String, Markup)>, crate::store::StoreError> {
            let reader = store.reader()?;
            let ledger = Ledger::new(&reader, &site);
            let tz = site.timezone;
            let t = |zh: &str, en: &str| lang.t(zh, en).to_string();
            let midnight = |d: NaiveDate| local_midnight(d, tz).unwrap_or_default();
            let mut out = Vec::new();
            // Load curve: today against yesterday, kW from 15-minute kWh.
            let kw = |d: NaiveDate| -> Result<
                    Vec<(chrono::NaiveDateTime, f64)>,
                    crate::store::StoreError,
                > {
                    let end = midnight(d + Duration::days(1)).min(Utc::now());
                    Ok(ledger
                        .unit(&unit.id, "01000", midnight(d), end, Step::Quarter)?
                        .into_iter()
                        .map(|r| {
                            (
                                r.start.with_timezone(&tz).naive_local(),
                                f(r.consumption) * 4.0,
                            )
                        })
                        .collect())
                };
            let title = t(
                "今日用电负荷 (与昨日对比)",
                "Load today (against yesterday)",
            );
            let c = Chart::new(&title, "kW");
            out.push((
                title,
                svg(c.load_curve(
                    &Series::new(t("今日", "today"), kw(day)?),
                    Some(&Series::new(
                        t("昨日", "yesterday"),
                        kw(day - Duration::days(1))?,
                    )),
                )),
            ));
            // This month's days against the quota.
            let first = day.with_day(1).unwrap_or(day);
            let days: Vec<(NaiveDate, f64)> = ledger
                .unit(
                    &unit.id,
                    "01000",
                    midnight(first),
                    midnight(day + Duration::days(1)),
                    Step::Day,
                )?
                .into_iter()
                .map(|r| (r.start.with_timezone(&tz).date_naive(), f(r.consumption)))
                .collect();
            let quota = site
                .quotas
                .iter()
                .find(|x| x.unit == unit.id && x.category == "01000")
                .map(|x| ledger.quota_month(x, &site.calendar, day.year(), day.month(), Utc::now()))
                .transpose()?
                .map(|m| vec![f(m.allocation) / f64::from(first.num_days_in_month()); days.len()]);
            let title = t(
                "本月逐日用电 (虚线为定额)",
                "Electricity per day this month (dashed: quota)",
            );
            let c = Chart::new(&title, "kWh");
            out.push((title, svg(c.daily_bars(&days, quota.as_deref()))));
            // Use by category over the last twelve months.
            let start = first - Months::new(11);
            let mut labels = Vec::new();
            let mut m = start;
            while m <= first {
                labels.push(m.format("%y-%m").to_string());
                m = m + Months::new(1);
            }
            let mut stacks = Vec::new();
            for code in ["01A00", "01B00", "01C00", "01D00"] {
                let rows = ledger.unit(
                    &unit.id,
                    code,
                    midnight(start),
                    midnight(first + Months::new(1)).min(Utc::now()),
                    Step::Month,
                )?;
                if rows.iter().all(|r| r.consumption.is_zero()) {
                    continue;
                }
                let name = crate::energy::category::category(code).map_or(code.to_string(), |c| {
                    lang.t(c.name_zh, c.name_en).to_string()
                });
                let mut values: Vec<f64> = rows.iter().map(|r| f(r.consumption)).collect();
                values.resize(labels.len(), f64::NAN);
                stacks.push(Stack::new(name, values));
            }
            if !stacks.is_empty() {
                let title = t("近12个月分项用电", "Electricity by use, last 12 months");
                out.push((
                    title.clone(),
                    svg(Chart::new(&title, "kWh").stacked_bars(&labels, &stacks)),
                ));
            }
            // Year on year, standard coal.
            let year_rows = |y: i32| -> Result<Vec<f64>, crate::store::StoreError> {
                let (Some(a), Some(b)) = (
                    NaiveDate::from_ymd_opt(y, 1, 1),
                    NaiveDate::from_ymd_opt(y + 1, 1, 1),
                ) else {
                    return Ok(vec![]);
                };
                Ok(ledger
                    .unit_kgce(
                        &unit.id,
                        midnight(a),
                        midnight(b).min(Utc::now()),
                        Step::Month,
                    )?
                    .into_iter()
                    .map(|r| f(r.consumption))
                    .collect())
            };
            let title = t(
                "逐月综合能耗同比 (kgce)",
                "Energy per month, year on year (kgce)",
            );
            out.push((
                title.clone(),
                svg(Chart::new(&title, "kgce").monthly_bars(
                    day.year(),
                    &year_rows(day.year())?,
                    &year_rows(day.year() - 1)?,
                    None,
                )),
            ));
            // Day × hour over the last four weeks.
            let from = day - Duration::days(27);
            let hours = ledger.unit(
                &unit.id,
                "01000",
                midnight(from),
                midnight(day + Duration::days(1)).min(Utc::now()),
                Step::Hour,
            )?;
            let mut grid: Vec<(NaiveDate, [f64; 24])> = (0..28)
                .map(|k| (from + Duration::days(k), [f64::NAN; 24]))
                .collect();
            for r in hours {
                let local = r.start.with_timezone(&tz);
                let k = (local.date_naive() - from).num_days();
                if let Some((_, row)) = usize::try_from(k).ok().and_then(|k| grid.get_mut(k)) {
                    row[chrono::Timelike::hour(&local) as usize] = f(r.consumption);
                }
            }
            let title = t(
                "近四周逐时用电热力图 (kWh)",
                "Electricity by day and hour, last four weeks (kWh)",
            );
            out.push((
                title.clone(),
                svg(Chart::new(&title, "kWh").size(800, 560).heatmap(&grid)),
            ));
            Ok(out)
        },
    )
    .await??;
    let state2 = state.clone();
    let meters: Vec<_> = state
        .site
        .meters
        .iter()
        .filter(|m| {
            crate::energy::aggregate::subtree(&state.site.units, &id)
                .iter()
                .any(|u| u.id == m.unit)
        })
        .collect();
    let t = |zh, en| lang.t(zh, en);
    let body = html! {
        div.grid { @for (title, chart) in &charts { section.panel { h2 { (title) } (chart) } } }
        section.panel {
            h2 { (t("表计", "Meters")) }
            table {
                tr { th { (t("表计", "Meter")) } th { (t("编号", "ID")) } th { (t("分类分项", "Category")) } th { (t("状态", "Status")) } }
                @for m in &meters {
                    @let live = state2.live.get(&m.id);
                    tr {
                        td { a href=(format!("/meters/{}", m.id)) { (m.name) } }
                        td { small { (m.id) } }
                        td { (m.category.code) " " (t(m.category.name_zh, m.category.name_en)) }
                        td { @if let Some(l) = live { span class=(status_class(l.status)) { (status_label(l.status, lang)) } } }
                    }
                }
            }
        }
    };
    let name = state
        .site
        .unit(&id)
        .map(|u| u.name.clone())
        .unwrap_or_default();
    Ok(layout(&state, who.as_deref(), lang, &name, body))
}

const METER_SCRIPT: &str = r#"
const es=new EventSource('/api/v1/live?meter='+encodeURIComponent(METER));
es.addEventListener('reading',e=>{const r=JSON.parse(e.data);const c=document.getElementById('q-'+r.quantity);
 if(c){c.querySelector('.v').textContent=r.value.toLocaleString(undefined,{maximumFractionDigits:3});
 c.querySelector('.t').textContent=new Date(r.time).toLocaleTimeString('zh-CN',{hour12:false,timeZone:TZ});c.className='fresh';}});
"#;

/// `GET /meters/{id}`.
pub async fn meter(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
    who: Option<Extension<Principal>>,
) -> Result<Markup, AppError> {
    let lang = lang(&q);
    let t = |zh, en| lang.t(zh, en);
    let meter = state.meter(&id)?.clone();
    let live = state.live.get(&id);
    let connection = match &meter.source {
        MeterSource::Modbus { connection, .. } | MeterSource::Mqtt { connection, .. } => {
            Some(connection.clone())
        }
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
            div.card { div { (t("状态", "Status")) } div.v { @if let Some(l) = &live { span class=(status_class(l.status)) { (status_label(l.status, lang)) } } } small { (live.as_ref().and_then(|l| l.detail.clone()).unwrap_or_default()) } }
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
    Ok(layout(&state, who.as_deref(), lang, &meter.name, body))
}

const ALERT_SCRIPT: &str = r#"
async function act(id,what){const s=await (await fetch('/api/v1/session')).json();
 const note=prompt(what==='acknowledge'?'确认说明 / note':'处理结果 / resolution');if(note===null)return;
 const r=await fetch('/api/v1/alerts/'+id+'/'+what,{method:'POST',headers:{'content-type':'application/json','x-csrf-token':s.csrf||''},body:JSON.stringify({by:s.display_name||s.user,note})});
 if(r.ok)location.reload();else alert((await r.json()).error);}
"#;

/// `GET /alerts`.
pub async fn alerts(
    State(state): State<AppState>,
    Query(q): Query<PageQuery>,
    who: Option<Extension<Principal>>,
) -> Result<Markup, AppError> {
    let lang = lang(&q);
    let t = |zh, en| lang.t(zh, en);
    let store = state.store.clone();
    let list = tokio::task::spawn_blocking(move || store.reader()?.alerts(None)).await??;
    let can_act = who
        .as_deref()
        .is_some_and(|p| matches!(p.user.role, Role::Engineer | Role::Admin));
    let tz = state.site.timezone;
    let body = html! {
        section.panel {
            h2 { (t("未解决的告警", "Open alerts")) " (" (list.len()) ")" }
            table {
                tr { th { (t("级别", "Severity")) } th { (t("类型", "Kind")) } th { (t("对象", "Subject")) } th { (t("说明", "Message")) } th { (t("首次", "First")) } th { (t("最近", "Last")) } th { (t("次数", "Count")) } th { (t("状态", "Status")) } @if can_act { th {} } }
                @for a in &list {
                    tr {
                        td class=(if a.severity == crate::rules::alert::Severity::Critical { "bad" } else { "" }) { (t(a.severity.label_zh(), a.severity.label_en())) }
                        td { (t(a.kind.label_zh(), a.kind.label_en())) }
                        td { (a.subject) }
                        td { (t(&a.message_zh, &a.message_en)) }
                        td { (a.first_seen.with_timezone(&tz).format("%m-%d %H:%M")) }
                        td { (a.last_seen.with_timezone(&tz).format("%m-%d %H:%M")) }
                        td.num { (a.count) }
                        td { (match a.status { AlertStatus::Open => t("未处理", "open"), AlertStatus::Acknowledged => t("已确认", "acknowledged"), AlertStatus::Resolved => t("已解决", "resolved") }) @if let Some(by) = &a.acknowledged_by { " · " (by) } }
                        @if can_act { td {
                            button onclick=(format!("act({},'acknowledge')", a.id)) { (t("确认", "Acknowledge")) } " "
                            button onclick=(format!("act({},'resolve')", a.id)) { (t("解决", "Resolve")) }
                        } }
                    }
                }
            }
        }
        script { (PreEscaped(ALERT_SCRIPT)) }
    };
    Ok(layout(
        &state,
        who.as_deref(),
        lang,
        t("告警", "Alerts"),
        body,
    ))
}

const COMMITTEE_SCRIPT: &str = r#"
async function points(unit){
 const p=prompt(POINTS);if(p===null)return;const note=prompt(WHY);if(!note)return;
 const r=await fetch('/api/v1/ratings/'+MONTH+'/committee',{method:'POST',headers:{'content-type':'application/json','x-csrf-token':CSRF},body:JSON.stringify({unit,points:p,note,entered_by:BY})});
 if(r.ok)location.reload();else alert((await r.json().catch(()=>({}))).error||r.status);
}
"#;

/// `GET /ratings?month=YYYY-MM` (last month by default).
pub async fn ratings(
    State(state): State<AppState>,
    Query(q): Query<PageQuery>,
    who: Option<Extension<Principal>>,
) -> Result<Markup, AppError> {
    let lang = lang(&q);
    let t = |zh, en| lang.t(zh, en);
    let month = month_of(&q, &state)?;
    let label = month.format("%Y-%m").to_string();
    let (site, store, l2) = (state.site.clone(), state.store.clone(), label.clone());
    let (rated, quotas) =
        tokio::task::spawn_blocking(move || -> Result<_, crate::store::StoreError> {
            let reader = store.reader()?;
            let ledger = Ledger::new(&reader, &site);
            let rated = crate::rules::month_ratings(&ledger, &l2, Utc::now())?.unwrap_or_default();
            let quotas = site
                .quotas
                .iter()
                .filter(|x| x.year.is_none_or(|y| y == month.year()))
                .map(|x| {
                    ledger.quota_month(x, &site.calendar, month.year(), month.month(), Utc::now())
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((rated, quotas))
        })
        .await??;
    let report = format!("/api/v1/reports/monthly/{label}");
    let committee = who
        .as_deref()
        .filter(|p| matches!(p.user.role, Role::Committee | Role::Admin));
    let constants = committee.map(|p| {
        format!(
            "const MONTH={};const CSRF={};const BY={};const POINTS={};const WHY={};",
            serde_json::to_string(&label).unwrap_or_default(),
            serde_json::to_string(&p.csrf.clone().unwrap_or_default()).unwrap_or_default(),
            serde_json::to_string(&p.user.display_name).unwrap_or_default(),
            serde_json::to_string(t("委员会评分 (0–100)", "Committee points (0–100)"))
                .unwrap_or_default(),
            serde_json::to_string(t("评分依据", "Why")).unwrap_or_default(),
        )
    });
    let body = html! {
        section.panel {
            h2 { (label) " " (t("考核评价", "Ratings")) }
            p { (t("月报", "Monthly report")) ": " a href=(format!("{report}.html")) { "HTML" } " · " a href=(format!("{report}.pdf")) { "PDF" } " · " a href=(format!("{report}.xlsx")) { "Excel" }
                " · " a href=(format!("?month={}", (month - Months::new(1)).format("%Y-%m"))) { (t("上月", "previous month")) } }
            table {
                tr { th.num { (t("排名", "Rank")) } th { (t("单位", "Unit")) } th.num { (t("得分", "Score")) } th { (t("等级", "Grade")) } th { (t("各项 (得分 × 权重: 依据)", "Items (score × weight: why)")) } }
                @for u in &rated {
                    tr { td.num { (u.rank) } td { (u.unit_name) @if committee.is_some() { br; button onclick=(format!("points({})", serde_json::to_string(&u.unit).unwrap_or_default())) { (t("委员会评分", "Committee points")) } } } td.num { (number(u.score, 2)) } td { b { (u.grade) } }
                         td { @for i in &u.items { div { (t(i.name_zh, i.name_en)) ": " (i.score.map(|s| number(s, 1)).unwrap_or_else(|| "—".into())) " × " (i.effective_weight.map(|w| number(w, 1)).unwrap_or_else(|| "—".into())) "% — " small { (t(&i.explanation, &i.explanation_en)) } } } } }
                }
            }
        }
        section.panel {
            h2 { (t("定额执行", "Quotas")) }
            table {
                tr { th { (t("单位", "Unit")) } th { (t("品种", "Category")) } th.num { (t("定额", "Allowance")) } th.num { (t("实际", "Used")) } th.num { (t("预计", "Projected")) } th { (t("状态", "Status")) } }
                @for x in &quotas { tr { td { (state.site.unit(&x.unit).map_or(x.unit.as_str(), |u| u.name.as_str())) } td { (lang.t(crate::report::monthly::category_label(&x.category).0, crate::report::monthly::category_label(&x.category).1)) } td.num { (number(x.allocation, 0)) } td.num { (number(x.used, 0)) } td.num { (number(x.projected, 0)) } td class=(x.status.class()) { (t(x.status.label_zh(), x.status.label_en())) } } }
            }
        }
        @if let Some(c) = &constants { script { (PreEscaped(c)) (PreEscaped(COMMITTEE_SCRIPT)) } }
    };
    Ok(layout(
        &state,
        who.as_deref(),
        lang,
        t("定额与考核", "Quotas & ratings"),
        body,
    ))
}

const BILLING_SCRIPT: &str = r#"
async function post(url,body){
 const r=await fetch(url,{method:'POST',headers:{'content-type':'application/json','x-csrf-token':CSRF},body:JSON.stringify(body)});
 if(r.ok){location.reload();return;}
 const out=document.getElementById('b-out');out.className='bad';out.textContent=(await r.json().catch(()=>({}))).error||r.status;
}
function issue(tenant){if(confirm(CONFIRM_ISSUE))post('/api/v1/billing/'+MONTH+'/issue',{tenant,issued_by:BY});}
function pay(statement,outstanding){
 const amount=prompt(AMOUNT,outstanding);if(!amount)return;
 const paid_on=prompt(PAID_ON,TODAY);if(!paid_on)return;
 const method=prompt(METHOD,'')||'';const reference=prompt(REF,'')||'';
 post('/api/v1/billing/payments',{statement,amount,paid_on,method,reference,recorded_by:BY});
}
"#;

/// `GET /billing?month=YYYY-MM` (finance and admins).
pub async fn billing(
    State(state): State<AppState>,
    Query(q): Query<PageQuery>,
    who: Option<Extension<Principal>>,
) -> Result<Markup, AppError> {
    let lang = lang(&q);
    let t = |zh, en| lang.t(zh, en);
    let month = month_of(&q, &state)?;
    let label = month.format("%Y-%m").to_string();
    let (site, store, day) = (state.site.clone(), state.store.clone(), today(&state));
    let (statements, balances) =
        tokio::task::spawn_blocking(move || -> Result<_, crate::billing::BillingError> {
            let reader = store.reader()?;
            let ledger = Ledger::new(&reader, &site);
            Ok((
                crate::billing::book::month_statements(&ledger, month, None, day)?,
                crate::billing::book::balances(&ledger, day)?,
            ))
        })
        .await??;
    let base = format!("/api/v1/billing/{label}/statements");
    let csrf = who
        .as_deref()
        .and_then(|p| p.csrf.clone())
        .unwrap_or_default();
    let by = who
        .as_deref()
        .map(|p| p.user.display_name.clone())
        .unwrap_or_default();
    let drafts = statements
        .iter()
        .filter(|s| s.status == crate::billing::statement::Status::Draft)
        .count();
    let constants = format!(
        "const MONTH={};const CSRF={};const BY={};const AMOUNT={};const PAID_ON={};const METHOD={};const REF={};const CONFIRM_ISSUE={};const TODAY={};",
        serde_json::to_string(&label).unwrap_or_default(),
        serde_json::to_string(&csrf).unwrap_or_default(),
        serde_json::to_string(&by).unwrap_or_default(),
        serde_json::to_string(t("缴费金额 (元)", "Amount paid (yuan)")).unwrap_or_default(),
        serde_json::to_string(t("缴费日期 (YYYY-MM-DD)", "Paid on (YYYY-MM-DD)"))
            .unwrap_or_default(),
        serde_json::to_string(t(
            "缴费方式 (转账/现金/一卡通)",
            "Method (transfer, cash, campus card)"
        ))
        .unwrap_or_default(),
        serde_json::to_string(t("凭证号", "Reference")).unwrap_or_default(),
        serde_json::to_string(t(
            "开具后结算单即生效并编号，确定？",
            "Issued statements are numbered and final. Issue?"
        ))
        .unwrap_or_default(),
        serde_json::to_string(&day.to_string()).unwrap_or_default(),
    );
    let body = html! {
        section.panel {
            h2 { (label) " " (t("水电费结算单", "Utility-charge statements")) }
            p { (t("下载", "Download")) ": " a href=(format!("{base}.xlsx")) { "Excel" } " · " a href=(format!("{base}.pdf")) { "PDF" } " · " a href=(format!("{base}.csv")) { "CSV" }
                " · " a href=(format!("?month={}", (month - Months::new(1)).format("%Y-%m"))) { (t("上月", "previous month")) }
                @if drafts > 0 { " · " button #issue-all onclick="issue(null)" { (t("开具本月全部草稿", "Issue every draft")) " (" (drafts) ")" } }
                " " span #b-out {} }
            table {
                tr { th { (t("编号", "Number")) } th { (t("商户", "Tenant")) } th { (t("结算期", "Period")) } th.num { (t("金额 (元)", "Total (yuan)")) } th.num { (t("已缴", "Paid")) } th.num { (t("欠缴", "Outstanding")) } th { (t("状态", "Status")) } th {} }
                @for s in &statements {
                    @let tenant = serde_json::to_string(&s.tenant).unwrap_or_default();
                    tr { td { (s.number) } td { (s.tenant_name) } td { (s.period) } td.num { (money(s.total)) } td.num { (money(s.paid)) } td.num { (money(s.outstanding)) }
                         td { @let en = format!("{:?}", s.status).to_lowercase(); (lang.t(s.status.name_zh(), &en)) @if s.reissue_needed { " · " b.bad { (t("需重开", "re-issue")) } } }
                         td { a href=(format!("{base}.pdf?tenant={}", s.tenant)) { "PDF" } " "
                              @if s.status == crate::billing::statement::Status::Draft || s.reissue_needed {
                                  button onclick=(format!("issue({tenant})")) { @if s.reissue_needed { (t("重开", "Re-issue")) } @else { (t("开具", "Issue")) } } " "
                              }
                              @if s.status != crate::billing::statement::Status::Draft && s.outstanding > Decimal::ZERO {
                                  button onclick=(format!("pay({},{})", serde_json::to_string(&s.number).unwrap_or_default(), serde_json::to_string(&s.outstanding.to_string()).unwrap_or_default())) { (t("登记缴费", "Record payment")) }
                              }
                         } }
                }
            }
        }
        section.panel {
            h2 { (t("欠缴汇总", "Outstanding")) }
            table {
                tr { th { (t("商户", "Tenant")) } th.num { (t("应收", "Billed")) } th.num { (t("已缴", "Paid")) } th.num { (t("滞纳金", "Late fee")) } th.num { (t("欠缴", "Outstanding")) } }
                @for b in &balances { tr { td { (b.tenant_name) } td.num { (money(b.billed)) } td.num { (money(b.paid)) } td.num { (money(b.late_fee)) } td.num { (money(b.outstanding)) } } }
            }
        }
        script { (PreEscaped(constants)) (PreEscaped(BILLING_SCRIPT)) }
    };
    Ok(layout(
        &state,
        who.as_deref(),
        lang,
        t("水电费结算", "Billing"),
        body,
    ))
}
