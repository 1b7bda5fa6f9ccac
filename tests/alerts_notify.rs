//! Alert notification against local peers: an axum server standing in for a chat robot, and a
//! minimal SMTP sink. Nothing leaves 127.0.0.1.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use chrono::{TimeZone, Utc};
use jieneng::rules::alert::{Alert, AlertKind, Finding, Severity, apply, reconcile};
use jieneng::rules::notify::{
    DINGTALK_TEXT_TEMPLATE, EmailConfig, Notifier, NotifyConfig, WebhookConfig, email_subject,
};
use rust_decimal::Decimal;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const MESSAGE_ZH: &str = "图书馆夜间持续用水 0.05 m³/h，\"疑似\"漏水\n请检查 \\ 阀门";

/// A leak alert with quotes, a backslash and a line break in its message, as reconcile and
/// apply raise it.
fn leak_alert() -> Alert {
    let at = Utc.with_ymd_and_hms(2026, 11, 10, 1, 0, 0).unwrap();
    let finding = Finding {
        kind: AlertKind::WaterLeak,
        subject: "library-water".into(),
        severity: Severity::Critical,
        message_zh: MESSAGE_ZH.into(),
        message_en: "Water flowed all night, \"possible\" leak".into(),
        value: Some(Decimal::new(5, 2)),
        threshold: Some(Decimal::new(1, 2)),
        at,
    };
    let mut alerts = Vec::new();
    let changes = reconcile(&alerts, &[finding]);
    apply(&mut alerts, &changes, at);
    alerts.remove(0)
}

/// A request the robot got: its content type and body.
type Request = (Option<String>, Bytes);

#[derive(Clone, Default)]
struct Recorded(Arc<Mutex<Vec<Request>>>);

async fn record(
    State(r): State<Recorded>,
    headers: HeaderMap,
    body: Bytes,
) -> impl axum::response::IntoResponse {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    r.0.lock().unwrap().push((content_type, body));
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"errcode":0,"errmsg":"ok"}"#,
    )
}

async fn refuse() -> impl axum::response::IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"errcode":310000,"errmsg":"keywords not in content"}"#,
    )
}

async fn broken() -> StatusCode {
    StatusCode::INTERNAL_SERVER_ERROR
}

/// A robot stand-in on 127.0.0.1 that records what it is sent.
async fn robot() -> (SocketAddr, Recorded) {
    let recorded = Recorded::default();
    let app = Router::new()
        .route("/robot/send", post(record))
        .route("/robot/refuse", post(refuse))
        .route("/robot/broken", post(broken))
        .with_state(recorded.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, recorded)
}

fn webhook(url: String, body: Option<&str>) -> WebhookConfig {
    toml::from_str::<WebhookConfig>(&format!("url = {url:?}"))
        .map(|mut w| {
            w.body = body.map(str::to_string);
            w
        })
        .unwrap()
}

#[tokio::test]
async fn dingtalk_template_delivers_exact_text_as_json() {
    let (addr, recorded) = robot().await;
    let url = format!("http://{addr}/robot/send?access_token=s3cret");
    let config = NotifyConfig {
        webhooks: vec![webhook(url, Some(DINGTALK_TEXT_TEMPLATE))],
        email: None,
    };
    let notifier = Notifier::new(config, "测试大学").unwrap();
    let deliveries = notifier.send(&leak_alert()).await;
    assert_eq!(deliveries.len(), 1);
    assert!(deliveries[0].ok, "{:?}", deliveries[0].error);
    assert_eq!(
        deliveries[0].channel,
        format!("webhook:http://{addr}/robot/send")
    );

    let got = recorded.0.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.as_deref(), Some("application/json"));
    let json: serde_json::Value = serde_json::from_slice(&got[0].1).expect("valid JSON");
    assert_eq!(json["msgtype"], "text");
    assert_eq!(
        json["text"]["content"].as_str().unwrap(),
        format!("【节能监测】测试大学\n严重 疑似漏水 library-water\n{MESSAGE_ZH}")
    );
    assert_eq!(json["at"]["isAtAll"], false);
}

#[tokio::test]
async fn default_body_is_the_alert_as_json() {
    let (addr, recorded) = robot().await;
    let config = NotifyConfig {
        webhooks: vec![webhook(format!("http://{addr}/robot/send"), None)],
        email: None,
    };
    let alert = leak_alert();
    let deliveries = Notifier::new(config, "测试大学")
        .unwrap()
        .send(&alert)
        .await;
    assert!(deliveries[0].ok);
    let got = recorded.0.lock().unwrap().clone();
    let back: Alert = serde_json::from_slice(&got[0].1).unwrap();
    assert_eq!(back, alert);
}

#[tokio::test]
async fn failing_webhooks_report_errors() {
    let (addr, _) = robot().await;
    // A port nothing listens on: bound, then released.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_addr = closed.local_addr().unwrap();
    drop(closed);
    let config = NotifyConfig {
        webhooks: vec![
            webhook(
                format!("http://{closed_addr}/robot/send?access_token=s3cret"),
                None,
            ),
            webhook(
                format!("http://{addr}/robot/refuse"),
                Some(DINGTALK_TEXT_TEMPLATE),
            ),
            webhook(format!("http://{addr}/robot/broken"), None),
        ],
        email: None,
    };
    let deliveries = Notifier::new(config, "测试大学")
        .unwrap()
        .send(&leak_alert())
        .await;
    assert_eq!(deliveries.len(), 3);
    assert!(deliveries.iter().all(|d| !d.ok));
    let errors: Vec<&str> = deliveries
        .iter()
        .map(|d| d.error.as_deref().unwrap())
        .collect();
    assert!(
        !errors[0].is_empty() && !errors[0].contains("s3cret"),
        "{}",
        errors[0]
    );
    assert!(errors[1].contains("310000"), "{}", errors[1]);
    assert!(errors[2].contains("500"), "{}", errors[2]);
}

#[tokio::test]
async fn channels_skip_alerts_below_their_severity() {
    let (addr, recorded) = robot().await;
    let mut w = webhook(format!("http://{addr}/robot/send"), None);
    w.min_severity = Some(Severity::Critical);
    let config = NotifyConfig {
        webhooks: vec![w],
        email: None,
    };
    let mut alert = leak_alert();
    alert.severity = Severity::Warning;
    let deliveries = Notifier::new(config, "测试大学")
        .unwrap()
        .send(&alert)
        .await;
    assert!(deliveries.is_empty());
    assert!(recorded.0.lock().unwrap().is_empty());
}

#[test]
fn bad_settings_are_found_at_load_time() {
    let config: NotifyConfig = toml::from_str(
        r#"
        [[webhooks]]
        url = "https://oapi.dingtalk.com/robot/send?access_token=s3cret"
        body = '{"text": "{{ alert.message_zh }}"}'

        [[webhooks]]
        url = "ftp://example.org/"
        body = '{"text": {{ alert.message_zh|tojson }'

        [[webhooks]]
        url = "https://example.org/hook"
        body = '{"text": {{ alert.mesage_zh|tojson }}}'

        [email]
        smtp_url = "gopher://mail.example.org"
        from = "not an address"
        to = []
        "#,
    )
    .unwrap();
    let errors = config.validate();
    assert_eq!(errors.len(), 7, "{errors:#?}");
    assert!(errors[0].contains("webhooks[0].body") && errors[0].contains("tojson"));
    assert!(errors[1].contains("webhooks[1].url"));
    assert!(errors[2].contains("webhooks[1].body"));
    assert!(errors[3].contains("webhooks[2].body"));
    assert!(errors.iter().all(|e| !e.contains("s3cret")));
    assert!(Notifier::new(config, "x").is_err());
    // Unknown keys are refused.
    assert!(
        toml::from_str::<NotifyConfig>("[[webhooks]]\nurl = \"http://x\"\nbdy = \"\"").is_err()
    );
}

#[test]
fn a_missing_smtp_password_is_named() {
    let config = NotifyConfig {
        webhooks: vec![],
        email: Some(email(
            "smtp://alerts%40example.edu.cn@127.0.0.1:2525",
            Some("JIENENG_TEST_UNSET_SMTP_PASSWORD"),
        )),
    };
    let e = Notifier::new(config, "x").unwrap_err().to_string();
    assert!(e.contains("JIENENG_TEST_UNSET_SMTP_PASSWORD"), "{e}");
}

fn email(smtp_url: &str, password_env: Option<&str>) -> EmailConfig {
    let mut config: EmailConfig = toml::from_str(&format!(
        "smtp_url = {smtp_url:?}\nfrom = \"节能监测 <alerts@example.edu.cn>\"\nto = [\"ops@example.edu.cn\", \"张工 <zhang@example.edu.cn>\"]"
    ))
    .unwrap();
    config.password_env = password_env.map(str::to_string);
    config
}

/// What the SMTP sink saw: the commands, and the message between DATA and the final dot.
#[derive(Debug, Default)]
struct Session {
    commands: Vec<String>,
    data: String,
}

/// Speaks just enough SMTP to take one message.
async fn smtp_sink(listener: TcpListener) -> Session {
    let (stream, _) = listener.accept().await.unwrap();
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut session = Session::default();
    write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
    loop {
        let mut line = String::new();
        if read.read_line(&mut line).await.unwrap() == 0 {
            break;
        }
        let command = line.trim_end().to_string();
        let verb = command
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        session.commands.push(command);
        let reply: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250-sink\r\n250 8BITMIME\r\n",
            "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 ok\r\n",
            "DATA" => {
                write
                    .write_all(b"354 end with <CRLF>.<CRLF>\r\n")
                    .await
                    .unwrap();
                loop {
                    let mut l = String::new();
                    if read.read_line(&mut l).await.unwrap() == 0 || l == ".\r\n" {
                        break;
                    }
                    session.data.push_str(&l);
                }
                b"250 queued\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await.unwrap();
                break;
            }
            _ => b"502 not implemented\r\n",
        };
        write.write_all(reply).await.unwrap();
    }
    session
}

fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|c| *c != b'=' && !c.is_ascii_whitespace()) {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// A header's value, unfolded, with RFC 2047 encoded words (`=?utf-8?b?...?=`) decoded.
fn header_value(message: &str, name: &str) -> Option<String> {
    let head = message.split("\r\n\r\n").next()?;
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    let value = unfolded
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))?;
    let mut out = String::new();
    let mut last_encoded = false;
    for word in value.split(' ') {
        let encoded = word
            .strip_prefix("=?")
            .and_then(|w| w.strip_suffix("?="))
            .and_then(|w| {
                let mut parts = w.splitn(3, '?');
                let (_charset, encoding, text) = (parts.next()?, parts.next()?, parts.next()?);
                encoding
                    .eq_ignore_ascii_case("b")
                    .then(|| String::from_utf8(base64_decode(text)).expect("UTF-8"))
            });
        match encoded {
            // Whitespace between adjacent encoded words is not part of the text.
            Some(text) => {
                if !last_encoded && !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(&text);
                last_encoded = true;
            }
            None => {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(word);
                last_encoded = false;
            }
        }
    }
    Some(out)
}

#[tokio::test]
async fn email_arrives_with_chinese_subject_and_recipients() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sink = tokio::spawn(smtp_sink(listener));
    let config = NotifyConfig {
        webhooks: vec![],
        email: Some(email(&format!("smtp://127.0.0.1:{port}"), None)),
    };
    let alert = leak_alert();
    let deliveries = Notifier::new(config, "测试大学")
        .unwrap()
        .send(&alert)
        .await;
    assert_eq!(deliveries.len(), 1);
    assert!(deliveries[0].ok, "{:?}", deliveries[0].error);
    assert_eq!(
        deliveries[0].channel,
        format!("email:smtp://127.0.0.1:{port}")
    );
    let session = tokio::time::timeout(Duration::from_secs(10), sink)
        .await
        .expect("the sink finishes")
        .unwrap();

    assert!(
        session
            .commands
            .iter()
            .any(|c| c == "MAIL FROM:<alerts@example.edu.cn>"),
        "{:?}",
        session.commands
    );
    for to in [
        "RCPT TO:<ops@example.edu.cn>",
        "RCPT TO:<zhang@example.edu.cn>",
    ] {
        assert!(
            session.commands.iter().any(|c| c == to),
            "{to} in {:?}",
            session.commands
        );
    }
    assert_eq!(session.commands.last().map(String::as_str), Some("QUIT"));
    let subject = header_value(&session.data, "Subject").expect("a Subject header");
    assert_eq!(subject, "【节能监测】严重 疑似漏水 library-water");
    assert_eq!(subject, email_subject(&alert));
    let (head, body) = session.data.split_once("\r\n\r\n").unwrap();
    assert!(head.contains("Content-Transfer-Encoding: base64"), "{head}");
    let body = String::from_utf8(base64_decode(body)).unwrap();
    let zh = body
        .find(&MESSAGE_ZH.replace('\n', "\r\n"))
        .expect("the Chinese message");
    let en = body
        .find("Water flowed all night")
        .expect("the English message");
    assert!(zh < en, "Chinese first: {body}");
    let to = header_value(&session.data, "To").expect("a To header");
    assert!(
        to.contains("ops@example.edu.cn") && to.contains("zhang@example.edu.cn"),
        "{to}"
    );
}

#[tokio::test]
async fn an_unreachable_smtp_server_is_an_error() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let config = NotifyConfig {
        webhooks: vec![],
        email: Some(email(&format!("smtp://127.0.0.1:{port}"), None)),
    };
    let deliveries = Notifier::new(config, "测试大学")
        .unwrap()
        .send(&leak_alert())
        .await;
    assert_eq!(deliveries.len(), 1);
    assert!(!deliveries[0].ok);
    assert!(
        deliveries[0]
            .error
            .as_deref()
            .is_some_and(|e| !e.is_empty())
    );
}
