pub mod health;
pub mod meters;
pub mod pages;
