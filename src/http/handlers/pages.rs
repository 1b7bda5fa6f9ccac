//! Server-rendered pages. Chinese by default, English with `?lang=en`. No external assets: the
//! sites are often intranets without internet access.

use axum::extract::{Query, State};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

use super::meters::{MeterView, view};
use crate::http::state::AppState;
use crate::ingest::MeterStatus;

#[derive(Deserialize, Default)]
pub struct LangQuery {
    lang: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    fn from_query(q: &LangQuery) -> Lang {
        match q.lang.as_deref() {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }
    pub fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

fn status_label(s: MeterStatus, lang: Lang) -> &'static str {
    match s {
        MeterStatus::Waiting => lang.t("等待", "waiting"),
        MeterStatus::Online => lang.t("在线", "online"),
        MeterStatus::Offline => lang.t("离线", "offline"),
        MeterStatus::Error => lang.t("故障", "error"),
        MeterStatus::Manual => lang.t("人工抄表", "read by hand"),
    }
}

fn status_class(s: MeterStatus) -> &'static str {
    match s {
        MeterStatus::Online => "ok",
        MeterStatus::Offline | MeterStatus::Error => "bad",
        MeterStatus::Waiting | MeterStatus::Manual => "neutral",
    }
}

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

pub(crate) const STYLE: &str = r#"
body{font-family:"Microsoft YaHei","PingFang SC","WenQuanYi Micro Hei","Noto Sans CJK SC",sans-serif;margin:0;background:#f4f6f8;color:#1f2d3d}
header{background:#1d4e89;color:#fff;padding:12px 24px;display:flex;justify-content:space-between;align-items:center}
header h1{font-size:20px;margin:0} header a{color:#cfe3ff}
main{padding:16px 24px}
.cards{display:flex;gap:12px;margin-bottom:16px;flex-wrap:wrap}
.card{background:#fff;border-radius:6px;padding:12px 18px;min-width:150px;box-shadow:0 1px 2px #0001}
.card .v{font-size:24px;font-weight:600}
table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0001}
th,td{padding:6px 10px;border-bottom:1px solid #e5e9ef;text-align:left;font-size:14px}
th{background:#eef2f7} td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1a7f37}.bad{color:#c62828;font-weight:600}.neutral{color:#6b778c}
tr.group td{background:#f8fafc;font-weight:600}
small{color:#6b778c}
"#;

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

const SCRIPT: &str = r#"
const fmt=(x,d)=>x==null?"—":x.toLocaleString(undefined,{minimumFractionDigits:d,maximumFractionDigits:d});
async function refresh(){
  try{
    const r=await fetch('/api/v1/meters');const ms=await r.json();
    let online=0,total=0;
    for(const m of ms){
      const row=document.getElementById('m-'+m.id);if(!row)continue;
      if(m.status==='online')online++;
      const mult=parseFloat(m.multiplier)||1;
      const rate=m.values.power_kw!=null?m.values.power_kw*mult:m.values.flow_m3h;
      if(m.category==='01000'&&m.values.power_kw!=null)total+=m.values.power_kw*mult;
      const reg=m.values.energy_import_kwh??m.values.water_m3??m.values.gas_m3;
      row.querySelector('.rate').textContent=fmt(rate,2);
      row.querySelector('.reg').textContent=fmt(reg,2);
      const st=row.querySelector('.st');st.textContent=STATUS[m.status]||m.status;st.className='st '+CLS[m.status];
      st.title=m.status_detail||'';
      const seen=m.last_seen?new Date(m.last_seen):null;
      row.querySelector('.seen').textContent=!seen?'—':(Date.now()-seen<86400000?seen.toLocaleTimeString('zh-CN',{timeZone:TZ,hour12:false}):seen.toLocaleString('zh-CN',{timeZone:TZ,hour12:false}));
    }
    document.getElementById('online').textContent=online;
    document.getElementById('power').textContent=fmt(total,1);
  }catch(e){}
}
setInterval(refresh,5000);
"#;

pub async fn overview(State(state): State<AppState>, Query(q): Query<LangQuery>) -> Markup {
    let lang = Lang::from_query(&q);
    let views: Vec<MeterView> = state.site.meters.iter().map(|m| view(&state, m)).collect();
    // Open alerts by severity (critical, warning, info); none shown when they cannot be read.
    let store = state.store.clone();
    let open = tokio::task::spawn_blocking(move || store.reader().and_then(|r| r.alerts(None)))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    let count = |s: crate::rules::alert::Severity| open.iter().filter(|a| a.severity == s).count();
    let (critical, warning) = (
        count(crate::rules::alert::Severity::Critical),
        count(crate::rules::alert::Severity::Warning),
    );
    let online = views
        .iter()
        .filter(|v| v.status == MeterStatus::Online)
        .count();
    let total_power: f64 = views
        .iter()
        .filter(|v| v.category == "01000")
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
    html! {
        (DOCTYPE)
        html lang=(lang.t("zh-CN", "en")) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (state.site.name) " · " (lang.t("能耗监测", "Energy monitoring")) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    h1 { (state.site.name) " · " (lang.t("能耗监测平台", "Energy monitoring")) }
                    @if lang == Lang::Zh { a href="?lang=en" { "English" } } @else { a href="?" { "中文" } }
                }
                nav style="background:#163e6d;padding:6px 24px;display:flex;gap:18px;flex-wrap:wrap" {
                    @for u in &state.site.units {
                        @if u.parent.is_none() || state.site.units.iter().any(|p| p.parent.is_none() && u.parent.as_deref() == Some(&p.id)) {
                            a style="color:#e6f0ff;text-decoration:none;font-size:14px" href=(format!("/units/{}", u.id)) { (u.name) }
                        }
                    }
                    a style="color:#e6f0ff;text-decoration:none;font-size:14px" href="/alerts" { (lang.t("告警", "Alerts")) }
                    a style="color:#e6f0ff;text-decoration:none;font-size:14px" href="/ratings" { (lang.t("定额与考核", "Quotas & ratings")) }
                    a style="color:#e6f0ff;text-decoration:none;font-size:14px" href="/billing" { (lang.t("水电费结算", "Billing")) }
                    a style="color:#e6f0ff;text-decoration:none;font-size:14px" href="/login" { (lang.t("登录", "Sign in")) }
                }
                main {
                    div.cards {
                        div.card { div { (lang.t("表计总数", "Meters")) } div.v { (views.len()) } }
                        div.card { div { (lang.t("在线", "Online")) } div.v #online { (online) } }
                        div.card { div { (lang.t("当前总功率 (kW)", "Total power (kW)")) } div.v #power { (format!("{total_power:.1}")) } }
                        a.card href="/alerts" style="text-decoration:none;color:inherit" {
                            div { (lang.t("未解决告警", "Open alerts")) }
                            div.v { span.bad { (critical) } " / " (warning) }
                            small { (lang.t("严重 / 警告", "critical / warning")) }
                        }
                    }
                    table {
                        thead { tr {
                            th { (lang.t("表计", "Meter")) }
                            th { (lang.t("编号", "ID")) }
                            th { (lang.t("分类分项", "Category")) }
                            th { (lang.t("倍率", "Multiplier")) }
                            th { (lang.t("状态", "Status")) }
                            th { (lang.t("最后通信", "Last seen")) }
                            th.num { (lang.t("功率 kW / 流量 m³/h", "Power kW / flow m³/h")) }
                            th.num { (lang.t("表底读数", "Register")) }
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
                    p { small { (lang.t("功率为一次侧数值（已乘倍率）；表底读数为表计显示值。每 5 秒刷新。", "Power is primary-side (multiplier applied); registers are as the meter shows them. Refreshes every 5 s.")) } }
                }
                script { (PreEscaped(statuses)) (PreEscaped(SCRIPT)) }
            }
        }
    }
}
