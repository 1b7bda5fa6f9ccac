//! The web server: JSON API and pages. Only this module (and report renderers) know HTTP,
//! JSON shapes and HTML.

pub mod auth;
pub mod body;
pub mod error;
pub mod handlers;
pub mod metrics_layer;
pub mod openapi;
pub mod router;
pub mod state;

pub use router::router;
pub use state::AppState;
