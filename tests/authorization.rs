//! Who may use what: every route × every role against the expected answer (401 without
//! credentials, 403 to a role the route is not for, something else — the handler's own answer —
//! otherwise). The table is written out here, by hand, and must list every route the router
//! has. Then browser sessions: sign in, CSRF on changes, sign out.

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jieneng::auth::Role;
use serde_json::json;
use tower::ServiceExt;

const CONFIG: &str = common::SMALL_SITE;

use Role::{Admin, Committee, Engineer, Finance, Viewer};

const EVERYONE: &[Role] = &[Admin, Engineer, Committee, Finance, Viewer];
const STAFF: &[Role] = &[Admin, Engineer, Committee, Finance];

/// (method, route as in the router, the URI to call, who may use it; None = public).
fn table() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    Option<&'static [Role]>,
)> {
    vec![
        ("GET", "/healthz", "/healthz", None),
        ("GET", "/metrics", "/metrics", None),
        ("GET", "/login", "/login", None),
        ("GET", "/", "/", Some(EVERYONE)),
        ("GET", "/units/{id}", "/units/org", Some(EVERYONE)),
        ("GET", "/meters/{id}", "/meters/m1", Some(EVERYONE)),
        ("GET", "/alerts", "/alerts", Some(EVERYONE)),
        ("GET", "/ratings", "/ratings", Some(EVERYONE)),
        ("GET", "/billing", "/billing", Some(&[Admin, Finance])),
        ("GET", "/admin", "/admin", Some(&[Admin, Engineer])),
        ("GET", "/api/v1/session", "/api/v1/session", Some(EVERYONE)),
        (
            "GET",
            "/api/v1/openapi.json",
            "/api/v1/openapi.json",
            Some(EVERYONE),
        ),
        (
            "GET",
            "/api/v1/live",
            "/api/v1/live?meter=nope",
            Some(EVERYONE),
        ),
        ("GET", "/api/v1/meters", "/api/v1/meters", Some(EVERYONE)),
        (
            "GET",
            "/api/v1/overview",
            "/api/v1/overview",
            Some(EVERYONE),
        ),
        (
            "GET",
            "/api/v1/meters/{id}",
            "/api/v1/meters/m1",
            Some(EVERYONE),
        ),
        (
            "GET",
            "/api/v1/meters/{id}/consumption",
            "/api/v1/meters/m1/consumption?from=2026-10-01T00:00:00Z&to=2026-10-02T00:00:00Z&step=1d",
            Some(EVERYONE),
        ),
        (
            "GET",
            "/api/v1/meters/{id}/anomalies",
            "/api/v1/meters/m1/anomalies?from=2026-10-01T00:00:00Z&to=2026-10-02T00:00:00Z",
            Some(EVERYONE),
        ),
        (
            "GET",
            "/api/v1/meters/{id}/audit",
            "/api/v1/meters/m1/audit",
            Some(STAFF),
        ),
        (
            "POST",
            "/api/v1/meters/{id}/corrections",
            "/api/v1/meters/m1/corrections",
            Some(&[Admin, Engineer]),
        ),
        (
            "POST",
            "/api/v1/meters/{id}/events",
            "/api/v1/meters/m1/events",
            Some(&[Admin, Engineer]),
        ),
        ("GET", "/api/v1/audit", "/api/v1/audit", Some(STAFF)),
        ("GET", "/api/v1/reissue", "/api/v1/reissue", Some(STAFF)),
        (
            "GET",
            "/api/v1/units/{id}/consumption",
            "/api/v1/units/org/consumption?category=01000&from=2026-10-01T00:00:00Z&to=2026-10-02T00:00:00Z&step=1d",
            Some(EVERYONE),
        ),
        (
            "GET",
            "/api/v1/units/{id}/indicators",
            "/api/v1/units/org/indicators?from=2026-10-01T00:00:00Z&to=2026-10-02T00:00:00Z",
            Some(EVERYONE),
        ),
        (
            "GET",
            "/api/v1/units/{id}/intensity-check",
            "/api/v1/units/org/intensity-check",
            Some(EVERYONE),
        ),
        (
            "GET",
            "/api/v1/balance",
            "/api/v1/balance?from=2026-10-01T00:00:00Z&to=2026-10-02T00:00:00Z",
            Some(EVERYONE),
        ),
        ("GET", "/api/v1/quotas", "/api/v1/quotas", Some(EVERYONE)),
        ("GET", "/api/v1/alerts", "/api/v1/alerts", Some(EVERYONE)),
        (
            "POST",
            "/api/v1/alerts/{id}/acknowledge",
            "/api/v1/alerts/1/acknowledge",
            Some(&[Admin, Engineer]),
        ),
        (
            "POST",
            "/api/v1/alerts/{id}/resolve",
            "/api/v1/alerts/1/resolve",
            Some(&[Admin, Engineer]),
        ),
        (
            "GET",
            "/api/v1/ratings/{month}",
            "/api/v1/ratings/2026-10",
            Some(EVERYONE),
        ),
        (
            "POST",
            "/api/v1/ratings/{month}/committee",
            "/api/v1/ratings/2026-10/committee",
            Some(&[Admin, Committee]),
        ),
        (
            "GET",
            "/api/v1/billing/{month}/statements",
            "/api/v1/billing/2026-10/statements",
            Some(&[Admin, Finance]),
        ),
        (
            "GET",
            "/api/v1/billing/{month}/statements.csv",
            "/api/v1/billing/2026-10/statements.csv",
            Some(&[Admin, Finance]),
        ),
        (
            "GET",
            "/api/v1/billing/{month}/statements.xlsx",
            "/api/v1/billing/2026-10/statements.xlsx",
            Some(&[Admin, Finance]),
        ),
        (
            "GET",
            "/api/v1/billing/{month}/statements.pdf",
            "/api/v1/billing/2026-10/statements.pdf",
            Some(&[Admin, Finance]),
        ),
        (
            "POST",
            "/api/v1/billing/{month}/issue",
            "/api/v1/billing/2026-10/issue",
            Some(&[Admin, Finance]),
        ),
        (
            "POST",
            "/api/v1/billing/{month}/accept",
            "/api/v1/billing/2026-10/accept",
            Some(&[Admin, Finance]),
        ),
        (
            "GET",
            "/api/v1/billing/opening-balances",
            "/api/v1/billing/opening-balances",
            Some(&[Admin, Finance]),
        ),
        (
            "POST",
            "/api/v1/billing/opening-balances",
            "/api/v1/billing/opening-balances",
            Some(&[Admin, Finance]),
        ),
        (
            "GET",
            "/api/v1/billing/payments",
            "/api/v1/billing/payments",
            Some(&[Admin, Finance]),
        ),
        (
            "POST",
            "/api/v1/billing/payments",
            "/api/v1/billing/payments",
            Some(&[Admin, Finance]),
        ),
        (
            "GET",
            "/api/v1/billing/outstanding",
            "/api/v1/billing/outstanding",
            Some(&[Admin, Finance]),
        ),
        (
            "GET",
            "/api/v1/billing/recovery",
            "/api/v1/billing/recovery",
            Some(&[Admin, Finance]),
        ),
        (
            "GET",
            "/api/v1/reports/monthly/{month}",
            "/api/v1/reports/monthly/2026-10.html",
            Some(EVERYONE),
        ),
        ("GET", "/api/v1/inputs", "/api/v1/inputs", Some(EVERYONE)),
        (
            "POST",
            "/api/v1/readings",
            "/api/v1/readings",
            Some(&[Admin, Engineer]),
        ),
        ("GET", "/api/v1/users", "/api/v1/users", Some(&[Admin])),
        ("POST", "/api/v1/users", "/api/v1/users", Some(&[Admin])),
        (
            "PATCH",
            "/api/v1/users/{name}",
            "/api/v1/users/nobody",
            Some(&[Admin]),
        ),
        (
            "POST",
            "/api/v1/users/{name}/tokens",
            "/api/v1/users/nobody/tokens",
            Some(&[Admin]),
        ),
        (
            "DELETE",
            "/api/v1/users/{name}/tokens/{id}",
            "/api/v1/users/nobody/tokens/0123456789ab",
            Some(&[Admin]),
        ),
    ]
}

fn request(method: &str, uri: &str) -> Request<Body> {
    let b = Request::builder().method(method).uri(uri);
    if method == "POST" || method == "PATCH" {
        // An empty object: handlers answer 400 or 404 to it, which is past the guard.
        b.header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap()
    } else {
        b.body(Body::empty()).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_every_role_as_the_table_says() {
    // The table lists every route of the router (POST /login and /logout are checked below).
    let routes: BTreeSet<&str> = jieneng::http::routes::ROUTES
        .iter()
        .map(|r| r.path)
        .collect();
    let listed: BTreeSet<&str> = table().iter().map(|r| r.1).chain(["/logout"]).collect();
    assert_eq!(
        routes, listed,
        "the authorization table is out of step with the router"
    );

    let common::Started {
        dir: _dir,
        config: _config,
        rt,
    } = common::start(CONFIG);
    let state = rt.app_state();
    let anonymous = jieneng::http::router(state.clone());
    let mut failures = Vec::new();
    for role in Role::ALL {
        let app = common::as_role(&state, role);
        for (method, route, uri, who) in table() {
            let status = app
                .clone()
                .oneshot(request(method, uri))
                .await
                .unwrap()
                .status();
            let allowed = who.is_none_or(|w| w.contains(&role));
            let ok = if allowed {
                status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN
            } else {
                status == StatusCode::FORBIDDEN
            };
            if !ok {
                failures.push(format!("{} {method} {route}: {status}", role.name()));
            }
        }
    }
    for (method, route, uri, who) in table() {
        let status = anonymous
            .clone()
            .oneshot(request(method, uri))
            .await
            .unwrap()
            .status();
        let expected_public = who.is_none();
        if expected_public == (status == StatusCode::UNAUTHORIZED) {
            failures.push(format!("anonymous {method} {route}: {status}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // A wrong token is refused, not treated as anonymous.
    let bad = Request::get("/api/v1/meters")
        .header(header::AUTHORIZATION, "Bearer nope")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        anonymous.clone().oneshot(bad).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
}

fn cookie_of(res: &axum::response::Response) -> String {
    res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sessions_need_the_csrf_token_for_changes() {
    let common::Started {
        dir: _dir,
        config: _config,
        rt,
    } = common::start(CONFIG);
    let state = rt.app_state();
    state
        .store
        .writer()
        .unwrap()
        .create_user(
            "zhang",
            "张工",
            Role::Engineer,
            Some("long enough password"),
            "test",
        )
        .unwrap();
    let app = jieneng::http::router(state.clone());
    let form = |body: &str| {
        Request::post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let res = app
        .clone()
        .oneshot(form("name=zhang&password=wrong+password&next=%2F"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get(header::SET_COOKIE).is_none());
    let res = app
        .clone()
        .oneshot(form(
            "name=zhang&password=long+enough+password&next=%2Fapi%2Fv1%2Fmeters",
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/api/v1/meters");
    let set = res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let cookie = cookie_of(&res);

    let with_cookie = |req: Request<Body>| {
        let (mut parts, body) = req.into_parts();
        parts
            .headers
            .insert(header::COOKIE, cookie.parse().unwrap());
        Request::from_parts(parts, body)
    };
    let res = app
        .clone()
        .oneshot(with_cookie(common::get("/api/v1/session")))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = serde_json::from_slice(
        &axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (body["user"].as_str(), body["role"].as_str()),
        (Some("zhang"), Some("engineer"))
    );
    let csrf = body["csrf"].as_str().unwrap().to_string();

    let reading = json!([{"meter": "m1", "time": "2026-10-01T00:00:00+08:00", "quantity": "energy_import_kwh", "value": 5.0}]);
    let res = app
        .clone()
        .oneshot(with_cookie(common::post(
            "/api/v1/readings",
            reading.clone(),
        )))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no CSRF token");
    let mut req = with_cookie(common::post("/api/v1/readings", reading));
    req.headers_mut()
        .insert("x-csrf-token", csrf.parse().unwrap());
    assert_eq!(
        app.clone().oneshot(req).await.unwrap().status(),
        StatusCode::CREATED
    );

    // Who did it is the signed-in account: a body naming someone else is refused, and the
    // audit log names the engineer, never "finance".
    let change = |uri: &str, body: serde_json::Value| {
        let mut req = with_cookie(common::post(uri, body));
        req.headers_mut()
            .insert("x-csrf-token", csrf.parse().unwrap());
        req
    };
    let correction = "/api/v1/meters/m1/corrections";
    let strike = |who_field: Option<&str>| {
        let mut body =
            json!({"kind": "strike_out", "time": "2026-10-01T00:00:00+08:00", "note": "抄错"});
        if let Some(field) = who_field {
            body[field] = json!("finance");
        }
        body
    };
    for field in ["entered_by", "recorded_by", "by"] {
        let res = app
            .clone()
            .oneshot(change(correction, strike(Some(field))))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{field}");
        let body: serde_json::Value = serde_json::from_slice(
            &axum::body::to_bytes(res.into_body(), 1 << 16)
                .await
                .unwrap(),
        )
        .unwrap();
        let error = body["error"].as_str().unwrap();
        assert!(
            error.contains(&format!("`{field}` is not accepted")),
            "{error}"
        );
    }
    let res = app
        .clone()
        .oneshot(change(correction, strike(None)))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .clone()
        .oneshot(with_cookie(common::get("/api/v1/meters/m1/audit")))
        .await
        .unwrap();
    let audit: serde_json::Value = serde_json::from_slice(
        &axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap(),
    )
    .unwrap();
    let entries: Vec<(&str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["action"].as_str().unwrap(), a["who"].as_str().unwrap()))
        .collect();
    assert_eq!(
        entries,
        [("reading.strike_out", "zhang"), ("readings.enter", "zhang")]
    );

    // Signed out, the cookie no longer works.
    let res = app
        .clone()
        .oneshot(with_cookie(
            Request::post("/logout").body(Body::empty()).unwrap(),
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = app
        .clone()
        .oneshot(with_cookie(common::get("/api/v1/meters")))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Pages answer 401 with the sign-in form.
    let res = app.clone().oneshot(common::get("/")).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let html = String::from_utf8(
        axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(html.contains("action=\"/login\""));
}
