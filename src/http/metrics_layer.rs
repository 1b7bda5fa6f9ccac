//! Counts every HTTP request for `/metrics`: by route template (`/api/v1/meters/{id}`, never
//! the raw path, so the series stay few), method and status class, with the time to the
//! response head (a streamed body — live events, large files — is not timed to its end).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use super::state::AppState;

/// The middleware (`Router::layer`, outside every other layer, so refusals count too).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_string();
    let method = match *req.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    };
    let started = Instant::now();
    let res = next.run(req).await;
    state.health.http_request(
        &route,
        method,
        res.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    res
}
