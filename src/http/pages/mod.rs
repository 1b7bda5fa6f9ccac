//! Server-rendered pages, one file per page. Chinese by default, English with `?lang=en`. No
//! external assets: the sites are often intranets without internet access. Each page starts
//! from [`layout::Page`] (who is asking, the language, the site) and ends in its frame.

pub mod admin;
pub mod alerts;
pub mod billing;
pub mod layout;
pub mod meter;
pub mod overview;
pub mod ratings;
pub mod unit;
