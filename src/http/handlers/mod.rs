pub mod consumption;
pub mod events;
pub mod health;
pub mod inputs;
pub mod meters;
pub mod metrics;
pub mod pages;
pub mod readings;
