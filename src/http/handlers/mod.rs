//! The JSON API handlers, one file per resource; pages live in `http::pages`.

pub mod alerts;
pub mod billing;
pub mod consumption;
pub mod corrections;
pub mod events;
pub mod health;
pub mod inputs;
pub mod live;
pub mod meters;
pub mod metrics;
pub mod openapi;
pub mod overview;
pub mod readings;
pub mod reports;
pub mod rules;
pub mod users;

/// A file to download: its bytes, content type and suggested name.
pub(crate) fn attachment(
    bytes: Vec<u8>,
    content_type: &str,
    name: &str,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [
            (axum::http::header::CONTENT_TYPE, content_type.to_string()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}
