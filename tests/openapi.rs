//! The OpenAPI document stays in step with the router: the same paths, and for each path the
//! documented methods are the ones the router answers (others get 405).

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use jieneng::auth::Role;
use tower::ServiceExt;

const CONFIG: &str = r#"
[site]
name = "t"
data_dir = "DATA"

[[units]]
id = "org"
name = "org"
kind = "organisation"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_lists_exactly_the_routes_and_methods_served() {
    let doc = jieneng::http::openapi::document();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let routed: BTreeSet<String> = jieneng::http::routes::ROUTES
        .iter()
        .map(|r| r.path.to_string())
        .collect();
    assert_eq!(
        documented, routed,
        "the document and the route table differ"
    );

    let common::Started {
        dir: _dir,
        config: _config,
        rt,
    } = common::start(CONFIG);
    let app = common::as_role(&rt.app_state(), Role::Admin);
    let mut wrong = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let uri = path
            .replace("{id}", "x")
            .replace("{month}", "2026-10")
            .replace("{name}", "nobody");
        for method in [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ] {
            let documented = ops.get(method.as_str().to_lowercase()).is_some();
            let req = Request::builder()
                .method(method.clone())
                .uri(&uri)
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let status = app.clone().oneshot(req).await.unwrap().status();
            let served = status != StatusCode::METHOD_NOT_ALLOWED;
            if documented != served {
                wrong.push(format!(
                    "{method} {path}: documented {documented}, answered {status}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let (status, served) = common::call(&app, common::get("/api/v1/openapi.json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(served, doc);
}
