//! `GET /units/{id}`: a unit's load curve, days against the quota, use by category, year on
//! year and day × hour heat map (figures from `report::unit`), and its meters.

use axum::extract::Path;
use chrono::{Datelike, Utc};
use maud::{Markup, html};

use super::layout::{Lang, Page, status_class, status_label, svg};
use crate::chart::{Chart, Series, Stack};
use crate::energy::ledger::Ledger;
use crate::http::error::AppError;
use crate::report::unit::{UnitFigures, unit_figures};

/// The unit's charts: (title, SVG).
fn charts(u: UnitFigures, lang: Lang) -> Vec<(String, Markup)> {
    let t = |zh: &str, en: &str| lang.t(zh, en).to_string();
    let mut out = Vec::new();
    let title = t(
        "今日用电负荷 (与昨日对比)",
        "Load today (against yesterday)",
    );
    let c = Chart::new(&title, "kW");
    out.push((
        title,
        svg(c.load_curve(
            &Series::new(t("今日", "today"), u.load_today),
            Some(&Series::new(t("昨日", "yesterday"), u.load_yesterday)),
        )),
    ));
    let title = t(
        "本月逐日用电 (虚线为定额)",
        "Electricity per day this month (dashed: quota)",
    );
    let c = Chart::new(&title, "kWh");
    out.push((title, svg(c.daily_bars(&u.days, u.daily_quota.as_deref()))));
    let stacks: Vec<Stack> = u
        .by_use
        .into_iter()
        .map(|(code, values)| {
            let name = crate::energy::category::category(code).map_or(code.to_string(), |c| {
                lang.t(c.name_zh, c.name_en).to_string()
            });
            Stack::new(name, values)
        })
        .collect();
    if !stacks.is_empty() {
        let title = t("近12个月分项用电", "Electricity by use, last 12 months");
        out.push((
            title.clone(),
            svg(Chart::new(&title, "kWh").stacked_bars(&u.months, &stacks)),
        ));
    }
    let title = t(
        "逐月综合能耗同比 (kgce)",
        "Energy per month, year on year (kgce)",
    );
    out.push((
        title.clone(),
        svg(Chart::new(&title, "kgce").monthly_bars(
            u.day.year(),
            &u.kgce_this_year,
            &u.kgce_last_year,
            None,
        )),
    ));
    let title = t(
        "近四周逐时用电热力图 (kWh)",
        "Electricity by day and hour, last four weeks (kWh)",
    );
    out.push((
        title.clone(),
        svg(Chart::new(&title, "kWh").size(800, 560).heatmap(&u.hours)),
    ));
    out
}

/// `GET /units/{id}`.
pub async fn page(page: Page, Path(id): Path<String>) -> Result<Markup, AppError> {
    let (state, lang) = (&page.state, page.lang);
    let unit = state
        .site
        .unit(&id)
        .cloned()
        .ok_or_else(|| AppError::NotFound(format!("no unit `{id}`")))?;
    let (site, store) = (state.site.clone(), state.store.clone());
    let charts = tokio::task::spawn_blocking(
        move || -> Result<Vec<(String, Markup)>, crate::store::StoreError> {
            let reader = store.reader()?;
            let ledger = Ledger::new(&reader, &site);
            let figures = unit_figures(&ledger, &site, &unit.id, Utc::now())?;
            Ok(charts(figures, lang))
        },
    )
    .await??;
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
    let now = Utc::now();
    let t = |zh, en| lang.t(zh, en);
    let body = html! {
        div.grid { @for (title, chart) in &charts { section.panel { h2 { (title) } (chart) } } }
        section.panel {
            h2 { (t("表计", "Meters")) }
            table {
                tr { th { (t("表计", "Meter")) } th { (t("编号", "ID")) } th { (t("分类分项", "Category")) } th { (t("状态", "Status")) } }
                @for m in &meters {
                    @let live = state.live.get(&m.id);
                    tr {
                        td { a href=(format!("/meters/{}", m.id)) { (m.name) } }
                        td { small { (m.id) } }
                        td { (m.category.code) " " (t(m.category.name_zh, m.category.name_en)) }
                        td { @if let Some(l) = live { @let s = crate::status::status(m, Some(&l), now).status; span class=(status_class(s)) { (status_label(s, lang)) } } }
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
    Ok(page.render(&name, body))
}
