pub mod health;
pub mod meters;
pub mod metrics;
pub mod pages;
