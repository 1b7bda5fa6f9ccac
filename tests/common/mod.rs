//! Helpers shared by the HTTP tests: one request through the router, answered as JSON.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

/// Sends `req` to `app`; the status and the body as JSON (null when it is not JSON).
pub async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, serde_json::Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

/// A JSON POST.
pub fn post(uri: &str, body: serde_json::Value) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// A GET.
pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

/// The router as a user of `role` sees it: every request carries an API token of a user with
/// that role (made on first use).
pub fn as_role(state: &jieneng::http::AppState, role: jieneng::auth::Role) -> axum::Router {
    let token = token_for(state, role);
    jieneng::http::router(state.clone()).layer(axum::middleware::map_request(
        move |mut req: Request<Body>| {
            let value = format!("Bearer {token}").parse().unwrap();
            async move {
                req.headers_mut()
                    .insert(axum::http::header::AUTHORIZATION, value);
                req
            }
        },
    ))
}

/// A new API token of the user `test-<role>` (created when missing).
pub fn token_for(state: &jieneng::http::AppState, role: jieneng::auth::Role) -> String {
    let name = format!("test-{}", role.name());
    let mut w = state.store.writer().unwrap();
    let _ = w.create_user(&name, &name, role, None, "test");
    w.create_token(&name, "test", "test").unwrap()
}

/// A small site for the HTTP tests: one organisation, an electricity meter (`m1`) and a gas
/// meter (`gas`), both read by hand; sessions without the Secure flag (plain HTTP in tests).
pub const SMALL_SITE: &str = r#"
[site]
name = "测试学院"
timezone = "Asia/Shanghai"
data_dir = "DATA"

[http]
secure_cookies = false

[[units]]
id = "org"
name = "学院"
kind = "organisation"

[[meters]]
id = "m1"
name = "电表"
unit = "org"
category = "01000"
read_by_hand = "energy_import_kwh"

[[meters]]
id = "gas"
name = "燃气表"
unit = "org"
category = "03000"
read_by_hand = "gas_m3"
"#;

/// A site started from `config` text, its `DATA` replaced by a data folder in a new
/// temporary directory (kept as long as this value lives).
pub struct Started {
    pub dir: tempfile::TempDir,
    pub config: std::path::PathBuf,
    pub rt: jieneng::runtime::Runtime,
}

pub fn start(config: &str) -> Started {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jieneng.toml");
    let data = dir.path().join("data").display().to_string();
    std::fs::write(&path, config.replace("DATA", &data)).unwrap();
    let site = jieneng::site::Site::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let rt = jieneng::runtime::Runtime::start(site).unwrap();
    Started {
        dir,
        config: path,
        rt,
    }
}

/// A process a test started (a peer, socat), killed when the test ends.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
