//! Who is asking, and may they: every request passes [`guard`], which finds the user from an
//! API token (`Authorization: Bearer ...`) or a session cookie, checks the route's access rule
//! in [`access`], and for cookie sessions checks the CSRF token on anything that changes
//! data. Answers 401 without credentials and 403 to a role the rule does not admit.
//! `/login` and `/logout` start and end browser sessions.

use std::time::{Duration, Instant};

use axum::Form;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Role;
use crate::http::state::AppState;
use crate::store::users::{SESSION_DAYS, User};

pub const SESSION_COOKIE: &str = "jieneng_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// The overview page: every signed-in user, and anyone when `[http] public_overview`.
    Overview,
    /// Every signed-in user.
    AnyUser,
    /// Only these roles.
    Roles(&'static [Role]),
}

const ADMIN: &[Role] = &[Role::Admin];
const FINANCE: &[Role] = &[Role::Admin, Role::Finance];
const ENGINEERS: &[Role] = &[Role::Admin, Role::Engineer];
const COMMITTEE: &[Role] = &[Role::Admin, Role::Committee];
const STAFF: &[Role] = &[Role::Admin, Role::Engineer, Role::Committee, Role::Finance];

/// The access rule of every route (pure; the authorization table test walks it).
pub fn access(method: &Method, path: &str) -> Access {
    let read = *method == Method::GET || *method == Method::HEAD;
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (read, segments.as_slice()) {
        (_, ["healthz"] | ["metrics"] | ["login"] | ["logout"]) => Access::Public,
        (true, [""]) => Access::Overview,
        (_, ["api", "v1", "billing", ..] | ["billing", ..]) => Access::Roles(FINANCE),
        // The overview refreshes from the meter list: as open as the overview itself.
        (true, ["api", "v1", "meters" | "overview"]) => Access::Overview,
        (_, ["api", "v1", "users", ..]) => Access::Roles(ADMIN),
        (true, ["api", "v1", "session"]) => Access::AnyUser,
        (true, ["api", "v1", "audit"] | ["api", "v1", "reissue"]) => Access::Roles(STAFF),
        (true, ["admin"]) => Access::Roles(ENGINEERS),
        (true, ["api", "v1", "meters", _, "audit"]) => Access::Roles(STAFF),
        (true, _) => Access::AnyUser,
        (false, ["api", "v1", "ratings", _, "committee"]) => Access::Roles(COMMITTEE),
        (false, ["api", "v1", "meters", _, "corrections" | "events"]) => Access::Roles(ENGINEERS),
        (false, ["api", "v1", "readings"]) => Access::Roles(ENGINEERS),
        (false, ["api", "v1", "alerts", _, "acknowledge" | "resolve"]) => Access::Roles(ENGINEERS),
        (false, _) => Access::Roles(ADMIN),
    }
}

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

/// The middleware: resolves the user, applies [`access`], checks CSRF on cookie sessions.
pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let rule = access(req.method(), &path);
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

fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · jieneng 节能" }
                style { "body{font-family:system-ui,'Microsoft YaHei','WenQuanYi Micro Hei',sans-serif;background:#f4f6f8;margin:0}main{max-width:360px;margin:12vh auto;background:#fff;padding:2em;border-radius:8px;box-shadow:0 1px 4px #0002}label{display:block;margin:.8em 0 .2em}input{width:100%;box-sizing:border-box;padding:.5em;font-size:1em}button{margin-top:1.2em;padding:.6em 1.4em;font-size:1em;background:#1e6b52;color:#fff;border:0;border-radius:4px}.err{color:#b3261e}" }
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

/// Failed sign-ins by user name: after `ALLOWED_FAILURES` within `THROTTLE_WINDOW`, that name
/// is refused (429) without looking at the password until the oldest failure ages out, so a
/// password cannot be guessed at speed. A success clears the name's count.
#[derive(Default)]
pub struct SignInThrottle(std::sync::Mutex<std::collections::HashMap<String, Vec<Instant>>>);

const ALLOWED_FAILURES: usize = 5;
const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);

impl SignInThrottle {
    fn key(name: &str) -> String {
        name.trim().to_lowercase().chars().take(64).collect()
    }

    /// How long `name` must wait before trying again, if it must.
    pub fn wait(&self, name: &str, now: Instant) -> Option<Duration> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let recent: Vec<&Instant> = map
            .get(&Self::key(name))?
            .iter()
            .filter(|t| now.duration_since(**t) < THROTTLE_WINDOW)
            .collect();
        (recent.len() >= ALLOWED_FAILURES)
            .then(|| THROTTLE_WINDOW.saturating_sub(now.duration_since(*recent[0])))
    }

    pub fn failed(&self, name: &str, now: Instant) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // Forget what has aged out, so random names cannot grow the map for ever.
        map.retain(|_, times| {
            times.retain(|t| now.duration_since(*t) < THROTTLE_WINDOW);
            !times.is_empty()
        });
        map.entry(Self::key(name)).or_default().push(now);
    }

    pub fn succeeded(&self, name: &str) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&Self::key(name));
    }
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

    #[test]
    fn sign_ins_are_throttled_per_name_after_five_failures() {
        let throttle = SignInThrottle::default();
        let t0 = Instant::now();
        for k in 0..5 {
            assert_eq!(throttle.wait("Finance", t0), None, "after {k} failures");
            throttle.failed("finance", t0 + Duration::from_secs(k));
        }
        let wait = throttle
            .wait(" FINANCE ", t0 + Duration::from_secs(60))
            .unwrap();
        assert_eq!(wait, THROTTLE_WINDOW - Duration::from_secs(60));
        assert_eq!(
            throttle.wait("engineer", t0),
            None,
            "other names are not held up"
        );
        assert_eq!(
            throttle.wait("finance", t0 + THROTTLE_WINDOW),
            None,
            "the first failure aged out"
        );
        throttle.succeeded("finance");
        assert_eq!(throttle.wait("finance", t0 + Duration::from_secs(60)), None);
    }

    #[test]
    fn billing_is_for_finance_and_admins() {
        assert_eq!(
            access(&Method::GET, "/api/v1/billing/2026-10/statements.pdf"),
            Access::Roles(FINANCE)
        );
        assert_eq!(
            access(&Method::POST, "/api/v1/billing/payments"),
            Access::Roles(FINANCE)
        );
        assert_eq!(access(&Method::GET, "/api/v1/meters"), Access::Overview);
        assert_eq!(
            access(&Method::POST, "/api/v1/meters/m1/corrections"),
            Access::Roles(ENGINEERS)
        );
        assert_eq!(access(&Method::GET, "/"), Access::Overview);
        assert_eq!(access(&Method::POST, "/"), Access::Roles(ADMIN));
        assert_eq!(access(&Method::GET, "/healthz"), Access::Public);
    }
}
