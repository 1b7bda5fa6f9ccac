//! The frame every page shares: the page's start ([`Page`]: who is asking, the language, the
//! site), the header and navigation ([`layout`]), the style sheet, and small helpers.

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use chrono::{NaiveDate, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;

use crate::auth::Role;
use crate::http::auth::Principal;
use crate::http::error::AppError;
use crate::http::state::AppState;
use crate::ingest::MeterStatus;
use crate::time::Month;

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
    pub fn from_query(q: &LangQuery) -> Lang {
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

/// What every page starts from: the handlers' state, who is asking (none: the public
/// overview), and the language (`?lang=en`, Chinese by default).
pub struct Page {
    pub state: AppState,
    pub who: Option<Principal>,
    pub lang: Lang,
}

impl FromRequestParts<AppState> for Page {
    type Rejection = QueryRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Page, Self::Rejection> {
        let Query(q) = Query::<LangQuery>::from_request_parts(parts, state).await?;
        Ok(Page {
            state: state.clone(),
            who: parts.extensions.get::<Principal>().cloned(),
            lang: Lang::from_query(&q),
        })
    }
}

impl Page {
    /// `body` in the frame of every page, under `title`.
    pub fn render(&self, title: &str, body: Markup) -> Markup {
        layout(&self.state, self.who.as_ref(), self.lang, title, body)
    }

    /// Today in the site's time zone.
    pub fn today(&self) -> NaiveDate {
        Utc::now()
            .with_timezone(&self.state.site.timezone)
            .date_naive()
    }
}

#[derive(Deserialize, Default)]
pub struct MonthQuery {
    pub month: Option<String>,
}

/// The month asked for, last month by default.
pub fn month_of(q: &MonthQuery, today: NaiveDate) -> Result<Month, AppError> {
    match &q.month {
        Some(m) => m.parse::<Month>().map_err(AppError::BadRequest),
        None => Ok(Month::of(today).prev()),
    }
}

pub(crate) fn status_label(s: MeterStatus, lang: Lang) -> &'static str {
    match s {
        MeterStatus::Waiting => lang.t("等待", "waiting"),
        MeterStatus::Online => lang.t("在线", "online"),
        MeterStatus::Offline => lang.t("离线", "offline"),
        MeterStatus::Error => lang.t("故障", "error"),
        MeterStatus::Manual => lang.t("人工抄表", "read by hand"),
    }
}

pub(crate) fn status_class(s: MeterStatus) -> &'static str {
    match s {
        MeterStatus::Online => "ok",
        MeterStatus::Offline | MeterStatus::Error => "bad",
        MeterStatus::Waiting | MeterStatus::Manual => "neutral",
    }
}

/// The style sheet of every page: the base, then navigation, panels and grid.
const STYLE: &str = include_str!("../assets/page.css");
const EXTRA_STYLE: &str = include_str!("../assets/panels.css");

pub(crate) fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(f64::NAN)
}

/// A chart's SVG inline, or why there is none.
pub(crate) fn svg(bytes: Result<Vec<u8>, crate::chart::ChartError>) -> Markup {
    match bytes {
        Ok(b) => PreEscaped(String::from_utf8_lossy(&b).into_owned()),
        Err(e) => html! { p.muted { (e.to_string()) } },
    }
}

/// The frame of every page: header, navigation (billing only for finance and admins).
fn layout(
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
