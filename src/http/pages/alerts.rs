//! `GET /alerts`: the open alerts, with acknowledge and resolve for engineers.

use maud::{Markup, PreEscaped, html};

use super::layout::Page;
use crate::auth::Role;
use crate::http::error::AppError;
use crate::rules::alert::Status as AlertStatus;

const ALERT_SCRIPT: &str = include_str!("../assets/alerts.js");

/// `GET /alerts`.
pub async fn page(page: Page) -> Result<Markup, AppError> {
    let (state, lang) = (&page.state, page.lang);
    let t = |zh, en| lang.t(zh, en);
    let store = state.store.clone();
    let list = tokio::task::spawn_blocking(move || store.reader()?.alerts(None)).await??;
    let can_act = page
        .who
        .as_ref()
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
    Ok(page.render(t("告警", "Alerts"), body))
}
