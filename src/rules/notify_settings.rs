//! Where alerts go (the site config's `[notify]`): webhooks and e-mail, as plain data. The
//! templates are checked against a sample alert by `NotifyConfig::validate` in `notify`.

use std::fmt;

use reqwest011::Url;
use serde::Deserialize;

use super::alert_settings::Severity;

/// Where alerts go (the site config's `[notify]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
    pub email: Option<EmailConfig>,
}

/// The language of the `message` and `text` a webhook template gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Lang {
    #[default]
    #[serde(rename = "zh")]
    Zh,
    #[serde(rename = "en")]
    En,
}

impl Lang {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    /// A minijinja template that renders the JSON body; without one the alert itself is sent
    /// as JSON. Variables: `alert` (the alert as in the API), `site`, `lang`, and in `lang`:
    /// `message`, `severity_label`, `kind_label` and `text` (a ready-made notification).
    /// Put text through `|tojson` so quotes and line breaks stay valid JSON.
    pub body: Option<String>,
    /// Alerts below this severity are not sent here.
    pub min_severity: Option<Severity>,
    #[serde(default)]
    pub lang: Lang,
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &redacted(&self.url))
            .field("body", &self.body)
            .field("min_severity", &self.min_severity)
            .field("lang", &self.lang)
            .finish()
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// `smtp://host:port` (plain), `smtp://host:587?tls=required` (STARTTLS), `smtps://host`
    /// (TLS); a user goes before the host (`smtp://alerts%40example.edu.cn@host`).
    pub smtp_url: String,
    /// The environment variable holding the SMTP password.
    pub password_env: Option<String>,
    /// `节能监测 <alerts@example.edu.cn>` or a bare address.
    pub from: String,
    pub to: Vec<String>,
    pub min_severity: Option<Severity>,
}

impl fmt::Debug for EmailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailConfig")
            .field("smtp_url", &redacted(&self.smtp_url))
            .field("password_env", &self.password_env)
            .field("from", &self.from)
            .field("to", &self.to)
            .field("min_severity", &self.min_severity)
            .finish()
    }
}

/// A URL as it may be shown: no user, password or query (robots' tokens live there).
pub(crate) fn redacted(url: &str) -> String {
    match Url::parse(url) {
        Ok(u) => {
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            let path = if u.path() == "/" { "" } else { u.path() };
            format!(
                "{}://{}{port}{path}",
                u.scheme(),
                u.host_str().unwrap_or_default()
            )
        }
        Err(_) => "(not a URL)".to_string(),
    }
}
