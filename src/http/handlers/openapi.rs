//! `GET /api/v1/openapi.json`: the document the router built from the route table
//! (`http::openapi::document`), handed to this handler as a request extension.

use std::sync::Arc;

use axum::{Extension, Json};
use serde_json::Value;

/// The OpenAPI document, built once per router.
#[derive(Clone)]
pub struct ApiDocument(pub Arc<Value>);

pub async fn openapi(Extension(ApiDocument(doc)): Extension<ApiDocument>) -> Json<Value> {
    Json(doc.as_ref().clone())
}
