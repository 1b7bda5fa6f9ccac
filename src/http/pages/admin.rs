//! `GET /admin`: the engineers' and admins' desk — readings entered by hand, meter
//! replacements and resets, the meter list, users and API tokens (admins only), and the latest
//! changes from the audit log. The forms post to the JSON API with the session's CSRF token.

use axum::Extension;
use maud::{Markup, PreEscaped, html};

use super::layout::{Lang, Page};
use crate::auth::Role;
use crate::energy::ledger::registers;
use crate::http::auth::Principal;
use crate::http::error::AppError;
use crate::site::MeterSource;

/// Local time in the site's zone (from a `datetime-local` field) → RFC 3339; the API answers
/// for every request, and its error text is shown as it comes.
const SCRIPT: &str = include_str!("../assets/admin.js");

fn source(m: &crate::site::Meter, lang: Lang) -> String {
    match &m.source {
        MeterSource::Modbus {
            connection,
            profile,
            slave_id,
            ..
        } => format!("Modbus {connection} #{slave_id} · {}", profile.name),
        MeterSource::Line {
            connection,
            profile,
            address,
            ..
        } => format!("{connection} {address} · {}", profile.name),
        MeterSource::Mqtt { connection, name } => format!("MQTT {connection} · {name}"),
        MeterSource::Manual { .. } => lang.t("人工抄表", "read by hand").to_string(),
    }
}

/// `GET /admin` (engineers and admins; the users section for admins only).
pub async fn page(page: Page, Extension(who): Extension<Principal>) -> Result<Markup, AppError> {
    let (state, lang) = (&page.state, page.lang);
    let t = |zh, en| lang.t(zh, en);
    let is_admin = who.user.role == Role::Admin;
    let store = state.store.clone();
    let (users, tokens, audit) = tokio::task::spawn_blocking(move || {
        let r = store.reader()?;
        let (users, tokens) = if is_admin {
            (r.users()?, r.tokens()?)
        } else {
            (vec![], vec![])
        };
        Ok::<_, crate::store::StoreError>((users, tokens, r.audit(None, 30)?))
    })
    .await??;
    let tz = state.site.timezone;
    let now_local = chrono::Utc::now()
        .with_timezone(&tz)
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    // Meters read by hand first: they are the ones whose readings are typed in.
    let mut meters: Vec<&crate::site::Meter> = state.site.meters.iter().collect();
    meters.sort_by_key(|m| !matches!(m.source, MeterSource::Manual { .. }));
    let quantity_options = |m: &crate::site::Meter| {
        let list: Vec<(String, String)> = registers(m)
            .into_iter()
            .map(|q| {
                let d = q.def();
                (
                    q.name().to_string(),
                    format!("{} ({})", lang.t(d.label_zh, d.label_en), q.unit()),
                )
            })
            .collect();
        serde_json::to_string(&list).unwrap_or_default()
    };
    let constants = format!(
        "const TZ={};const CSRF={};const DONE={};const PW_PROMPT={};const TOKEN_ONCE={};const REVOKE={};",
        serde_json::to_string(tz.name()).unwrap_or_default(),
        serde_json::to_string(&who.csrf.clone().unwrap_or_default()).unwrap_or_default(),
        serde_json::to_string(t("已保存，已记入审计日志", "Saved and audited")).unwrap_or_default(),
        serde_json::to_string(t(
            "新密码 (至少10个字符)",
            "New password (10 characters or more)"
        ))
        .unwrap_or_default(),
        serde_json::to_string(t(
            "令牌只显示这一次，请妥善保存:",
            "Shown this once; keep it safe:"
        ))
        .unwrap_or_default(),
        serde_json::to_string(t("撤销令牌", "Revoke token")).unwrap_or_default(),
    );
    let body = html! {
        div.grid {
            section.panel #manual {
                h2 { (t("人工抄表录入", "Enter a reading by hand")) }
                form onsubmit="reading(event)" {
                    p { label { (t("表计", "Meter")) " " select #r-meter name="meter" onchange="quantities()" {
                        @for m in &meters { option value=(m.id) data-q=(quantity_options(m)) { (m.name) " (" (m.id) ")" @if matches!(m.source, MeterSource::Manual { .. }) { " · " (t("人工", "by hand")) } } }
                    } } }
                    p { label { (t("读数项", "Register")) " " select #r-quantity name="quantity" {} } }
                    p { label { (t("抄表时间", "Read at")) " " input type="datetime-local" name="time" required value=(now_local); } " " small { (tz.name()) } }
                    p { label { (t("表底读数", "Register reading")) " " input type="number" step="any" name="value" required; } }
                    p { label { (t("备注", "Note")) " " input type="text" name="note" size="40"; } }
                    button type="submit" { (t("保存读数", "Save reading")) } " " span #r-out {}
                }
                p { small { (t("读数按表计显示值录入（未乘倍率）；回退或超出合理范围的读数会被拒绝并说明原因。", "Enter the register as the meter shows it (before the multiplier); readings that run backwards or are implausible are refused with the reason.")) } }
            }
            section.panel #events {
                h2 { (t("换表与清零", "Meter replacement or reset")) }
                form onsubmit="meterEvent(event)" {
                    p { label { (t("表计", "Meter")) " " select name="meter" { @for m in &state.site.meters { option value=(m.id) { (m.name) " (" (m.id) ")" } } } } }
                    p { label { (t("事件", "Event")) " " select name="kind" {
                        option value="replacement" { (t("换表", "replacement")) }
                        option value="reset" { (t("表底清零/重置", "register reset")) }
                    } } }
                    p { label { (t("时间", "Time")) " " input type="datetime-local" name="time" required value=(now_local); } }
                    p { label { (t("旧表止码", "Old meter's final reading")) " " input type="number" step="any" name="old_final"; } }
                    p { label { (t("新表起码 / 重置后读数", "New meter's first reading / value after reset")) " " input type="number" step="any" name="new_value" required; } }
                    p { label { (t("说明", "Note")) " " input type="text" name="note" size="40" required; } }
                    button type="submit" { (t("记录事件", "Record event")) } " " span #e-out {}
                }
                p { small { (t("记录后，跨事件的用电量按新旧读数计算，已开具的结算单会标记为需重开。", "Consumption across the event is then counted from both readings; statements already issued are flagged for re-issue.")) } }
            }
        }
        @if is_admin {
            section.panel #users {
                h2 { (t("用户与角色", "Users and roles")) }
                table {
                    tr { th { (t("用户名", "User")) } th { (t("姓名", "Name")) } th { (t("角色", "Role")) } th { (t("状态", "Status")) } th { (t("创建", "Created")) } th {} }
                    @for u in &users {
                        tr {
                            td { (u.name) }
                            td { (u.display_name) }
                            td { select onchange=(format!("changeUser({},{{role:this.value}})", serde_json::to_string(&u.name).unwrap_or_default())) {
                                @for r in Role::ALL { option value=(r.name()) selected[r == u.role] { (t(r.name_zh(), r.name())) } }
                            } }
                            td { @if u.disabled { span.bad { (t("已停用", "disabled")) } } @else { span.ok { (t("启用", "enabled")) } } }
                            td { (u.created_at.with_timezone(&tz).format("%Y-%m-%d")) }
                            td {
                                @let name = serde_json::to_string(&u.name).unwrap_or_default();
                                button onclick=(format!("changeUser({name},{{disabled:{}}})", !u.disabled)) { @if u.disabled { (t("启用", "Enable")) } @else { (t("停用", "Disable")) } } " "
                                button onclick=(format!("resetPassword({name})")) { (t("重设密码", "Reset password")) }
                            }
                        }
                    }
                }
                h2 { (t("新增用户", "Add a user")) }
                form onsubmit="addUser(event)" {
                    input name="name" placeholder=(t("用户名", "user name")) required pattern="[A-Za-z0-9._-]{1,64}"; " "
                    input name="display" placeholder=(t("姓名", "name shown")); " "
                    select name="role" { @for r in Role::ALL { option value=(r.name()) selected[r == Role::Viewer] { (t(r.name_zh(), r.name())) } } } " "
                    input name="password" type="password" placeholder=(t("密码 (留空: 仅API令牌)", "password (empty: API tokens only)")) minlength="10"; " "
                    button type="submit" { (t("新增", "Add")) } " " span #u-out {}
                }
            }
            section.panel #tokens {
                h2 { (t("API 令牌", "API tokens")) }
                table {
                    tr { th { (t("用户", "User")) } th { (t("用途", "Label")) } th { "ID" } th { (t("创建", "Created")) } th {} }
                    @for k in &tokens {
                        tr { td { (k.user) } td { (k.label) } td { code { (k.id) } } td { (k.created_at.with_timezone(&tz).format("%Y-%m-%d %H:%M")) }
                             td { button onclick=(format!("revoke({},{})", serde_json::to_string(&k.user).unwrap_or_default(), serde_json::to_string(&k.id).unwrap_or_default())) { (t("撤销", "Revoke")) } } }
                    }
                }
                form onsubmit="newToken(event)" {
                    select name="user" { @for u in users.iter().filter(|u| !u.disabled) { option value=(u.name) { (u.name) } } } " "
                    input name="label" placeholder=(t("用途 (如 grafana)", "what for (e.g. grafana)")) required; " "
                    button type="submit" { (t("生成令牌", "New token")) } " " span #t-out {}
                }
            }
        }
        section.panel #meters {
            h2 { (t("表计清单", "Meters")) }
            p { small { (t("表计、通信参数和倍率在站点配置文件中维护（jieneng check 校验），修改后重启或重新加载服务。", "Meters, their connections and multipliers live in the site config file (validated by jieneng check); change it there and restart or reload the service.")) } }
            table {
                tr { th { (t("编号", "ID")) } th { (t("名称", "Name")) } th { (t("单位", "Unit")) } th { (t("分类分项", "Category")) } th { (t("来源", "Source")) } th.num { (t("倍率", "Multiplier")) } }
                @for m in &state.site.meters {
                    tr { td { a href=(format!("/meters/{}", m.id)) { (m.id) } } td { (m.name) } td { (state.site.unit(&m.unit).map_or(m.unit.as_str(), |u| u.name.as_str())) }
                         td { (m.category.code) " " (t(m.category.name_zh, m.category.name_en)) } td { small { (source(m, lang)) } } td.num { (m.multiplier) } }
                }
            }
        }
        section.panel #audit {
            h2 { (t("最近变更 (审计日志)", "Latest changes (audit log)")) }
            table {
                tr { th { (t("时间", "When")) } th { (t("人员", "Who")) } th { (t("操作", "Action")) } th { (t("对象", "Subject")) } th { (t("说明", "Note")) } }
                @for a in &audit {
                    tr { td { (a.at.with_timezone(&tz).format("%Y-%m-%d %H:%M")) } td { (a.who) } td { (a.action) }
                         td { (a.meter.clone().unwrap_or_else(|| a.target.clone())) } td { small { (a.note) } } }
                }
            }
        }
        script { (PreEscaped(constants)) (PreEscaped(SCRIPT)) }
    };
    Ok(page.render(t("管理与录入", "Administration"), body))
}
