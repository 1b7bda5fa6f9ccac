//! The demo as a user meets it: started, it answers `/healthz` at once, lists ≥ 30 meters that
//! update live, writes its config where every command can use it, and has 13 months of history.

use std::time::{Duration, Instant};

use chrono::{Datelike, Months, Timelike, Utc};
use jieneng::cli::demo::{Args, start};
use jieneng::quantity::Quantity;
use serde_json::Value;

/// The admin's API token from `DATA/demo-tokens.json` (set once the demo is up).
static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn read_token(data: &std::path::Path, role: &str) -> String {
    let text = std::fs::read_to_string(data.join("demo-tokens.json")).unwrap();
    let tokens: Value = serde_json::from_str(&text).unwrap();
    tokens[role].as_str().unwrap().to_string()
}

async fn fetch(url: &str) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(url);
    if let Some(t) = TOKEN.get() {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn get(url: &str) -> Value {
    fetch(url)
        .await
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_live_meters_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let args = Args {
        live_interval_s: 2,
        ..Args::new("127.0.0.1:0", dir.path().join("demo"))
    };
    let demo = start(&args).await.unwrap();
    let base = format!("http://{}", demo.http_addr);
    // One token per role; the overview is open without one, the API is not.
    for role in ["admin", "engineer", "committee", "finance"] {
        assert_eq!(read_token(&args.data, role).len(), 64);
    }
    let anonymous = reqwest::get(format!("{base}/api/v1/alerts")).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let _ = TOKEN.set(read_token(&args.data, "admin"));

    let health = get(&format!("{base}/healthz")).await;
    assert_eq!(health["status"], "ok");
    assert!(demo.config_path.exists());
    jieneng::site::Site::load(&demo.config_path).expect("the demo config is valid");

    // History in place, then the meters online with values.
    let t = Instant::now();
    while get(&format!("{base}/healthz")).await["history_ready"] != true {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "history not written within 120 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let meters = get(&format!("{base}/api/v1/meters")).await;
    let meters = meters.as_array().unwrap();
    assert!(meters.len() >= 30, "{} meters", meters.len());
    for m in meters {
        for key in [
            "id",
            "name",
            "unit",
            "category",
            "status",
            "last_seen",
            "values",
        ] {
            assert!(m.get(key).is_some(), "{key} missing in {m}");
        }
        let status = m["status"].as_str().unwrap();
        if m["id"] == jieneng::sim::campus::DEAD_METER {
            continue; // the demo's broken meter, below
        }
        assert!(
            status == "online" || status == "manual",
            "{}: {status} ({})",
            m["id"],
            m["status_detail"]
        );
        chrono::DateTime::parse_from_rfc3339(m["last_seen"].as_str().unwrap()).unwrap();
    }
    let main = meters.iter().find(|m| m["id"] == "library-main").unwrap();
    let seen_before = main["last_seen"].as_str().unwrap().to_string();
    assert!(main["values"]["power_kw"].as_f64().unwrap() > 0.0);
    // Building 3's DL/T 645 room meters and CJ/T 188 water meters are live (every meter is
    // online, above), with their energy, tariff registers, voltage and water.
    let of = |id: &str| meters.iter().find(|m| m["id"] == id).unwrap();
    let room = &of("dorm3-r301")["values"];
    for q in [
        "energy_import_kwh",
        "energy_import_kwh_valley",
        "voltage_l1_v",
        "power_kw",
    ] {
        assert!(room[q].as_f64().unwrap() > 0.0, "{q}: {room}");
    }
    assert!(of("dorm3-f1-water")["values"]["water_m3"].as_f64().unwrap() > 0.0);

    tokio::time::sleep(Duration::from_secs(3)).await;
    let again = get(&format!("{base}/api/v1/meters/library-main")).await;
    assert_ne!(
        again["last_seen"].as_str().unwrap(),
        seen_before,
        "live values update"
    );

    // The page lists the meters, in Chinese.
    let page = reqwest::get(&base).await.unwrap().text().await.unwrap();
    assert!(page.contains("图书馆总表") && page.contains("能耗监测"));
    // The campus at a glance: today against yesterday, the month against every quota, the
    // units that use the most.
    assert!(
        page.contains("较昨日同时段") && page.contains("本月定额执行") && page.contains("用电大户")
    );
    let glance = get(&format!("{base}/api/v1/overview")).await;
    let kwh = |v: &Value| v.as_str().unwrap().parse::<f64>().unwrap();
    // Today counts whole quarter hours since the site's midnight, so it is zero only in the
    // first quarter hour of the day, and then so is yesterday's same-time figure.
    let site_now = Utc::now().with_timezone(&chrono_tz::Asia::Shanghai);
    let minutes_into_day = site_now.hour() * 60 + site_now.minute();
    if minutes_into_day >= 20 {
        assert!(kwh(&glance["today_kwh"]) > 0.0, "{glance}");
    } else if kwh(&glance["today_kwh"]) == 0.0 {
        assert_eq!(kwh(&glance["yesterday_same_time_kwh"]), 0.0, "{glance}");
    }
    assert!(kwh(&glance["yesterday_kwh"]) >= kwh(&glance["yesterday_same_time_kwh"]));
    assert!(
        kwh(&glance["month_kwh"]) >= kwh(&glance["today_kwh"]),
        "{glance}"
    );
    let quotas = glance["quotas"].as_array().unwrap();
    assert_eq!(quotas.len(), demo.runtime.site.quotas.len(), "{glance}");
    let top = glance["top_units"].as_array().unwrap();
    assert!(top.len() >= 5, "{glance}");
    let ranked: Vec<f64> = top.iter().map(|u| kwh(&u["kwh"])).collect();
    assert!(ranked.windows(2).all(|w| w[0] >= w[1]), "{ranked:?}");
    assert!(ranked.iter().sum::<f64>() <= kwh(&glance["month_kwh"]) + 0.01);

    // 13 months of 15-minute registers and the hand-read meter's monthly readings.
    let reader = demo.runtime.store.reader().unwrap();
    let from = Utc::now() - Months::new(13);
    let energy = reader
        .readings(
            "library-main",
            Quantity::named("energy_import_kwh"),
            from - chrono::Duration::days(31),
            Utc::now(),
        )
        .unwrap();
    assert!(
        energy.first().unwrap().time <= from,
        "history reaches back 13 months"
    );
    assert!(
        energy.len() > 13 * 28 * 96,
        "{} register readings",
        energy.len()
    );
    assert!(
        energy.windows(2).all(|w| w[1].value >= w[0].value),
        "registers never go backwards"
    );
    // Every register series of every meter has its history, whatever the collectors wrote first.
    for meter in &demo.runtime.site.meters {
        if let jieneng::site::MeterSource::Modbus { profile, .. } = &meter.source {
            for spec in profile
                .registers
                .iter()
                .filter(|s| s.quantity.is_cumulative())
            {
                let first = reader
                    .readings(
                        &meter.id,
                        spec.quantity,
                        from - chrono::Duration::days(31),
                        Utc::now(),
                    )
                    .unwrap();
                assert!(
                    first.first().is_some_and(|r| r.time <= from),
                    "{} {} has no history",
                    meter.id,
                    spec.quantity
                );
            }
        }
    }
    let gas = reader
        .readings(
            "canteen1-gas",
            Quantity::named("gas_m3"),
            from - chrono::Duration::days(31),
            Utc::now(),
        )
        .unwrap();
    assert!(gas.len() >= 13);
    // Consumption from the ledger: a day is the sum of its hours, and the hand-read gas meter
    // has monthly figures.
    let week = |step: &str| {
        format!(
            "{base}/api/v1/meters/library-main/consumption?from=2026-11-01&to=2026-11-08&step={step}"
        )
    };
    let days = get(&week("1d")).await;
    let hours = get(&week("1h")).await;
    let days = days.as_array().unwrap();
    let hours = hours.as_array().unwrap();
    assert_eq!((days.len(), hours.len()), (7, 168));
    let num = |v: &Value| v["consumption"].as_str().unwrap().parse::<f64>().unwrap();
    for (i, day) in days.iter().enumerate() {
        assert_eq!(day["quality"], "measured");
        let sum: f64 = hours[i * 24..(i + 1) * 24].iter().map(num).sum();
        assert!(
            (sum - num(day)).abs() < 0.01,
            "day {i}: hours sum to {sum}, the day is {}",
            num(day)
        );
        assert!(num(day) > 100.0);
    }
    let gas = get(&format!(
        "{base}/api/v1/meters/canteen1-gas/consumption?from=2026-01&to=2026-11&step=1mo"
    ))
    .await;
    assert!(
        gas.as_array()
            .unwrap()
            .iter()
            .all(|m| num(m) > 0.0 && m["quality"] == "manual"),
        "{gas}"
    );
    // Last month, three ways: days sum to the month; the building's electricity is its main
    // meter (the sub-meters are inside it); the public-area virtual meter is main minus subs.
    let tz = chrono_tz::Asia::Shanghai;
    let this_month = Utc::now()
        .with_timezone(&tz)
        .date_naive()
        .with_day(1)
        .unwrap();
    let last_month = this_month - Months::new(1);
    let (lm, tm) = (
        last_month.format("%Y-%m").to_string(),
        this_month.format("%Y-%m").to_string(),
    );
    let q = |path: &str, extra: &str| format!("{base}{path}?from={lm}&to={tm}{extra}");
    let month = get(&q("/api/v1/meters/library-main/consumption", "&step=1mo")).await;
    let days = get(&q("/api/v1/meters/library-main/consumption", "&step=1d")).await;
    let days_sum: f64 = days.as_array().unwrap().iter().map(num).sum();
    assert!(
        (days_sum - num(&month[0])).abs() < 0.01,
        "{days_sum} vs {month}"
    );
    assert_eq!(month[0]["quality"], "measured", "{month}");
    let building = get(&q(
        "/api/v1/units/library/consumption",
        "&category=01000&step=1mo",
    ))
    .await;
    assert_eq!(building[0]["consumption"], month[0]["consumption"]);
    let sub = |id: &'static str| {
        let url = q(&format!("/api/v1/meters/{id}/consumption"), "&step=1mo");
        async move { num(&get(&url).await[0]) }
    };
    let public = sub("library-public").await;
    let expected = num(&month[0]) - sub("library-light").await - sub("library-hvac").await;
    assert!((public - expected).abs() < 0.001, "{public} vs {expected}");
    let balance = get(&q("/api/v1/balance", "")).await;
    assert!(
        balance
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["meter"] == "library-main" && b["quality"] == "measured"),
        "{balance}"
    );
    let indicators = get(&q("/api/v1/units/univ/indicators", "")).await;
    let kgce: f64 = indicators["total_kgce"].as_str().unwrap().parse().unwrap();
    assert!(kgce > 0.0, "{indicators}");
    assert!(indicators["kgce_per_person"].is_string(), "{indicators}");

    // The command line gives the same month as the API.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jieneng"))
        .args(["consumption", "--config"])
        .arg(&demo.config_path)
        .args([
            "--meter",
            "library-main",
            "--from",
            &lm,
            "--to",
            &tm,
            "--step",
            "1mo",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cli, month);

    // Storing the days changes no figure.
    let (site, store) = (demo.runtime.site.clone(), demo.runtime.store.clone());
    tokio::task::spawn_blocking(move || {
        // The demo's own writers take turns with this one; on a loaded machine one may hold
        // the write lock past the busy timeout, as the service's writer then retries too.
        let mut tries = 0;
        loop {
            let done = store
                .writer()
                .and_then(|mut w| jieneng::energy::ledger::refresh_all(&mut w, &site, Utc::now()));
            match done {
                Ok(_) => break,
                Err(e) if tries < 5 => {
                    tries += 1;
                    eprintln!("refresh_all: {e}; again");
                }
                Err(e) => panic!("{e}"),
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(
        get(&q("/api/v1/meters/library-main/consumption", "&step=1d")).await,
        days
    );
    assert_eq!(
        get(&q("/api/v1/meters/library-main/consumption", "&step=1mo")).await,
        month
    );

    // The demo's faults are found: the meter that stopped answering and the leaking tank.
    let dead = jieneng::sim::campus::DEAD_METER;
    let t = Instant::now();
    loop {
        let m = get(&format!("{base}/api/v1/meters/{dead}")).await;
        if m["status"] == "offline" {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "{dead} still {m}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let statuses = get(&format!("{base}/api/v1/meters")).await;
    let seen = jieneng::rules::evaluate::Observations {
        meters: statuses
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["id"].as_str().unwrap().to_string(),
                    m["status"] == "offline" || m["status"] == "error",
                    m["status_detail"].as_str().map(String::from),
                )
            })
            .collect(),
        bad_payloads: vec![],
    };
    let state = demo.runtime.app_state();
    let alerts = tokio::task::spawn_blocking(move || {
        jieneng::alerting::round(&state, &seen, Utc::now()).unwrap()
    })
    .await
    .unwrap();
    let found = |kind: &str, subject: &str| {
        alerts
            .iter()
            .any(|a| serde_json::to_value(a.kind).unwrap() == kind && a.subject == subject)
    };
    assert!(found("meter_offline", dead), "{alerts:?}");
    // The leak, and only the leak: the other water meters' night flows (dormitories never
    // stop; library floors run 0.02 m³/h) are their usual ones.
    let leaking = jieneng::sim::campus::LEAKING_METER;
    assert!(found("water_leak", leaking), "{alerts:?}");
    let water: Vec<&str> = demo
        .runtime
        .site
        .meters
        .iter()
        .filter(|m| m.category.code.starts_with("02"))
        .map(|m| m.id.as_str())
        .collect();
    assert!(
        water.len() >= 10 && water.contains(&"dorm1-water"),
        "{water:?}"
    );
    for id in water.iter().filter(|id| **id != leaking) {
        assert!(!found("water_leak", id), "{id} is no leak: {alerts:?}");
    }
    // No gaps where there are none: every meter has its history, and the gas meter read by
    // hand once a month is not "missing" between readings.
    assert!(
        !alerts
            .iter()
            .any(|a| serde_json::to_value(a.kind).unwrap() == "data_gap"),
        "{alerts:?}"
    );
    // It started three days before the history ended, on the hour; the data directory keeps
    // the instant for a resumed demo.
    let kept = std::fs::read_to_string(args.data.join("demo.toml")).unwrap();
    let leak_from: chrono::DateTime<Utc> = kept
        .lines()
        .find_map(|l| l.strip_prefix("leak_from = "))
        .unwrap()
        .trim_matches('"')
        .parse()
        .unwrap();
    let before_end = Utc::now() - leak_from;
    assert!(
        before_end > chrono::Duration::days(3)
            && before_end < chrono::Duration::days(3) + chrono::Duration::hours(2),
        "{kept}"
    );

    // Finance: last month's statements for the canteens (time of use from the meters' own
    // registers), the shop (with water) and the dormitory rooms (free quota), as Excel and PDF.
    // Months are the site's months.
    let last_month = lm.clone();
    let finance = read_token(&args.data, "finance");
    let engineer = read_token(&args.data, "engineer");
    let statements_url = format!("{base}/api/v1/billing/{last_month}/statements");
    let as_engineer = reqwest::Client::new()
        .get(&statements_url)
        .bearer_auth(&engineer)
        .send()
        .await
        .unwrap();
    assert_eq!(as_engineer.status(), 403);
    let billed: Value = reqwest::Client::new()
        .get(&statements_url)
        .bearer_auth(&finance)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let statements = billed["statements"].as_array().unwrap();
    let of = |t: &str| {
        statements
            .iter()
            .find(|s| s["tenant"] == t)
            .unwrap_or_else(|| panic!("no {t} in {billed}"))
    };
    let canteen = of("canteen1");
    assert_eq!(canteen["meters"][0]["tou_registers"], true, "{canteen}");
    assert!(
        canteen["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["period"] == "valley")
    );
    // Every MQTT meter has its history too, however early its first live message came.
    let this_month = &tm;
    // ... and so have the DL/T 645 room meters and the CJ/T 188 water meters behind their
    // line gateways.
    for id in [
        "shop-freezer",
        "library-f1-water",
        "dorm1-r101",
        "gym-main",
        "dorm3-r301",
        "dorm3-f1-water",
    ] {
        let rows = get(&format!(
            "{base}/api/v1/meters/{id}/consumption?from={last_month}&to={this_month}&step=1mo"
        ))
        .await;
        assert_eq!(rows[0]["quality"], "measured", "{id}: {rows}");
    }
    let shop = of("shop");
    assert!(
        shop["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["kind"] == "sewage"),
        "{shop}"
    );
    let room = of("dorm1-r101");
    assert_eq!(room["free_quota"]["occupants"], 4, "{room}");
    // Room 101 stays under its quota: what it saves carries over.
    let num = |v: &Value| v.as_str().unwrap().parse::<f64>().unwrap();
    assert!(num(&room["free_quota"]["carried_out"]) > 0.0, "{room}");
    for s in statements.iter().filter(|s| s["tenant"] != "dorm1-r101") {
        assert!(num(&s["total"]) > 0.0, "{s}");
    }
    // The canteen's gas reading of the first of last month was missed: its statement is
    // held for review, and says why.
    assert_eq!(canteen["status"], "needs_review", "{canteen}");
    assert!(
        canteen["holds"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["meter"] == "canteen1-gas" && h["kind"] == "doubtful"),
        "{canteen}"
    );
    // The shop's statement for the month before was issued and half paid: arrears.
    assert!(num(&shop["arrears"]) > 0.0, "{shop}");
    for format in ["xlsx", "pdf"] {
        let out_path = args.data.join(format!("statements.{format}"));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_jieneng"))
            .args([
                "bill",
                "--month",
                &last_month,
                "--format",
                format,
                "--config",
            ])
            .arg(&demo.config_path)
            .arg("--out")
            .arg(&out_path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = std::fs::read(&out_path).unwrap();
        assert!(bytes.starts_with(if format == "pdf" { b"%PDF" } else { b"PK" }));
    }

    let bad = fetch(&format!(
        "{base}/api/v1/meters/library-main/consumption?from=soon&to=2026-11-08"
    ))
    .await;
    assert_eq!(bad.status(), 400);
    demo.runtime.shutdown().await;
}
