//! Notification delivery (告警通知): webhooks (a JSON POST whose body a template shapes, so
//! WeCom and DingTalk group robots work) and e-mail over SMTP. The one place in `rules` that
//! does I/O; whether and when to send is decided by `alert::should_notify` and
//! `alert::RateLimiter`.
//!
//! Webhook URLs of chat robots carry their access token in the query string and SMTP URLs may
//! carry a password, so channels are named and errors reported with the query and the user
//! part removed.

use std::error::Error as StdError;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use minijinja::value::{Kwargs, Serde};
use minijinja::{Environment, ErrorKind, UndefinedBehavior, Value, context};
use reqwest011::Url;
use reqwest011::header::CONTENT_TYPE;
use serde::Serialize;

use super::alert::{Alert, AlertKind, Severity, Status};
use super::notify_settings::redacted;
pub use super::notify_settings::{EmailConfig, Lang, NotifyConfig, WebhookConfig};
use crate::config::secret::Secret;

/// How long one delivery may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(10);

/// WeCom (企业微信) group robot, text message. Use as a webhook's `body`.
pub const WECOM_TEXT_TEMPLATE: &str = r#"{"msgtype":"text","text":{"content":{{ text|tojson }}}}"#;

/// DingTalk (钉钉) group robot, text message. A robot secured by keywords needs one of them
/// in the content: write it into the template (`{{ ("节能 " ~ text)|tojson }}`).
pub const DINGTALK_TEXT_TEMPLATE: &str =
    r#"{"msgtype":"text","text":{"content":{{ text|tojson }}},"at":{"isAtAll":false}}"#;

/// An alert with awkward text, for checking templates at load time: a template that does not
/// escape quotes, backslashes or line breaks fails on it.
fn sample_alert() -> Alert {
    let at = chrono::DateTime::UNIX_EPOCH;
    Alert {
        id: 1,
        kind: AlertKind::WaterLeak,
        subject: "sample \"meter\"".into(),
        severity: Severity::Critical,
        status: Status::Open,
        message_zh: "夜间持续用水，\"疑似\"漏水 \\ 换行\n<标签> & '单引号'".into(),
        message_en: "Water \"flowed\" all night \\ new line\n<tag> & 'quote'".into(),
        value: Some(rust_decimal::Decimal::new(5, 2)),
        threshold: Some(rust_decimal::Decimal::new(1, 2)),
        first_seen: at,
        last_seen: at,
        count: 1,
        acknowledged_by: None,
        acknowledged_at: None,
        acknowledged_note: None,
        resolved_by: None,
        resolved_at: None,
        resolved_note: None,
        last_notified: None,
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // A misspelt variable is an error at load time, not an empty string in a chat ...
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // ... nor a `null`, which the built-in `tojson` makes of it.
    env.add_filter(
        "tojson",
        |value: &Value, indent: Option<Value>, args: Kwargs| {
            if value.is_undefined() {
                return Err(minijinja::Error::new(
                    ErrorKind::UndefinedError,
                    "tojson of an undefined value (a misspelt variable?)",
                ));
            }
            minijinja::filters::tojson(value, indent, args)
        },
    );
    env
}

impl NotifyConfig {
    /// What is wrong with the settings, one message per problem: bad URLs, templates that do
    /// not parse or do not render a sample alert to valid JSON, bad addresses.
    pub fn validate(&self) -> Vec<String> {
        let mut errors = Vec::new();
        let env = environment();
        for (i, w) in self.webhooks.iter().enumerate() {
            let at = format!("notify.webhooks[{i}]");
            match Url::parse(&w.url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
                _ => errors.push(format!(
                    "{at}.url: not an http:// or https:// URL ({})",
                    redacted(&w.url)
                )),
            }
            if let Some(body) = &w.body {
                match env.template_from_str(body) {
                    Err(e) => errors.push(format!("{at}.body: {}", describe(&e))),
                    Ok(t) => {
                        let rendered =
                            t.render(template_context(&sample_alert(), "示例单位", w.lang));
                        match rendered {
                            Err(e) => errors.push(format!("{at}.body: {}", describe(&e))),
                            Ok(json) => {
                                if let Err(e) = serde_json::from_str::<serde_json::Value>(&json) {
                                    errors.push(format!(
                                        "{at}.body: does not render to valid JSON ({e}); put text through `|tojson`"
                                    ));
                                }
                            }
                        }
                    }
                }
            }
        }
        if let Some(m) = &self.email {
            if let Err(e) = AsyncSmtpTransport::<Tokio1Executor>::from_url(&m.smtp_url) {
                errors.push(format!("notify.email.smtp_url: {}", describe(&e)));
            }
            if let Err(e) = m.from.parse::<Mailbox>() {
                errors.push(format!("notify.email.from: `{}`: {e}", m.from));
            }
            if m.to.is_empty() {
                errors.push("notify.email.to: name at least one recipient".into());
            }
            for (i, to) in m.to.iter().enumerate() {
                if let Err(e) = to.parse::<Mailbox>() {
                    errors.push(format!("notify.email.to[{i}]: `{to}`: {e}"));
                }
            }
            if m.password_env
                .as_deref()
                .is_some_and(|v| v.trim().is_empty())
            {
                errors.push("notify.email.password_env: name an environment variable".into());
            }
        }
        errors
    }
}

/// The variables a webhook template sees.
fn template_context(alert: &Alert, site: &str, lang: Lang) -> Value {
    let (message, severity_label, kind_label) = match lang {
        Lang::Zh => (
            &alert.message_zh,
            alert.severity.label_zh(),
            alert.kind.label_zh(),
        ),
        Lang::En => (
            &alert.message_en,
            alert.severity.label_en(),
            alert.kind.label_en(),
        ),
    };
    let text = match lang {
        Lang::Zh => format!(
            "【节能监测】{site}\n{severity_label} {kind_label} {}\n{message}",
            alert.subject
        ),
        Lang::En => format!(
            "[jieneng] {site}\n{severity_label}: {kind_label}, {}\n{message}",
            alert.subject
        ),
    };
    context! {
        alert => Value::from(Serde(alert)),
        site => site,
        lang => lang.code(),
        message => message,
        severity_label => severity_label,
        kind_label => kind_label,
        text => text,
    }
}

/// The settings could not make a notifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("notification settings: {}", .0.join("; "))]
pub struct NotifyConfigError(pub Vec<String>);

/// How one channel's delivery went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// `webhook:https://host/path` or `email:host`, without tokens or passwords.
    pub channel: String,
    pub ok: bool,
    pub error: Option<String>,
}

impl Delivery {
    fn done(channel: &str, result: Result<(), String>) -> Delivery {
        if let Err(e) = &result {
            tracing::warn!(channel, error = %e, "alert notification failed");
        }
        Delivery {
            channel: channel.to_string(),
            ok: result.is_ok(),
            error: result.err(),
        }
    }
}

struct Webhook {
    url: String,
    channel: String,
    /// The template's name in the environment, when the body is templated.
    template: Option<String>,
    min_severity: Option<Severity>,
    lang: Lang,
}

struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    channel: String,
    from: Mailbox,
    to: Vec<Mailbox>,
    min_severity: Option<Severity>,
}

/// Sends alerts to every configured channel.
pub struct Notifier {
    site: String,
    env: Environment<'static>,
    http: reqwest011::Client,
    webhooks: Vec<Webhook>,
    mailer: Option<Mailer>,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let channels: Vec<&str> = self
            .webhooks
            .iter()
            .map(|w| w.channel.as_str())
            .chain(self.mailer.iter().map(|m| m.channel.as_str()))
            .collect();
        f.debug_struct("Notifier")
            .field("site", &self.site)
            .field("channels", &channels)
            .finish()
    }
}

impl Notifier {
    /// A notifier for `site` (its name heads every message). Fails on what `validate` finds,
    /// and when the SMTP password's environment variable is not set.
    pub fn new(config: NotifyConfig, site: &str) -> Result<Notifier, NotifyConfigError> {
        let mut errors = config.validate();
        let mut env = environment();
        let mut webhooks = Vec::new();
        for (i, w) in config.webhooks.into_iter().enumerate() {
            let template = w.body.map(|body| {
                let name = format!("webhook-{i}");
                if let Err(e) = env.add_template_owned(name.clone(), body) {
                    errors.push(format!("notify.webhooks[{i}].body: {}", describe(&e)));
                }
                name
            });
            webhooks.push(Webhook {
                channel: format!("webhook:{}", redacted(&w.url)),
                url: w.url,
                template,
                min_severity: w.min_severity,
                lang: w.lang,
            });
        }
        let mailer = match config.email {
            Some(m) if errors.is_empty() => match mailer(m) {
                Ok(m) => Some(m),
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
            _ => None,
        };
        let http = reqwest011::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| NotifyConfigError(vec![format!("HTTP client: {}", describe(&e))]))?;
        if !errors.is_empty() {
            return Err(NotifyConfigError(errors));
        }
        Ok(Notifier {
            site: site.to_string(),
            env,
            http,
            webhooks,
            mailer,
        })
    }

    /// Sends `alert` to every channel whose minimum severity it reaches, all at once; one
    /// [`Delivery`] per channel tried, in configuration order (webhooks, then e-mail).
    pub async fn send(&self, alert: &Alert) -> Vec<Delivery> {
        let reaches = |min: Option<Severity>| min.is_none_or(|m| alert.severity >= m);
        let mut sends: Vec<futures::future::BoxFuture<'_, Delivery>> = Vec::new();
        for w in self.webhooks.iter().filter(|w| reaches(w.min_severity)) {
            sends.push(Box::pin(async move {
                Delivery::done(&w.channel, self.post(w, alert).await)
            }));
        }
        if let Some(m) = self.mailer.as_ref().filter(|m| reaches(m.min_severity)) {
            sends.push(Box::pin(async move {
                Delivery::done(&m.channel, self.mail(m, alert).await)
            }));
        }
        futures::future::join_all(sends).await
    }

    /// The body a webhook template makes of `alert`, checked to be JSON.
    fn body(&self, w: &Webhook, alert: &Alert) -> Result<Vec<u8>, String> {
        let Some(name) = &w.template else {
            return serde_json::to_vec(alert).map_err(|e| format!("alert as JSON: {e}"));
        };
        let rendered = self
            .env
            .get_template(name)
            .and_then(|t| t.render(template_context(alert, &self.site, w.lang)))
            .map_err(|e| format!("template: {}", describe(&e)))?;
        serde_json::from_str::<serde_json::Value>(&rendered)
            .map_err(|e| format!("template did not render valid JSON: {e}"))?;
        Ok(rendered.into_bytes())
    }

    async fn post(&self, w: &Webhook, alert: &Alert) -> Result<(), String> {
        let body = self.body(w, alert)?;
        let response = self
            .http
            .post(&w.url)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| describe(&e.without_url()))?;
        let status = response.status();
        let answer = response.bytes().await.unwrap_or_default();
        if !status.is_success() {
            let text = String::from_utf8_lossy(&answer);
            let text: String = text.trim().chars().take(200).collect();
            return Err(if text.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("HTTP {status}: {text}")
            });
        }
        robot_answer(&answer)
    }

    async fn mail(&self, m: &Mailer, alert: &Alert) -> Result<(), String> {
        let mut builder = Message::builder()
            .from(m.from.clone())
            .subject(email_subject(alert))
            .message_id(None)
            .header(ContentType::TEXT_PLAIN);
        for to in &m.to {
            builder = builder.to(to.clone());
        }
        let message = builder
            .body(email_body(alert, &self.site))
            .map_err(|e| format!("message: {}", describe(&e)))?;
        m.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| describe(&e))
    }
}

/// WeCom and DingTalk robots answer 200 with `{"errcode": N, "errmsg": ...}`; N ≠ 0 means the
/// message was refused (bad token, missing keyword, too many messages).
fn robot_answer(answer: &[u8]) -> Result<(), String> {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(answer) else {
        return Ok(());
    };
    match json.get("errcode").and_then(serde_json::Value::as_i64) {
        Some(code) if code != 0 => {
            let msg = json
                .get("errmsg")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default();
            Err(format!("robot refused the message: errcode {code} {msg}"))
        }
        _ => Ok(()),
    }
}

fn mailer(m: EmailConfig) -> Result<Mailer, String> {
    let from: Mailbox = m
        .from
        .parse()
        .map_err(|e| format!("notify.email.from: {e}"))?;
    let to =
        m.to.iter()
            .map(|t| t.parse::<Mailbox>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("notify.email.to: {e}"))?;
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&m.smtp_url)
        .map_err(|e| format!("notify.email.smtp_url: {}", describe(&e)))?;
    let password = Secret::from_env_or_file(m.password_env.as_deref(), None, Path::new("."))
        .map_err(|e| format!("notify.email.password_env: {e}"))?;
    if let Some(password) = password {
        let url = Url::parse(&m.smtp_url).map_err(|e| format!("notify.email.smtp_url: {e}"))?;
        let user = percent_decode(url.username())
            .ok_or("notify.email.smtp_url: the user name is not valid percent-encoded UTF-8")?;
        if user.is_empty() {
            return Err(
                "notify.email: password_env is set but smtp_url names no user (smtp://user@host)"
                    .into(),
            );
        }
        builder = builder.credentials(Credentials::new(user, password.expose().to_string()));
    }
    Ok(Mailer {
        transport: builder.timeout(Some(TIMEOUT)).build(),
        channel: format!("email:{}", redacted(&m.smtp_url)),
        from,
        to,
        min_severity: m.min_severity,
    })
}

/// `%40` → `@`, as user names in URLs are written.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `【节能监测】严重 疑似漏水 library-water`
pub fn email_subject(alert: &Alert) -> String {
    format!(
        "【节能监测】{} {} {}",
        alert.severity.label_zh(),
        alert.kind.label_zh(),
        alert.subject
    )
}

/// Chinese first, then English; times in UTC, as stored.
pub fn email_body(alert: &Alert, site: &str) -> String {
    let figures = |value: &str, threshold: &str| {
        let mut s = String::new();
        if let Some(v) = alert.value {
            s.push_str(&format!("{value}{v}"));
        }
        if let Some(t) = alert.threshold {
            s.push_str(&format!("  {threshold}{t}"));
        }
        s
    };
    let time = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    format!(
        "{site}\n\
         {} {}：{}\n\
         {}\n\
         {}\n\
         首次发现 {}，最近发现 {}，共 {} 次\n\
         \n\
         ---\n\
         {} {}: {}\n\
         {}\n\
         {}\n\
         First seen {}, last seen {}, {} time(s)\n\
         \n\
         告警编号 / alert id: {}\n",
        alert.severity.label_zh(),
        alert.kind.label_zh(),
        alert.subject,
        alert.message_zh,
        figures("数值 ", "阈值 "),
        time(alert.first_seen),
        time(alert.last_seen),
        alert.count,
        alert.severity.label_en(),
        alert.kind.label_en(),
        alert.subject,
        alert.message_en,
        figures("value ", "threshold "),
        time(alert.first_seen),
        time(alert.last_seen),
        alert.count,
        alert.id,
    )
}

/// An error with its causes: "error sending request: connection refused".
fn describe(e: &dyn StdError) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_templates_render_valid_json() {
        for body in [WECOM_TEXT_TEMPLATE, DINGTALK_TEXT_TEMPLATE] {
            let config = NotifyConfig {
                webhooks: vec![WebhookConfig {
                    url: "https://oapi.dingtalk.com/robot/send?access_token=secret".into(),
                    body: Some(body.into()),
                    min_severity: None,
                    lang: Lang::Zh,
                }],
                email: None,
            };
            assert_eq!(config.validate(), Vec::<String>::new());
        }
    }

    #[test]
    fn urls_are_shown_without_tokens() {
        assert_eq!(
            redacted("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"),
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
        );
        assert_eq!(
            redacted("smtps://user:pw@mail.example.edu.cn:465"),
            "smtps://mail.example.edu.cn:465"
        );
        assert_eq!(percent_decode("a%40b.cn").as_deref(), Some("a@b.cn"));
        assert_eq!(percent_decode("a%4"), None);
    }

    #[test]
    fn robot_errors_are_failures() {
        assert!(robot_answer(br#"{"errcode":0,"errmsg":"ok"}"#).is_ok());
        assert!(robot_answer(b"ok").is_ok());
        let e = robot_answer(br#"{"errcode":310000,"errmsg":"keywords not in content"}"#);
        assert!(e.unwrap_err().contains("310000"));
    }
}
