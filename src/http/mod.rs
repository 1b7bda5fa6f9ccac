//! The web server: JSON API and pages. Only this module (and report renderers) know HTTP,
//! JSON shapes and HTML.

pub mod access;
pub mod auth;
pub mod body;
pub mod error;
pub mod handlers;
pub mod metrics_layer;
pub mod openapi;
pub mod pages;
pub mod router;
pub mod routes;
pub mod state;
pub mod throttle;

pub use router::router;
pub use state::AppState;
