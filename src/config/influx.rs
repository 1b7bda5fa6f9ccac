//! `[influx]`: the optional InfluxDB 2 API sink (InfluxDB 2.x/3.x/Cloud, VictoriaMetrics,
//! GreptimeDB).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::ConfigError;
use super::error::At;
use super::secret::Secret;

#[derive(Debug, Clone)]
pub struct InfluxConfig {
    /// Base URL, e.g. http://127.0.0.1:8086 (the sink posts to /api/v2/write).
    pub url: String,
    pub org: String,
    pub bucket: String,
    pub token: Option<Secret>,
    /// Lines per request at most.
    pub batch_lines: usize,
    /// A partly filled batch is sent after this long.
    pub flush_interval: Duration,
    /// Where batches wait while the server is unreachable.
    pub spool_dir: PathBuf,
    pub spool_max_bytes: u64,
    /// Tags added to every line (`site = "north-campus"`), so several instances writing to one
    /// cluster can be told apart.
    pub tags: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InfluxFile {
    url: Spanned<String>,
    org: String,
    bucket: String,
    token_env: Option<String>,
    token_file: Option<String>,
    batch_lines: Option<Spanned<usize>>,
    flush_ms: Option<u64>,
    spool_dir: Option<PathBuf>,
    spool_max_mb: Option<u64>,
    tags: Option<Spanned<std::collections::BTreeMap<String, String>>>,
}

impl InfluxFile {
    pub(crate) fn build(
        &self,
        base: &Path,
        data_dir: &Path,
        at: &dyn Fn(std::ops::Range<usize>) -> At,
        errors: &mut Vec<ConfigError>,
    ) -> InfluxConfig {
        let url = self.url.get_ref().trim_end_matches('/').to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            errors.push(
                at(self.url.span()).error(format!("`{url}` is not an http:// or https:// URL")),
            );
        }
        let token =
            Secret::from_env_or_file(self.token_env.as_deref(), self.token_file.as_deref(), base)
                .unwrap_or_else(|e| {
                    errors.push(at(self.url.span()).error(format!("influx token: {e}")));
                    None
                });
        let batch_lines = match &self.batch_lines {
            None => 5000,
            Some(b) if (1..=5000).contains(b.get_ref()) => *b.get_ref(),
            Some(b) => {
                errors.push(at(b.span()).error("batch_lines must be between 1 and 5000"));
                5000
            }
        };
        let mut tags = Vec::new();
        if let Some(t) = &self.tags {
            for (key, value) in t.get_ref() {
                let valid = !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !valid {
                    errors.push(
                        at(t.span())
                            .error(format!("tag `{key}`: letters, digits, `_` or `-` only")),
                    );
                } else if crate::store::influx::TAGS.contains(&key.as_str()) {
                    errors.push(at(t.span()).error(format!(
                        "tag `{key}` is set by jieneng for every meter; choose another name (e.g. `site`)"
                    )));
                } else if value.trim().is_empty() {
                    errors.push(at(t.span()).error(format!("tag `{key}` has an empty value")));
                } else {
                    tags.push((key.clone(), value.clone()));
                }
            }
        }
        InfluxConfig {
            url,
            org: self.org.clone(),
            bucket: self.bucket.clone(),
            token,
            batch_lines,
            flush_interval: Duration::from_millis(self.flush_ms.unwrap_or(1000).clamp(10, 60_000)),
            spool_dir: data_dir.join(
                self.spool_dir
                    .clone()
                    .unwrap_or_else(|| "influx-spool".into()),
            ),
            spool_max_bytes: self.spool_max_mb.unwrap_or(1024).max(1) * 1024 * 1024,
            tags,
        }
    }
}

#[cfg(test)]
mod tests {
    const SITE: &str = r#"
[site]
name = "测试"
timezone = "Asia/Shanghai"

[influx]
url = "http://127.0.0.1:8086"
org = "o"
bucket = "b"
TAGS

[[units]]
id = "org"
name = "学院"
kind = "organisation"
"#;

    fn load(tags: &str) -> Result<crate::site::Site, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("site.toml");
        std::fs::write(&path, SITE.replace("TAGS", tags)).unwrap();
        crate::site::Site::load(&path).map_err(|e| e.to_string())
    }

    #[test]
    fn extra_tags_are_kept_and_reserved_names_refused_with_their_line() {
        let site = load(r#"tags = { site = "north-campus", district = "haidian" }"#).unwrap();
        let tags = &site.influx.unwrap().tags;
        assert_eq!(
            tags,
            &[
                ("district".to_string(), "haidian".to_string()),
                ("site".to_string(), "north-campus".to_string())
            ]
        );
        let err = load(r#"tags = { meter = "x" }"#).unwrap_err();
        assert!(
            err.contains("site.toml:10:") && err.contains("tag `meter`"),
            "{err}"
        );
        let err = load(r#"tags = { "a b" = "x" }"#).unwrap_err();
        assert!(err.contains("tag `a b`"), "{err}");
        let err = load(r#"tags = { site = " " }"#).unwrap_err();
        assert!(err.contains("empty value"), "{err}");
    }
}
