//! Helpers for tests that run the real `jieneng serve` binary: a config on a free port, an API
//! token, start, wait until it answers, stop (SIGTERM) or kill (SIGKILL).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const EXE: &str = env!("CARGO_BIN_EXE_jieneng");

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A site with manual meters `m1`..`m{meters}` (energy read by hand), on `port`.
pub fn manual_site(dir: &Path, port: u16, meters: usize) -> String {
    let mut c = format!(
        "[site]\nname = \"t\"\ndata_dir = \"{}\"\n[http]\nlisten = \"127.0.0.1:{port}\"\n\
         [[units]]\nid = \"o\"\nname = \"o\"\nkind = \"organisation\"\n",
        dir.join("data").display()
    );
    for m in 1..=meters {
        c.push_str(&format!(
            "[[meters]]\nid = \"m{m}\"\nname = \"m{m}\"\nunit = \"o\"\ncategory = \"01000\"\nread_by_hand = \"energy_import_kwh\"\n"
        ));
    }
    c
}

/// An API token of a new user `role` (made with `jieneng user add` and `user token`).
pub fn token(config: &Path, role: &str) -> String {
    let add = Command::new(EXE)
        .args([
            "user",
            "add",
            "--no-password",
            "--name",
            role,
            "--role",
            role,
            "--config",
        ])
        .arg(config)
        .output()
        .unwrap();
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let token = Command::new(EXE)
        .args(["user", "token", "--name", role, "--config"])
        .arg(config)
        .output()
        .unwrap();
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    String::from_utf8(token.stdout).unwrap().trim().to_string()
}

/// A running `jieneng serve`, its log (stderr) appended to `log`; killed when dropped.
pub struct Service {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl Service {
    pub fn start(config: &Path, port: u16, log: &Path, extra: &[&str]) -> Service {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = Command::new(EXE)
            .args(extra)
            .arg("serve")
            .arg("--config")
            .arg(config)
            .env("JIENENG_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap();
        Service {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log: log.to_path_buf(),
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `/healthz` answers (30 s at most).
    pub async fn ready(&mut self) {
        let t = Instant::now();
        loop {
            if let Ok(r) = reqwest::get(format!("{}/healthz", self.base)).await
                && r.status().is_success()
            {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("jieneng serve exited ({status}):\n{}", self.log_text());
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "jieneng serve did not answer in 30 s:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Waits up to `limit` for the log to contain `text`.
    pub async fn wait_for_log(&self, text: &str, limit: Duration) -> String {
        let t = Instant::now();
        loop {
            let log = self.log_text();
            if log.contains(text) {
                return log;
            }
            assert!(t.elapsed() < limit, "no `{text}` in the log:\n{log}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL, then waits for the process to be gone.
    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits (at most `limit`) for a clean exit.
    pub fn stop(&mut self, limit: Duration) -> std::process::ExitStatus {
        self.signal("TERM");
        let t = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                t.elapsed() < limit,
                "jieneng serve did not stop within {limit:?} of SIGTERM:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
