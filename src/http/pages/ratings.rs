//! `GET /ratings?month=YYYY-MM`: a month's ratings (with the committee's points for the
//! committee) and quotas, with the monthly report.

use axum::extract::Query;
use chrono::Utc;
use maud::{Markup, PreEscaped, html};

use super::layout::{MonthQuery, Page, month_of};
use crate::auth::Role;
use crate::energy::ledger::Ledger;
use crate::http::error::AppError;
use crate::report::html::number;

const COMMITTEE_SCRIPT: &str = include_str!("../assets/ratings.js");

/// `GET /ratings?month=YYYY-MM` (last month by default).
pub async fn page(page: Page, Query(q): Query<MonthQuery>) -> Result<Markup, AppError> {
    let (state, lang) = (&page.state, page.lang);
    let t = |zh, en| lang.t(zh, en);
    let month = month_of(&q, page.today())?;
    let label = month.to_string();
    let (site, store) = (state.site.clone(), state.store.clone());
    let (rated, quotas) =
        tokio::task::spawn_blocking(move || -> Result<_, crate::store::StoreError> {
            let reader = store.reader()?;
            let ledger = Ledger::new(&reader, &site);
            let rated = crate::rules::month_ratings(&ledger, &reader, &site, month, Utc::now())?;
            let quotas = site
                .quotas
                .iter()
                .filter(|x| x.year.is_none_or(|y| y == month.year()))
                .map(|x| crate::rules::quota::quota_month(&ledger, &site, x, month, Utc::now()))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((rated, quotas))
        })
        .await??;
    let report = format!("/api/v1/reports/monthly/{label}");
    let committee = page
        .who
        .as_ref()
        .filter(|p| matches!(p.user.role, Role::Committee | Role::Admin));
    let constants = committee.map(|p| {
        format!(
            "const MONTH={};const CSRF={};const POINTS={};const WHY={};",
            serde_json::to_string(&label).unwrap_or_default(),
            serde_json::to_string(&p.csrf.clone().unwrap_or_default()).unwrap_or_default(),
            serde_json::to_string(t("委员会评分 (0–100)", "Committee points (0–100)"))
                .unwrap_or_default(),
            serde_json::to_string(t("评分依据", "Why")).unwrap_or_default(),
        )
    });
    let body = html! {
        section.panel {
            h2 { (label) " " (t("考核评价", "Ratings")) }
            p { (t("月报", "Monthly report")) ": " a href=(format!("{report}.html")) { "HTML" } " · " a href=(format!("{report}.pdf")) { "PDF" } " · " a href=(format!("{report}.xlsx")) { "Excel" }
                " · " a href=(format!("?month={}", month.prev())) { (t("上月", "previous month")) } }
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
    Ok(page.render(t("定额与考核", "Quotas & ratings"), body))
}
