//! Administration through the API and the sign-in form: an admin adds a user, the user signs in,
//! the admin changes their role, disables them (their session and tokens stop working) and
//! revokes a token; every change is in the audit log under the admin's name. Repeated wrong
//! passwords are throttled.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use jieneng::auth::Role;
use serde_json::json;
use tower::ServiceExt;

const CONFIG: &str = common::SMALL_SITE;

fn sign_in(name: &str, password: &str) -> Request<Body> {
    Request::post("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "name={name}&password={password}&next=%2F"
        )))
        .unwrap()
}

fn with_header(mut req: Request<Body>, name: header::HeaderName, value: &str) -> Request<Body> {
    req.headers_mut().insert(name, value.parse().unwrap());
    req
}

fn patch(uri: &str, body: serde_json::Value) -> Request<Body> {
    Request::patch(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_manages_users_and_tokens_and_every_change_is_audited() {
    let common::Started {
        dir: _dir,
        config: _config,
        rt,
    } = common::start(CONFIG);
    let state = rt.app_state();
    let admin = common::as_role(&state, Role::Admin);
    let anonymous = jieneng::http::router(state.clone());

    // Add an engineer with a password; a bad role or a short password is refused by name.
    let (status, body) = common::call(
        &admin,
        common::post(
            "/api/v1/users",
            json!({"name": "li", "display_name": "李工", "role": "wizard", "password": "long enough pw"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"].as_str().unwrap().contains("role"), "{body}");
    let (status, body) = common::call(
        &admin,
        common::post(
            "/api/v1/users",
            json!({"name": "li", "role": "engineer", "password": "short"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"].as_str().unwrap().contains("10 characters"));
    let (status, body) = common::call(
        &admin,
        common::post(
            "/api/v1/users",
            json!({"name": "li", "display_name": "李工", "role": "engineer", "password": "long enough pw"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["role"], "engineer");

    // Li signs in and enters a reading by hand: audited under li.
    let res = anonymous
        .clone()
        .oneshot(sign_in("li", "long+enough+pw"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let (status, session) = common::call(
        &anonymous,
        with_header(common::get("/api/v1/session"), header::COOKIE, &cookie),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let csrf = session["csrf"].as_str().unwrap().to_string();
    let reading = json!([{"meter": "gas", "time": "2026-10-31T09:00:00+08:00", "quantity": "gas_m3", "value": 1520.0}]);
    let req = with_header(
        with_header(
            common::post("/api/v1/readings", reading),
            header::COOKIE,
            &cookie,
        ),
        header::HeaderName::from_static("x-csrf-token"),
        &csrf,
    );
    assert_eq!(
        anonymous.clone().oneshot(req).await.unwrap().status(),
        StatusCode::CREATED
    );
    let (status, page) = common::call(
        &anonymous,
        with_header(common::get("/admin"), header::COOKIE, &cookie),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");

    // A token for li's script; it works until revoked.
    let (status, made) = common::call(
        &admin,
        common::post("/api/v1/users/li/tokens", json!({"label": "scada export"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let token = made["token"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {token}");
    let as_li = |uri: &str| with_header(common::get(uri), header::AUTHORIZATION, &bearer);
    assert_eq!(
        common::call(&anonymous, as_li("/api/v1/alerts")).await.0,
        StatusCode::OK
    );
    let (_, listed) = common::call(&admin, common::get("/api/v1/users")).await;
    let id = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "scada export")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!token.starts_with(&id), "the listed id is not the token");
    let res = admin
        .clone()
        .oneshot(
            Request::delete(format!("/api/v1/users/li/tokens/{id}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        common::call(&anonymous, as_li("/api/v1/alerts")).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Role change, then disabling: li's session ends.
    let (status, changed) =
        common::call(&admin, patch("/api/v1/users/li", json!({"role": "viewer"}))).await;
    assert_eq!(
        (status, changed["role"].as_str()),
        (StatusCode::OK, Some("viewer"))
    );
    let (status, _) =
        common::call(&admin, patch("/api/v1/users/li", json!({"disabled": true}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        common::call(
            &anonymous,
            with_header(common::get("/api/v1/session"), header::COOKIE, &cookie)
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    let res = anonymous
        .clone()
        .oneshot(sign_in("li", "long+enough+pw"))
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "disabled users cannot sign in"
    );
    let (status, body) =
        common::call(&admin, patch("/api/v1/users/li", json!({"colour": "red"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"].as_str().unwrap().contains("colour"), "{body}");
    let (status, _) = common::call(
        &admin,
        patch("/api/v1/users/nobody", json!({"disabled": true})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The audit log has each change under the admin who made it, and the reading under li.
    let (_, audit) = common::call(&admin, common::get("/api/v1/audit")).await;
    let entries = audit.as_array().unwrap();
    let by = |action: &str| -> Vec<String> {
        entries
            .iter()
            .filter(|a| a["action"] == action)
            .map(|a| a["who"].as_str().unwrap().to_string())
            .collect()
    };
    let created_li = entries
        .iter()
        .find(|a| a["action"] == "user.create" && a["target"] == "li")
        .unwrap();
    assert_eq!(created_li["who"], "test-admin");
    assert_eq!(by("user.update"), vec!["test-admin", "test-admin"]);
    assert_eq!(by("user.token_revoke"), vec!["test-admin"]);
    assert!(
        entries
            .iter()
            .any(|a| a["who"] == "li" && a["meter"] == "gas"),
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_are_throttled_per_user_name() {
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
        .create_user("wang", "王", Role::Finance, Some("the right one"), "test")
        .unwrap();
    let app = jieneng::http::router(state.clone());
    for k in 0..5 {
        let res = app.clone().oneshot(sign_in("wang", "guess")).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "attempt {k}");
    }
    // Now even the right password waits: the throttle does not say which was right.
    let res = app
        .clone()
        .oneshot(sign_in("wang", "the+right+one"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let page = axum::body::to_bytes(res.into_body(), 1 << 16)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&page).contains("分钟后再试"));
    // Another user is not held up.
    state
        .store
        .writer()
        .unwrap()
        .create_user("zhao", "赵", Role::Viewer, Some("zhao's password"), "test")
        .unwrap();
    let res = app
        .clone()
        .oneshot(sign_in("zhao", "zhao%27s+password"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}
