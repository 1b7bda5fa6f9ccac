//! The deployment files hold together: every file under `deploy/` (and the `Dockerfile`) is
//! checked here, and `docs/deployment.md` names each of them.
//!
//! - docker-compose.yml parses; build contexts, Dockerfiles and bind-mounted host paths exist;
//!   named volumes are declared; every `${VAR}` is set in `.env.example`; InfluxDB is set up
//!   through `DOCKER_INFLUXDB_INIT_*`; Grafana's provisioning paths line up with the mounts;
//!   Mosquitto requires a password; jieneng's config matches the stack (hosts, org, bucket,
//!   secrets, data volume, port).
//! - The Dockerfile copies only what exists and what `.dockerignore` lets through, builds with
//!   `--locked`, and runs as a non-root user.
//! - The example configs and the compose config pass `jieneng check`.
//! - The systemd units carry the hardening directives and pass `systemd-analyze verify` (where
//!   it is installed); the backup script names, writes and prunes backups as it says.
//! - The nginx config redirects to HTTPS, proxies to the address the production config listens
//!   on, streams `/api/v1/live` unbuffered, and passes `nginx -t` (where nginx is installed).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn yaml(rel: &str) -> Yaml {
    let mut docs = YamlLoader::load_from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    assert_eq!(docs.len(), 1, "{rel}: one YAML document");
    docs.remove(0)
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

/// Every file under `deploy/`, relative to the repository, sorted.
fn deploy_files() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                let rel = path.strip_prefix(root()).unwrap();
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("deploy"), &mut out);
    out.sort();
    out
}

/// The files each test below covers. A new file under deploy/ fails
/// `every_deploy_file_is_checked_and_documented` until it is added here and to a check.
const CHECKED: &[(&str, &str)] = &[
    ("deploy/compose/docker-compose.yml", "compose_*"),
    (
        "deploy/compose/.env.example",
        "compose_variables_are_in_env_example",
    ),
    (
        "deploy/compose/jieneng.toml",
        "configs_pass_check, compose_jieneng_*",
    ),
    (
        "deploy/compose/mosquitto/mosquitto.conf",
        "compose_mosquitto_requires_a_password",
    ),
    (
        "deploy/compose/mosquitto/acl",
        "compose_mosquitto_requires_a_password",
    ),
    ("deploy/examples/jieneng.toml", "configs_pass_check"),
    ("deploy/examples/meters.csv", "configs_pass_check"),
    (
        "deploy/examples/production.toml",
        "configs_pass_check, production_*",
    ),
    (
        "deploy/examples/secrets/influx.token",
        "production_secrets_are_placeholders",
    ),
    (
        "deploy/examples/secrets/mqtt.password",
        "production_secrets_are_placeholders",
    ),
    ("deploy/nginx/jieneng.conf", "nginx_*"),
    ("deploy/systemd/jieneng.service", "systemd_*"),
    ("deploy/systemd/jieneng-backup.service", "systemd_*"),
    ("deploy/systemd/jieneng-backup.timer", "systemd_*"),
    (
        "deploy/systemd/jieneng-backup.sh",
        "backup_script_*, systemd_*",
    ),
];

#[test]
fn every_deploy_file_is_checked_and_documented() {
    let files = deploy_files();
    let checked: BTreeSet<&str> = CHECKED.iter().map(|(f, _)| *f).collect();
    for f in &files {
        assert!(
            checked.contains(f.as_str()),
            "{f} is not covered by any check in tests/deploy_files.rs"
        );
    }
    for f in &checked {
        assert!(root().join(f).is_file(), "{f} is listed but does not exist");
    }
    let docs = read("docs/deployment.md");
    for f in files
        .iter()
        .map(String::as_str)
        .chain(["Dockerfile", ".dockerignore"])
    {
        assert!(docs.contains(f), "docs/deployment.md does not mention {f}");
    }
    let readme = read("README.md");
    assert!(
        readme.contains("docs/deployment.md"),
        "README.md does not link docs/deployment.md"
    );
}

// --- Docker Compose ---

const COMPOSE: &str = "deploy/compose/docker-compose.yml";

fn compose() -> Yaml {
    yaml(COMPOSE)
}

fn compose_dir() -> PathBuf {
    root().join("deploy/compose")
}

fn service<'a>(doc: &'a Yaml, name: &str) -> &'a Yaml {
    let s = &doc["services"][name];
    assert!(!s.is_badvalue(), "{COMPOSE}: no service {name}");
    s
}

/// A service's environment as a map, from either the map or the `KEY=VALUE` list form.
fn environment(service: &Yaml) -> BTreeMap<String, String> {
    let env = &service["environment"];
    let mut out = BTreeMap::new();
    if let Some(h) = env.as_hash() {
        for (k, v) in h {
            let value = match v {
                Yaml::String(s) => s.clone(),
                Yaml::Integer(i) => i.to_string(),
                Yaml::Boolean(b) => b.to_string(),
                Yaml::Null => String::new(),
                other => panic!("environment value {other:?}"),
            };
            out.insert(k.as_str().unwrap().to_string(), value);
        }
    } else if let Some(list) = env.as_vec() {
        for item in list {
            let (k, v) = item
                .as_str()
                .unwrap()
                .split_once('=')
                .unwrap_or((item.as_str().unwrap(), ""));
            out.insert(k.to_string(), v.to_string());
        }
    }
    out
}

/// A volume of a service: (source, target, read-only). Source is a host path (bind mount,
/// relative to the compose file) or a named volume.
#[derive(Debug)]
struct Mount {
    source: String,
    target: String,
    read_only: bool,
}

impl Mount {
    fn is_bind(&self) -> bool {
        self.source.starts_with('.') || self.source.starts_with('/') || self.source.starts_with('~')
    }
}

fn mounts(service: &Yaml) -> Vec<Mount> {
    let mut out = Vec::new();
    for v in service["volumes"]
        .as_vec()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        if let Some(short) = v.as_str() {
            let parts: Vec<&str> = short.split(':').collect();
            assert!(
                parts.len() >= 2,
                "{COMPOSE}: volume `{short}` without a target"
            );
            out.push(Mount {
                source: parts[0].to_string(),
                target: parts[1].to_string(),
                read_only: parts
                    .get(2)
                    .is_some_and(|m| m.split(',').any(|o| o == "ro")),
            });
        } else {
            out.push(Mount {
                source: v["source"].as_str().unwrap_or_default().to_string(),
                target: v["target"].as_str().unwrap().to_string(),
                read_only: v["read_only"].as_bool().unwrap_or(false),
            });
        }
    }
    out
}

fn service_names(doc: &Yaml) -> Vec<String> {
    doc["services"]
        .as_hash()
        .expect("services")
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn compose_has_the_stack() {
    let doc = compose();
    let names = service_names(&doc);
    for s in ["jieneng", "influxdb", "grafana", "mosquitto"] {
        assert!(names.iter().any(|n| n == s), "{COMPOSE}: no service {s}");
    }
    assert!(
        service(&doc, "influxdb")["image"]
            .as_str()
            .unwrap()
            .starts_with("influxdb:2"),
        "InfluxDB 2"
    );
    assert!(
        service(&doc, "mosquitto")["image"]
            .as_str()
            .unwrap()
            .starts_with("eclipse-mosquitto:2")
    );
    assert!(
        service(&doc, "grafana")["image"]
            .as_str()
            .unwrap()
            .starts_with("grafana/grafana:")
    );
    // InfluxDB is initialised through its setup variables.
    let env = environment(service(&doc, "influxdb"));
    assert_eq!(env["DOCKER_INFLUXDB_INIT_MODE"], "setup");
    for k in ["USERNAME", "PASSWORD", "ORG", "BUCKET", "ADMIN_TOKEN"] {
        assert!(
            env.contains_key(&format!("DOCKER_INFLUXDB_INIT_{k}")),
            "influxdb: DOCKER_INFLUXDB_INIT_{k}"
        );
    }
    // Web interfaces on the loopback only (nginx in front); Mosquitto for the meters.
    for s in ["jieneng", "grafana", "influxdb"] {
        for p in service(&doc, s)["ports"].as_vec().unwrap() {
            let p = p.as_str().unwrap();
            assert!(
                p.starts_with("127.0.0.1:"),
                "{s}: port {p} is not on the loopback"
            );
        }
    }
}

#[test]
fn compose_referenced_files_exist() {
    let doc = compose();
    let declared: BTreeSet<String> = doc["volumes"]
        .as_hash()
        .map(|h| h.keys().map(|k| k.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    let mut binds = 0;
    for name in service_names(&doc) {
        let s = service(&doc, &name);
        let build = &s["build"];
        if !build.is_badvalue() {
            let (context, dockerfile) = match build.as_str() {
                Some(c) => (c.to_string(), "Dockerfile".to_string()),
                None => (
                    build["context"].as_str().unwrap_or(".").to_string(),
                    build["dockerfile"]
                        .as_str()
                        .unwrap_or("Dockerfile")
                        .to_string(),
                ),
            };
            let context = compose_dir().join(context);
            assert!(
                context.is_dir(),
                "{name}: build context {} missing",
                context.display()
            );
            let dockerfile = context.join(dockerfile);
            assert!(
                dockerfile.is_file(),
                "{name}: {} missing",
                dockerfile.display()
            );
            assert_eq!(
                dockerfile.canonicalize().unwrap(),
                root().join("Dockerfile").canonicalize().unwrap(),
                "{name} is built from the repository's Dockerfile"
            );
        } else {
            assert!(
                s["image"].as_str().is_some(),
                "{name}: neither build nor image"
            );
        }
        for m in mounts(s) {
            if m.is_bind() {
                let host = compose_dir().join(&m.source);
                assert!(host.exists(), "{name}: bind mount {} missing", m.source);
                binds += 1;
            } else {
                assert!(
                    declared.contains(&m.source),
                    "{name}: volume {} not declared",
                    m.source
                );
            }
        }
        let env_files: Vec<&Yaml> = match &s["env_file"] {
            Yaml::BadValue => vec![],
            Yaml::Array(a) => a.iter().collect(),
            one => vec![one],
        };
        for f in env_files {
            let path = f.as_str().or_else(|| f["path"].as_str()).unwrap();
            assert!(
                compose_dir().join(path).is_file(),
                "{name}: env_file {path} missing"
            );
        }
    }
    assert!(binds >= 5, "only {binds} bind mounts checked");
}

fn env_example() -> BTreeMap<String, String> {
    read("deploy/compose/.env.example")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!(".env.example: `{l}`"));
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

#[test]
fn compose_variables_are_in_env_example() {
    let text = read(COMPOSE);
    let env = env_example();
    let mut used = BTreeSet::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("${") {
        rest = &rest[i + 2..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        used.insert(name);
    }
    assert!(used.len() >= 6, "{used:?}");
    for v in &used {
        assert!(
            env.get(v).is_some_and(|value| !value.is_empty()),
            "{COMPOSE} uses ${{{v}}}, which .env.example does not set"
        );
    }
    for k in env.keys() {
        assert!(
            used.contains(k),
            ".env.example sets {k}, which {COMPOSE} does not use"
        );
    }
    // Placeholders, never real secrets.
    for (k, v) in &env {
        if k.contains("PASSWORD") || k.contains("TOKEN") {
            assert!(
                v.starts_with("REPLACE"),
                ".env.example: {k} must be a placeholder"
            );
        }
    }
}

#[test]
fn compose_grafana_provisioning_lines_up() {
    let doc = compose();
    let grafana = service(&doc, "grafana");
    let ms = mounts(grafana);
    let mounted = |host: &str| -> Option<&Mount> {
        let want = root().join(host).canonicalize().unwrap();
        ms.iter()
            .filter(|m| m.is_bind())
            .find(|m| compose_dir().join(&m.source).canonicalize().ok() == Some(want.clone()))
    };
    // Both provisioning folders are mounted where Grafana looks for them.
    for kind in ["datasources", "dashboards"] {
        let m = mounted(&format!("dashboards/provisioning/{kind}"))
            .unwrap_or_else(|| panic!("grafana: dashboards/provisioning/{kind} not mounted"));
        assert_eq!(m.target, format!("/etc/grafana/provisioning/{kind}"));
        assert!(m.read_only);
    }
    // The dashboard provider loads from the folder the dashboards are mounted at.
    let provider = yaml("dashboards/provisioning/dashboards/jieneng.yaml");
    let path = provider["providers"][0]["options"]["path"]
        .as_str()
        .unwrap();
    let m = mounted("dashboards/json").expect("grafana: dashboards/json not mounted");
    assert_eq!(
        m.target, path,
        "dashboards mounted where the provider looks"
    );
    // The datasource's variables are all set, and point at the stack's InfluxDB.
    let ds_text = read("dashboards/provisioning/datasources/influxdb.yaml");
    let env = environment(grafana);
    let mut rest = ds_text.as_str();
    let mut vars = 0;
    while let Some(i) = rest.find("${") {
        rest = &rest[i + 2..];
        let name = &rest[..rest.find('}').unwrap()];
        assert!(
            env.contains_key(name),
            "grafana: {name} not set for the datasource"
        );
        vars += 1;
    }
    assert!(vars >= 4);
    assert_eq!(env["INFLUX_URL"], "http://influxdb:8086");
    assert!(env["INFLUX_TOKEN"].contains("INFLUXDB_ADMIN_TOKEN"));
    // The dashboards use the provisioned datasource.
    let ds = yaml("dashboards/provisioning/datasources/influxdb.yaml");
    let uid = ds["datasources"][0]["uid"].as_str().unwrap();
    for entry in std::fs::read_dir(root().join("dashboards/json")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(text.contains(&format!("\"uid\": \"{uid}\"")));
    }
    assert_eq!(env["GF_SERVER_SERVE_FROM_SUB_PATH"], "true");
    assert!(env_example()["GRAFANA_ROOT_URL"].ends_with("/grafana/"));
}

/// The mosquitto config's value for `key`.
fn conf_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(' ')))
        .map(str::trim)
}

#[test]
fn compose_mosquitto_requires_a_password() {
    let doc = compose();
    let ms = mounts(service(&doc, "mosquitto"));
    let conf = read("deploy/compose/mosquitto/mosquitto.conf");
    assert_eq!(conf_value(&conf, "allow_anonymous"), Some("false"));
    assert!(conf_value(&conf, "listener").is_some_and(|l| l.starts_with("1883")));
    // The container paths the config names are mounted: the config folder from the host,
    // the password file in a volume (written with mosquitto_passwd).
    let config_dir = ms
        .iter()
        .find(|m| m.target == "/mosquitto/config")
        .expect("mosquitto: /mosquitto/config not mounted");
    assert!(config_dir.is_bind() && config_dir.read_only);
    let host_dir = compose_dir().join(&config_dir.source);
    assert!(host_dir.join("mosquitto.conf").is_file());
    let acl_file = conf_value(&conf, "acl_file").expect("acl_file");
    let acl_name = acl_file
        .strip_prefix("/mosquitto/config/")
        .expect("acl in the config folder");
    let acl = std::fs::read_to_string(host_dir.join(acl_name)).unwrap();
    let password_file = conf_value(&conf, "password_file").expect("password_file");
    let auth = ms
        .iter()
        .find(|m| password_file.starts_with(&format!("{}/", m.target)))
        .unwrap_or_else(|| panic!("mosquitto: {password_file} is in no mounted volume"));
    assert!(
        !auth.read_only,
        "mosquitto_passwd must be able to write {password_file}"
    );
    // The compose file tells how to create it, and jieneng's user has ACL entries.
    assert!(read(COMPOSE).contains(&format!("mosquitto_passwd -c -b {password_file} jieneng")));
    assert!(
        read("docs/deployment.md")
            .contains(&format!("mosquitto_passwd -c -b {password_file} jieneng"))
    );
    let users: Vec<&str> = acl
        .lines()
        .filter_map(|l| l.trim().strip_prefix("user "))
        .collect();
    assert!(users.contains(&"jieneng"), "acl: no entries for jieneng");
    for l in acl
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        assert!(
            l.starts_with("user ") || l.starts_with("topic ") || l.starts_with("pattern "),
            "acl: `{l}`"
        );
    }
}

/// Every string value in a TOML tree whose key ends with `suffix`.
fn toml_keys_ending(value: &toml::Value, suffix: &str, out: &mut Vec<String>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                if k.ends_with(suffix)
                    && let Some(s) = v.as_str()
                {
                    out.push(s.to_string());
                }
                toml_keys_ending(v, suffix, out);
            }
        }
        toml::Value::Array(a) => a.iter().for_each(|v| toml_keys_ending(v, suffix, out)),
        _ => {}
    }
}

#[test]
fn compose_jieneng_config_matches_the_stack() {
    let doc = compose();
    let jieneng = service(&doc, "jieneng");
    let config: toml::Value = toml::from_str(&read("deploy/compose/jieneng.toml")).unwrap();
    let ms = mounts(jieneng);
    let cfg = ms
        .iter()
        .find(|m| m.target == "/etc/jieneng/jieneng.toml")
        .expect("jieneng: config not mounted at /etc/jieneng/jieneng.toml");
    assert!(cfg.read_only, "the config is mounted read-only");
    assert_eq!(
        compose_dir().join(&cfg.source).canonicalize().unwrap(),
        root()
            .join("deploy/compose/jieneng.toml")
            .canonicalize()
            .unwrap()
    );
    // The data directory is the volume; the image's command reads the mounted config.
    let data_dir = config["site"]["data_dir"].as_str().unwrap();
    let data = ms
        .iter()
        .find(|m| m.target == data_dir)
        .expect("data_dir is not a volume");
    assert!(!data.is_bind() && !data.read_only);
    assert!(read("Dockerfile").contains(&format!("VOLUME [\"{data_dir}\"]")));
    // The web server listens on the published container port.
    let listen = config["http"]["listen"].as_str().unwrap();
    let port = listen.rsplit(':').next().unwrap();
    assert!(
        listen.starts_with("0.0.0.0:"),
        "inside a container: listen on every interface"
    );
    let ports = jieneng["ports"].as_vec().unwrap();
    assert!(
        ports
            .iter()
            .any(|p| p.as_str().unwrap().ends_with(&format!(":{port}")))
    );
    // Secrets named by *_env are passed in; none is written in the config.
    let mut envs = Vec::new();
    toml_keys_ending(&config, "_env", &mut envs);
    assert!(envs.len() >= 2, "{envs:?}");
    let env = environment(jieneng);
    for e in &envs {
        assert!(
            env.contains_key(e),
            "jieneng: {e} is not passed to the container"
        );
    }
    for key in ["password", "token"] {
        let mut plain = Vec::new();
        toml_keys_ending(&config, key, &mut plain);
        assert!(plain.is_empty(), "a secret in the config text: {plain:?}");
    }
    // InfluxDB and Mosquitto by their service names; org and bucket as InfluxDB was set up.
    let influx = &config["influx"];
    assert_eq!(influx["url"].as_str(), Some("http://influxdb:8086"));
    let dotenv = env_example();
    assert_eq!(
        influx["org"].as_str(),
        Some(dotenv["INFLUXDB_ORG"].as_str())
    );
    assert_eq!(
        influx["bucket"].as_str(),
        Some(dotenv["INFLUXDB_BUCKET"].as_str())
    );
    assert!(env[influx["token_env"].as_str().unwrap()].contains("INFLUXDB_ADMIN_TOKEN"));
    let broker = config["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["url"].as_str().unwrap().starts_with("mqtt"))
        .expect("an MQTT broker connection");
    assert_eq!(broker["url"].as_str(), Some("mqtt://mosquitto:1883"));
    assert_eq!(broker["username"].as_str(), Some("jieneng"));
    assert!(env[broker["password_env"].as_str().unwrap()].contains("MQTT_JIENENG_PASSWORD"));
    let depends = &jieneng["depends_on"];
    for s in ["influxdb", "mosquitto"] {
        assert!(!depends[s].is_badvalue(), "jieneng should start after {s}");
    }
}

// --- Dockerfile ---

/// Instructions of a Dockerfile, continuation lines joined, comments dropped: (INSTRUCTION, rest).
fn dockerfile() -> Vec<(String, String)> {
    let text = read("Dockerfile");
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let (instr, rest) = current.split_once(' ').unwrap_or((current.as_str(), ""));
        out.push((instr.to_uppercase(), rest.trim().to_string()));
        current.clear();
    }
    out
}

#[test]
fn dockerfile_builds_from_what_exists_and_runs_unprivileged() {
    let instructions = dockerfile();
    let froms: Vec<usize> = instructions
        .iter()
        .enumerate()
        .filter(|(_, (i, _))| i == "FROM")
        .map(|(n, _)| n)
        .collect();
    assert!(froms.len() >= 2, "a multi-stage build");
    let first = &instructions[froms[0]].1;
    assert!(first.starts_with("rust:1-bookworm"), "build stage: {first}");
    let last_from = *froms.last().unwrap();
    let runtime = &instructions[last_from].1;
    assert!(
        runtime.starts_with("debian:bookworm-slim") || runtime.starts_with("gcr.io/distroless/cc"),
        "runtime stage: {runtime}"
    );

    // COPY sources exist and are let through by .dockerignore (an allow list).
    let ignore = read(".dockerignore");
    let patterns: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(
        patterns.first(),
        Some(&"*"),
        ".dockerignore starts by excluding everything"
    );
    let allowed: BTreeSet<&str> = patterns
        .iter()
        .filter_map(|p| p.strip_prefix('!'))
        .map(|p| p.trim_end_matches('/'))
        .collect();
    let mut copied = BTreeSet::new();
    for (instr, rest) in &instructions {
        if instr != "COPY" || rest.contains("--from=") {
            continue;
        }
        let words: Vec<&str> = rest
            .split_whitespace()
            .filter(|w| !w.starts_with("--"))
            .collect();
        for src in &words[..words.len() - 1] {
            assert!(root().join(src).exists(), "COPY {src}: no such file");
            let top = src.trim_start_matches("./").split('/').next().unwrap();
            assert!(
                allowed.contains(top),
                "COPY {src}: excluded by .dockerignore"
            );
            copied.insert(top.to_string());
        }
    }
    for a in &allowed {
        assert!(
            root().join(a).exists(),
            ".dockerignore lets through {a}, which does not exist"
        );
    }
    // Everything the build reads is copied: the manifest, build.rs (devices/), and every file
    // the sources include at compile time.
    for needed in ["Cargo.toml", "Cargo.lock", "build.rs", "src", "devices"] {
        assert!(copied.contains(needed), "the build needs {needed}");
    }
    let mut included = 0;
    let mut stack = vec![root().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for macro_name in ["include_bytes!(\"", "include_str!(\""] {
                for (i, _) in text.match_indices(macro_name) {
                    let arg = &text[i + macro_name.len()..];
                    let rel = &arg[..arg.find('"').unwrap()];
                    let target = path.parent().unwrap().join(rel).canonicalize().unwrap();
                    let top = target.strip_prefix(root().canonicalize().unwrap()).unwrap();
                    let top = top
                        .components()
                        .next()
                        .unwrap()
                        .as_os_str()
                        .to_string_lossy();
                    assert!(
                        copied.contains(top.as_ref()),
                        "{} includes {rel}, whose folder {top} the Dockerfile does not copy",
                        path.display()
                    );
                    included += 1;
                }
            }
        }
    }
    assert!(included >= 1);

    // Locked release build; the runtime stage runs as a non-root user.
    assert!(
        instructions
            .iter()
            .any(|(i, r)| i == "RUN" && r.contains("cargo build --release --locked"))
    );
    let runtime_stage = &instructions[last_from..];
    let user = runtime_stage
        .iter()
        .rev()
        .find(|(i, _)| i == "USER")
        .map(|(_, r)| r.as_str())
        .expect("the runtime stage sets USER");
    let name = user.split(':').next().unwrap();
    assert!(name != "root" && name != "0", "runs as {user}");
    let has = |instr: &str, text: &str| {
        runtime_stage
            .iter()
            .any(|(i, r)| i == instr && r.contains(text))
    };
    assert!(has("EXPOSE", "8080"));
    assert!(has("VOLUME", "/var/lib/jieneng"));
    assert!(has("RUN", "ca-certificates"));
    assert!(has("HEALTHCHECK", "http://127.0.0.1:8080/healthz"));
    assert!(
        has("HEALTHCHECK", "curl") && has("RUN", "curl"),
        "the health check's tool is installed"
    );
    assert!(has("CMD", "/etc/jieneng/jieneng.toml"));
}

// --- Configs ---

/// The secrets the compose config reads from the environment, with `.env.example` values.
fn check_env() -> Vec<(&'static str, String)> {
    let dotenv = env_example();
    vec![
        (
            "JIENENG_INFLUX_TOKEN",
            dotenv["INFLUXDB_ADMIN_TOKEN"].clone(),
        ),
        (
            "JIENENG_MQTT_PASSWORD",
            dotenv["MQTT_JIENENG_PASSWORD"].clone(),
        ),
    ]
}

fn check(config: &Path) -> std::process::Output {
    // From another directory: relative paths in a config are relative to the config.
    let cwd = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_jieneng"))
        .args(["check", "--config"])
        .arg(config)
        .current_dir(cwd.path())
        .envs(check_env())
        .output()
        .unwrap()
}

#[test]
fn configs_pass_check() {
    let mut configs: Vec<PathBuf> = std::fs::read_dir(root().join("deploy/examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    configs.sort();
    assert!(configs.len() >= 2, "{configs:?}");
    configs.push(root().join("deploy/compose/jieneng.toml"));
    for config in &configs {
        let out = check(config);
        assert!(
            out.status.success(),
            "jieneng check --config {}:\n{}{}",
            config.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("OK"));
    }
    // The example inventory is used by the example config (and so checked with it).
    assert!(read("deploy/examples/jieneng.toml").contains("meters_csv = [\"meters.csv\"]"));
    // Without its secrets the compose config is refused: they really are read.
    let out = Command::new(env!("CARGO_BIN_EXE_jieneng"))
        .args(["check", "--config"])
        .arg(root().join("deploy/compose/jieneng.toml"))
        .env_remove("JIENENG_INFLUX_TOKEN")
        .env_remove("JIENENG_MQTT_PASSWORD")
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn production_config_fits_the_unit_and_nginx() {
    let config: toml::Value = toml::from_str(&read("deploy/examples/production.toml")).unwrap();
    let unit = read("deploy/systemd/jieneng.service");
    // data_dir is the unit's StateDirectory.
    let state = unit_value(&unit, "StateDirectory").unwrap();
    assert_eq!(
        config["site"]["data_dir"].as_str(),
        Some(format!("/var/lib/{state}").as_str())
    );
    // Behind nginx on the loopback, with secure cookies.
    let listen = config["http"]["listen"].as_str().unwrap();
    assert!(listen.starts_with("127.0.0.1:"));
    assert_ne!(
        config["http"]
            .get("secure_cookies")
            .and_then(|v| v.as_bool()),
        Some(false)
    );
    let nginx = read("deploy/nginx/jieneng.conf");
    assert!(
        nginx.contains(&format!("server {listen};")),
        "nginx proxies to {listen}"
    );
    // Secrets from files (token, MQTT password) and the environment (SMTP), never inline.
    assert!(config["influx"]["token_file"].as_str().is_some());
    let brokers: Vec<&toml::Value> = config["connections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["url"].as_str().unwrap().starts_with("mqtt"))
        .collect();
    assert!(!brokers.is_empty());
    for b in &brokers {
        assert!(b["username"].as_str().is_some() && b["password_file"].as_str().is_some());
    }
    assert!(config["notify"]["email"]["password_env"].as_str().is_some());
    assert!(unit.contains("EnvironmentFile=-/etc/jieneng/jieneng.env"));
    // A serial bus, as the unit's DeviceAllow lines are for.
    assert!(
        config["connections"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["url"].as_str().unwrap().starts_with("rtu:///dev/ttyUSB"))
    );
}

#[test]
fn production_secrets_are_placeholders() {
    let config: toml::Value = toml::from_str(&read("deploy/examples/production.toml")).unwrap();
    let mut files = Vec::new();
    toml_keys_ending(&config, "_file", &mut files);
    let mut on_disk: Vec<String> = std::fs::read_dir(root().join("deploy/examples/secrets"))
        .unwrap()
        .map(|e| format!("secrets/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    on_disk.sort();
    files.sort();
    assert_eq!(
        files, on_disk,
        "every secret file is referenced, and exists"
    );
    for f in files {
        let text = read(&format!("deploy/examples/{f}"));
        assert!(
            text.starts_with("REPLACE"),
            "deploy/examples/{f} must be a placeholder"
        );
    }
}

// --- systemd ---

/// The values a unit file gives `key` (the last one wins for most keys; all are returned).
fn unit_values<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .collect()
}

fn unit_value<'a>(unit: &'a str, key: &str) -> Option<&'a str> {
    unit_values(unit, key).last().copied()
}

const HARDENING: &[(&str, &str)] = &[
    ("NoNewPrivileges", "yes"),
    ("ProtectSystem", "strict"),
    ("ProtectHome", "yes"),
    ("PrivateTmp", "yes"),
    ("ProtectKernelTunables", "yes"),
    ("ProtectKernelModules", "yes"),
    ("ProtectKernelLogs", "yes"),
    ("ProtectControlGroups", "yes"),
    ("ProtectClock", "yes"),
    ("ProtectHostname", "yes"),
    ("RestrictNamespaces", "yes"),
    ("RestrictRealtime", "yes"),
    ("RestrictSUIDSGID", "yes"),
    ("LockPersonality", "yes"),
    ("MemoryDenyWriteExecute", "yes"),
    ("CapabilityBoundingSet", ""),
    ("AmbientCapabilities", ""),
    ("SystemCallArchitectures", "native"),
    ("User", "jieneng"),
    ("Group", "jieneng"),
    ("StateDirectory", "jieneng"),
];

#[test]
fn systemd_units_are_hardened() {
    let main = read("deploy/systemd/jieneng.service");
    let backup = read("deploy/systemd/jieneng-backup.service");
    for (name, unit) in [
        ("jieneng.service", &main),
        ("jieneng-backup.service", &backup),
    ] {
        for (key, value) in HARDENING {
            assert_eq!(unit_value(unit, key), Some(*value), "{name}: {key}={value}");
        }
        assert_eq!(
            unit_values(unit, "SystemCallFilter"),
            ["@system-service", "~@privileged @resources"],
            "{name}"
        );
    }
    assert_eq!(
        unit_value(&main, "ExecStart"),
        Some("/usr/local/bin/jieneng serve --config /etc/jieneng/jieneng.toml")
    );
    assert_eq!(
        unit_values(&main, "ExecReload"),
        [
            "/usr/local/bin/jieneng check --config /etc/jieneng/jieneng.toml",
            "/bin/kill -HUP $MAINPID"
        ]
    );
    assert_eq!(unit_value(&main, "KillSignal"), Some("SIGTERM"));
    assert_eq!(unit_value(&main, "Restart"), Some("on-failure"));
    let stop: u32 = unit_value(&main, "TimeoutStopSec")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        stop >= 60,
        "TimeoutStopSec={stop}: the store needs time to drain"
    );
    assert_eq!(
        unit_value(&main, "RestrictAddressFamilies"),
        Some("AF_INET AF_INET6 AF_UNIX")
    );
    assert_eq!(unit_value(&main, "SupplementaryGroups"), Some("dialout"));
    assert_eq!(unit_value(&main, "DevicePolicy"), Some("closed"));
    let devices = unit_values(&main, "DeviceAllow");
    for d in ["char-ttyUSB rw", "char-ttyS rw"] {
        assert!(devices.contains(&d), "DeviceAllow={d}");
    }
    assert_eq!(unit_value(&main, "WantedBy"), Some("multi-user.target"));

    // The backup: the script, the same config, a writable backup folder, no network.
    assert_eq!(unit_value(&backup, "Type"), Some("oneshot"));
    assert_eq!(
        unit_value(&backup, "ExecStart"),
        Some("/usr/local/bin/jieneng-backup.sh")
    );
    let env = unit_values(&backup, "Environment");
    assert!(env.contains(&"JIENENG_CONFIG=/etc/jieneng/jieneng.toml"));
    let dir = env
        .iter()
        .find_map(|e| e.strip_prefix("JIENENG_BACKUP_DIR="))
        .unwrap();
    assert_eq!(unit_value(&backup, "ReadWritePaths"), Some(dir));
    assert_eq!(unit_value(&backup, "PrivateNetwork"), Some("yes"));
    assert_eq!(
        unit_value(&backup, "RestrictAddressFamilies"),
        Some("AF_UNIX")
    );
    let timer = read("deploy/systemd/jieneng-backup.timer");
    assert_eq!(unit_value(&timer, "Unit"), Some("jieneng-backup.service"));
    assert!(unit_value(&timer, "OnCalendar").is_some());
    assert_eq!(unit_value(&timer, "Persistent"), Some("true"));
    assert_eq!(unit_value(&timer, "WantedBy"), Some("timers.target"));
}

#[test]
fn systemd_units_pass_systemd_analyze_verify() {
    if !on_path("systemd-analyze") {
        println!("note: systemd-analyze is not installed; unit files not verified");
        return;
    }
    // The installed paths do not exist here: point them at the built binary and the script in
    // the repository, so verify checks everything else.
    let dir = tempfile::tempdir().unwrap();
    let script = root().join("deploy/systemd/jieneng-backup.sh");
    let names = [
        "jieneng.service",
        "jieneng-backup.service",
        "jieneng-backup.timer",
    ];
    for name in names {
        let text = read(&format!("deploy/systemd/{name}"))
            .replace("/usr/local/bin/jieneng-backup.sh", script.to_str().unwrap())
            .replace(
                "/usr/local/bin/jieneng ",
                &format!("{} ", env!("CARGO_BIN_EXE_jieneng")),
            );
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let verify = |files: &[PathBuf]| {
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .args(files)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // Only what concerns these units: a host may have unrelated complaints of its own.
        let ours: Vec<&str> = text
            .lines()
            .filter(|l| names.iter().any(|n| l.contains(n)))
            .collect();
        (out.status.success(), ours.join("\n"), text)
    };
    let files: Vec<PathBuf> = names.iter().map(|n| dir.path().join(n)).collect();
    let (ok, ours, all) = verify(&files);
    assert!(ok && ours.is_empty(), "systemd-analyze verify:\n{all}");

    // The check catches a real mistake (warnings included).
    let broken = dir.path().join("jieneng.service");
    let text = std::fs::read_to_string(&broken).unwrap();
    std::fs::write(
        &broken,
        text.replace("ProtectSystem=strict", "ProtectSystm=strict"),
    )
    .unwrap();
    let (_, ours, _) = verify(&[broken]);
    assert!(
        ours.contains("ProtectSystm"),
        "verify did not report an unknown key: {ours}"
    );
}

// --- the backup script ---

fn backup_run(dir: &Path, stub: &Path, keep: &str) -> std::process::Output {
    Command::new("bash")
        .arg(root().join("deploy/systemd/jieneng-backup.sh"))
        .env("JIENENG_CONFIG", "/etc/jieneng/jieneng.toml")
        .env("JIENENG_BACKUP_DIR", dir)
        .env("JIENENG_BACKUP_KEEP", keep)
        .env("JIENENG_BIN", stub)
        .output()
        .unwrap()
}

#[test]
fn backup_script_dates_and_keeps_the_newest() {
    let script = root().join("deploy/systemd/jieneng-backup.sh");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&script).unwrap().permissions().mode();
    assert!(mode & 0o111 != 0, "jieneng-backup.sh is executable");
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        syntax.status.success(),
        "{}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    if on_path("shellcheck") {
        let out = Command::new("shellcheck").arg(&script).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    } else {
        println!("note: shellcheck is not installed; jieneng-backup.sh only syntax-checked");
    }

    // A stand-in for `jieneng backup` that records its arguments and, unless told to fail,
    // writes the file (the real one writes it only once the backup is complete).
    let tmp = tempfile::tempdir().unwrap();
    let backups = tmp.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    let args_log = tmp.path().join("args");
    let stub = tmp.path().join("jieneng");
    std::fs::write(
        &stub,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n[ -z \"$FAIL\" ] || exit 1\nwhile [ $# -gt 0 ]; do [ \"$1\" = --out ] && echo db > \"$2\"; shift; done\nexit 0\n",
            args_log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
    let old = [
        "jieneng-20240101-023000.db",
        "jieneng-20240102-023000.db",
        "jieneng-20240103-023000.db",
        "jieneng-20240104-023000.db",
    ];
    for f in old {
        std::fs::write(backups.join(f), "old").unwrap();
    }
    std::fs::write(backups.join("notes.txt"), "kept").unwrap();

    let out = backup_run(&backups, &stub, "3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let args: Vec<String> = std::fs::read_to_string(&args_log)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(
        args[..4],
        ["backup", "--config", "/etc/jieneng/jieneng.toml", "--out"]
    );
    assert_eq!(args.len(), 5);
    let written = Path::new(&args[4]);
    assert_eq!(
        written.parent(),
        Some(backups.as_path()),
        "written into the backup folder"
    );
    let mut left: Vec<String> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left.len(), 4, "{left:?}");
    assert_eq!(left[..2], [old[2], old[3]], "the newest old backups kept");
    let new = &left[2];
    assert!(
        new.len() == "jieneng-YYYYMMDD-HHMMSS.db".len()
            && new.starts_with("jieneng-20")
            && new.ends_with(".db"),
        "{new}"
    );
    assert_eq!(std::fs::read_to_string(backups.join(new)).unwrap(), "db\n");
    assert_eq!(left[3], "notes.txt", "other files are left alone");

    // After a failed backup nothing is pruned, even with a smaller JIENENG_BACKUP_KEEP.
    let out = Command::new("bash")
        .arg(&script)
        .env("JIENENG_BACKUP_DIR", &backups)
        .env("JIENENG_BACKUP_KEEP", "1")
        .env("JIENENG_BIN", &stub)
        .env("FAIL", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let after = std::fs::read_dir(&backups).unwrap().count();
    assert_eq!(after, 4, "nothing removed");

    // Bad settings are refused before anything runs.
    for keep in ["0", "x", "-1"] {
        let out = backup_run(&backups, &stub, keep);
        assert_eq!(out.status.code(), Some(2), "JIENENG_BACKUP_KEEP={keep:?}");
    }
    let out = backup_run(&tmp.path().join("missing"), &stub, "3");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

// --- nginx ---

/// The body of the first `location <path> { ... }` block.
fn location<'a>(conf: &'a str, path: &str) -> &'a str {
    let start = conf
        .find(&format!("location {path} {{"))
        .unwrap_or_else(|| panic!("no location {path}"));
    let body = &conf[start..];
    &body[..body.find('}').unwrap()]
}

#[test]
fn nginx_config_terminates_tls_and_streams_live_values() {
    let conf = read("deploy/nginx/jieneng.conf");
    let live = location(&conf, "/api/v1/live");
    assert!(live.contains("proxy_buffering off;"), "SSE unbuffered");
    assert!(live.contains("proxy_pass http://jieneng;"));
    let timeout = live
        .lines()
        .find_map(|l| l.trim().strip_prefix("proxy_read_timeout "))
        .expect("a long proxy_read_timeout for SSE");
    assert!(
        timeout.ends_with("h;") || timeout.ends_with("m;"),
        "{timeout}"
    );
    assert!(conf.contains("proxy_http_version 1.1;"));
    assert!(conf.contains("proxy_set_header Connection \"\";"));
    assert!(conf.contains("return 301 https://$host$request_uri;"));
    assert!(conf.contains("listen 443 ssl"));
    assert!(conf.contains("ssl_certificate "));
    assert!(conf.contains("ssl_certificate_key "));
    assert!(conf.contains("add_header Strict-Transport-Security"));
    assert!(conf.contains("proxy_set_header X-Forwarded-Proto $scheme;"));
    assert!(location(&conf, "= /metrics").contains("deny all;"));
    assert!(location(&conf, "/grafana/").contains("proxy_set_header Host $host;"));
}

#[test]
fn nginx_config_passes_nginx_t() {
    if !on_path("nginx") || !on_path("openssl") {
        println!("note: nginx or openssl is not installed; jieneng.conf not checked with nginx -t");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (cert, key) = (d.join("cert.pem"), d.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=energy.example.edu.cn", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let site = read("deploy/nginx/jieneng.conf")
        .replace(
            "/etc/letsencrypt/live/energy.example.edu.cn/fullchain.pem",
            cert.to_str().unwrap(),
        )
        .replace(
            "/etc/letsencrypt/live/energy.example.edu.cn/privkey.pem",
            key.to_str().unwrap(),
        );
    assert!(
        !site.contains("/etc/letsencrypt/live"),
        "every certificate path replaced"
    );
    std::fs::write(d.join("site.conf"), site).unwrap();
    let p = d.display();
    // The site file is included in the http context, as conf.d/ and sites-enabled/ are.
    let main = format!(
        "pid {p}/nginx.pid;\nerror_log {p}/error.log;\nevents {{}}\nhttp {{\n  access_log off;\n  \
         client_body_temp_path {p}/body;\n  proxy_temp_path {p}/proxy;\n  fastcgi_temp_path {p}/fastcgi;\n  \
         uwsgi_temp_path {p}/uwsgi;\n  scgi_temp_path {p}/scgi;\n  include {p}/site.conf;\n}}\n"
    );
    std::fs::write(d.join("nginx.conf"), main).unwrap();
    let out = Command::new("nginx")
        .arg("-t")
        .arg("-p")
        .arg(d)
        .arg("-e")
        .arg(d.join("error.log"))
        .arg("-c")
        .arg(d.join("nginx.conf"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "nginx -t:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
