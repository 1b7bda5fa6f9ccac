//! jieneng (节能): energy-saving monitoring for public institutions. See ARCHITECTURE.md.

pub mod alerting;
pub mod auth;
pub mod billing;
pub mod chart;
pub mod cli;
pub mod collect;
pub mod config;
pub mod csv_file;
pub mod decimal;
pub mod energy;
pub mod health;
pub mod http;
pub mod ingest;
pub mod quantity;
pub mod reading;
pub mod reload;
pub mod render;
pub mod report;
pub mod rules;
pub mod runtime;
pub mod sim;
pub mod site;
pub mod status;
pub mod store;
pub mod time;
