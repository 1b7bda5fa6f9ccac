//! Who is asking, and may they: every request passes [`guard`], which finds the user from an
//! API token (`Authorization: Bearer ...`) or a session cookie, checks the access rule the
//! route table gives the matched route, and for cookie sessions checks the CSRF token on
//! anything that changes data. Answers 401 without credentials and 403 to a role the rule does not admit.
//! `/login` and `/logout` start and end browser sessions.

use std::time::Instant;

use axum::Form;
use axum::body::Body;
use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;
use serde_json::json;

use crate::http::access::Access;
use crate::http::state::AppState;
use crate::store::users::{SESSION_DAYS, User};

pub const SESSION_COOKIE: &str = "jieneng_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The signed-in user of a request, for handlers that record who did something.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    /// Set when the user came with a session cookie (pages need it for their forms).
    pub csrf: Option<String>,
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn bearer(headers: &HeaderMap) -> Option<Result<String, ()>> {
    let value = headers.get(header::AUTHORIZATION)?;
    Some(
        value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string())
            .ok_or(()),
    )
}

fn refuse(status: StatusCode, path: &str, message: &str) -> Response {
    if path.starts_with("/api/") {
        return (status, axum::Json(json!({ "error": message }))).into_response();
    }
    let page = if status == StatusCode::UNAUTHORIZED {
        login_page(path, None)
    } else {
        message_page("无权访问 / Forbidden", message)
    };
    (status, page).into_response()
}

/// The access rule of a request: from its method and the route template it matched (none
/// when no route matched). The router hands the route table's lookup to the guard.
pub type AccessRule = fn(&Method, Option<&str>) -> Access;

/// What the guard works with: the handlers' state and the route table's access rule.
#[derive(Clone)]
pub struct Guard {
    pub state: AppState,
    pub access: AccessRule,
}

/// The middleware: resolves the user, applies the matched route's access rule, checks CSRF on
/// cookie sessions.
pub async fn guard(
    State(Guard { state, access }): State<Guard>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let rule = access(req.method(), template);
    let headers = req.headers().clone();
    let store = state.store.clone();
    let token = bearer(&headers);
    let session = cookie(&headers, SESSION_COOKIE);
    let found = tokio::task::spawn_blocking(move || -> Result<Option<Principal>, String> {
        let reader = store.reader().map_err(|e| e.to_string())?;
        match (token, session) {
            (Some(Err(())), _) => Err("Authorization: use `Bearer <token>`".into()),
            (Some(Ok(t)), _) => match reader.token_user(&t).map_err(|e| e.to_string())? {
                Some(user) => Ok(Some(Principal { user, csrf: None })),
                None => Err("the API token is not valid".into()),
            },
            (None, Some(s)) => {
                Ok(reader
                    .session_user(&s)
                    .map_err(|e| e.to_string())?
                    .map(|(user, csrf)| Principal {
                        user,
                        csrf: Some(csrf),
                    }))
            }
            (None, None) => Ok(None),
        }
    })
    .await;
    let principal = match found {
        Ok(Ok(p)) => p,
        Ok(Err(message)) if rule != Access::Public => {
            return refuse(StatusCode::UNAUTHORIZED, &path, &message);
        }
        Ok(Err(_)) => None,
        Err(e) => {
            tracing::error!(error = %e, "authentication lookup failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let allowed = match (rule, &principal) {
        (Access::Public, _) => true,
        (Access::Overview, None) if state.site.http_public_overview => true,
        (_, None) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                &path,
                "sign in, or send `Authorization: Bearer <token>`",
            );
        }
        (Access::Overview | Access::AnyUser, Some(_)) => true,
        (Access::Roles(roles), Some(p)) => roles.contains(&p.user.role),
    };
    if !allowed {
        let role = principal.as_ref().map_or("", |p| p.user.role.name());
        return refuse(
            StatusCode::FORBIDDEN,
            &path,
            &format!("the role `{role}` may not use {} {path}", req.method()),
        );
    }
    // A cookie is sent by the browser whatever page asks: changes need the CSRF token too.
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if let Some(Principal {
        csrf: Some(expected),
        ..
    }) = &principal
        && changes
        && rule != Access::Public
    {
        let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if sent != Some(expected.as_str()) {
            return refuse(
                StatusCode::FORBIDDEN,
                &path,
                "missing or wrong CSRF token: send the `x-csrf-token` header from GET /api/v1/session",
            );
        }
    }
    if let Some(p) = principal {
        req.extensions_mut().insert(p);
    }
    next.run(req).await
}

/// `GET /api/v1/session`: who is signed in, and the CSRF token for changes.
pub async fn session(req: Request) -> Response {
    match req.extensions().get::<Principal>() {
        Some(p) => axum::Json(json!({
            "user": p.user.name,
            "display_name": p.user.display_name,
            "role": p.user.role,
            "csrf": p.csrf,
        }))
        .into_response(),
        None => StatusCode::UNAUTHORIZED.into_response(),
    }
}

/// The sign-in and refusal pages' style sheet.
const LOGIN_STYLE: &str = include_str!("assets/login.css");

fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · jieneng 节能" }
                style { (PreEscaped(LOGIN_STYLE)) }
            }
            body { main { (body) } }
        }
    }
}

fn message_page(title: &str, message: &str) -> Markup {
    page(
        title,
        html! { h1 { (title) } p { (message) } p { a href="/" { "返回首页 / Home" } } },
    )
}

/// A relative path to return to after signing in (never another site).
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/"
    }
}

fn login_page(next: &str, error: Option<&str>) -> Markup {
    page(
        "登录 / Sign in",
        html! {
            h1 { "jieneng 节能 · 登录" }
            @if let Some(e) = error { p.err { (e) } }
            form method="post" action="/login" {
                input type="hidden" name="next" value=(safe_next(next));
                label for="name" { "用户名 / User" }
                input id="name" name="name" autocomplete="username" required;
                label for="password" { "密码 / Password" }
                input id="password" name="password" type="password" autocomplete="current-password" required;
                button type="submit" { "登录 / Sign in" }
            }
        },
    )
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_form(Query(q): Query<NextQuery>) -> Markup {
    login_page(q.next.as_deref().unwrap_or("/"), None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login(State(state): State<AppState>, Form(f): Form<LoginForm>) -> Response {
    if let Some(wait) = state.sign_ins.wait(&f.name, Instant::now()) {
        tracing::warn!(user = %f.name, "sign-in refused: too many failures");
        let minutes = wait.as_secs().div_ceil(60).max(1);
        let message = format!(
            "登录失败次数过多，请 {minutes} 分钟后再试 / Too many failed sign-ins: try again in {minutes} min"
        );
        return (
            StatusCode::TOO_MANY_REQUESTS,
            login_page(&f.next, Some(&message)),
        )
            .into_response();
    }
    let store = state.store.clone();
    let name = f.name.clone();
    let outcome = tokio::task::spawn_blocking(move || -> Result<Option<String>, String> {
        let reader = store.reader().map_err(|e| e.to_string())?;
        match reader
            .check_password(&name, &f.password)
            .map_err(|e| e.to_string())?
        {
            None => Ok(None),
            Some(user) => {
                let (token, _) = store
                    .writer()
                    .and_then(|mut w| w.create_session(&user.name))
                    .map_err(|e| e.to_string())?;
                Ok(Some(token))
            }
        }
    })
    .await;
    match outcome {
        Ok(Ok(Some(token))) => {
            state.sign_ins.succeeded(&f.name);
            let secure = if state.site.http_secure_cookies {
                "; Secure"
            } else {
                ""
            };
            let cookie = format!(
                "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
                SESSION_DAYS * 86_400
            );
            Response::builder()
                .status(StatusCode::SEE_OTHER)
                .header(header::LOCATION, safe_next(&f.next))
                .header(header::SET_COOKIE, cookie)
                .body(Body::empty())
                .unwrap_or_default()
        }
        Ok(Ok(None)) => {
            state.sign_ins.failed(&f.name, Instant::now());
            tracing::warn!(user = %f.name, "sign-in refused");
            (
                StatusCode::UNAUTHORIZED,
                login_page(
                    &f.next,
                    Some("用户名或密码不正确 / Wrong user name or password"),
                ),
            )
                .into_response()
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "sign-in failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "sign-in failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        let store = state.store.clone();
        let _ = tokio::task::spawn_blocking(move || {
            store.writer().and_then(|mut w| w.end_session(&token))
        })
        .await;
    }
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, "/login")
        .header(
            header::SET_COOKIE,
            format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
        )
        .body(Body::empty())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_relative_paths_are_returned_to() {
        assert_eq!(safe_next("/api/v1/meters"), "/api/v1/meters");
        assert_eq!(safe_next("//evil.example"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next("/\\evil"), "/");
    }
}
