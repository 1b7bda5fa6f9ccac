//! Golden ledger scenarios through the store, as the ledger's users see them: time-of-use
//! registers, a CT change mid-month, corrections with their audit trail and re-issue flags,
//! stored days that agree with computed ones, and aggregation up the unit hierarchy.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use jieneng::energy::intervals::{Anomaly, Quality};
use jieneng::energy::ledger::{Ledger, Row, Step, refresh_all, registers};
use jieneng::quantity::Quantity;
use jieneng::reading::{Reading, ReadingQuality};
use jieneng::site::Site;
use jieneng::store::SqliteStore;
use jieneng::store::ledger::{Change, IntervalCorrection};
use rust_decimal::Decimal;

const CONFIG: &str = r#"
[site]
name = "测试学院"
timezone = "Asia/Shanghai"

[[units]]
id = "org"
name = "学院"
kind = "organisation"
floor_area_m2 = 1000
occupants = 50

[[units]]
id = "b1"
name = "一号楼"
kind = "building"
parent = "org"
floor_area_m2 = 800
occupants = 40

[[units]]
id = "canteen"
name = "食堂"
kind = "canteen"
parent = "org"

[[connections]]
id = "gw"
url = "tcp://127.0.0.1:1"

[[meters]]
id = "main"
name = "一号楼总表"
unit = "b1"
category = "01000"
profile = "acrel-adl400"
connection = "gw"
slave_id = 1
multiplier = 80
multiplier_history = [{ until = "2026-10-15T12:00:00+08:00", multiplier = 40 }]
max_power = 400

[[meters]]
id = "light"
name = "一号楼照明"
unit = "b1"
category = "01A00"
read_by_hand = "energy_import_kwh"
parent_meter = "main"

[[meters]]
id = "kitchen"
name = "食堂厨房"
unit = "canteen"
category = "01D00"
read_by_hand = "energy_import_kwh"

[[meters]]
id = "water"
name = "一号楼水表"
unit = "b1"
category = "02000"
read_by_hand = "water_m3"

[[meters]]
id = "gas"
name = "食堂燃气"
unit = "canteen"
category = "03000"
read_by_hand = "gas_m3"

[[virtual_meters]]
id = "b1-public"
name = "一号楼公共区域及损耗"
unit = "b1"
category = "01000"
formula = "main - light"
"#;

fn tz() -> chrono_tz::Tz {
    chrono_tz::Asia::Shanghai
}

fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    tz().with_ymd_and_hms(y, mo, d, h, mi, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn reading(meter: &str, q: &str, time: DateTime<Utc>, value: f64) -> Reading {
    Reading {
        meter: Arc::from(meter),
        quantity: Quantity::named(q),
        time,
        value,
        quality: ReadingQuality::Measured,
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    site: Site,
    store: SqliteStore,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let site =
        Site::from_str(&dir.path().join("site.toml"), CONFIG).unwrap_or_else(|e| panic!("{e}"));
    let store = SqliteStore::open(&dir.path().join("jieneng.db")).unwrap();
    Fixture {
        _dir: dir,
        site,
        store,
    }
}

/// Hourly readings of `meter`'s `q` from `from` for `hours`, growing by `per_hour`.
fn hourly(
    meter: &str,
    q: &str,
    from: DateTime<Utc>,
    hours: i64,
    start: f64,
    per_hour: f64,
) -> Vec<Reading> {
    (0..=hours)
        .map(|h| {
            reading(
                meter,
                q,
                from + Duration::hours(h),
                start + per_hour * h as f64,
            )
        })
        .collect()
}

fn total(rows: &[Row]) -> Decimal {
    rows.iter().map(|r| r.consumption).sum()
}

#[test]
fn time_of_use_registers_are_kept_as_their_own_series() {
    let f = fixture();
    let main = f.site.meter("main").unwrap();
    let kept: Vec<&str> = registers(main).iter().map(|q| q.name()).collect();
    assert_eq!(
        kept,
        [
            "energy_import_kwh",
            "energy_import_kwh_sharp",
            "energy_import_kwh_peak",
            "energy_import_kwh_flat",
            "energy_import_kwh_valley"
        ]
    );
    let from = local(2026, 11, 2, 0, 0);
    let mut w = f.store.writer().unwrap();
    w.write_batch(&hourly(
        "main",
        "energy_import_kwh_peak",
        from,
        24,
        100.0,
        0.5,
    ))
    .unwrap();
    w.write_batch(&hourly(
        "main",
        "energy_import_kwh_valley",
        from,
        24,
        300.0,
        0.25,
    ))
    .unwrap();
    let reader = f.store.reader().unwrap();
    let ledger = Ledger::new(&reader, &f.site);
    let day = |q: &str| {
        ledger
            .meter(
                main,
                Quantity::named(q),
                from,
                from + Duration::days(1),
                Step::Day,
            )
            .unwrap()
    };
    // 24 h × 0.5 kWh × CT 80; 24 h × 0.25 kWh × 80.
    assert_eq!(day("energy_import_kwh_peak")[0].consumption, dec("960"));
    assert_eq!(day("energy_import_kwh_valley")[0].consumption, dec("480"));
    // Hourly readings of a meter read every 15 minutes: the quarters between are interpolated.
    assert_eq!(
        day("energy_import_kwh_peak")[0].quality,
        Quality::Interpolated
    );
}

#[test]
fn a_ct_change_mid_month_splits_the_month_at_the_change() {
    let f = fixture();
    let main = f.site.meter("main").unwrap();
    // 10 register kWh an hour all October; the CT went from 40 to 80 on the 15th at noon.
    let from = local(2026, 10, 1, 0, 0);
    let hours = 31 * 24;
    let mut w = f.store.writer().unwrap();
    w.write_batch(&hourly(
        "main",
        "energy_import_kwh",
        from,
        hours,
        5000.0,
        10.0,
    ))
    .unwrap();
    let reader = f.store.reader().unwrap();
    let ledger = Ledger::new(&reader, &f.site);
    let q = Quantity::named("energy_import_kwh");
    let month = ledger
        .meter(main, q, from, local(2026, 11, 1, 0, 0), Step::Month)
        .unwrap();
    // Before: 14.5 days × 24 h × 10 × 40; after: 16.5 days × 24 h × 10 × 80.
    let expected = dec("348") * dec("10") * dec("40") + dec("396") * dec("10") * dec("80");
    assert_eq!(month[0].consumption, expected);
    let days = ledger
        .meter(
            main,
            q,
            local(2026, 10, 15, 0, 0),
            local(2026, 10, 16, 0, 0),
            Step::Hour,
        )
        .unwrap();
    assert_eq!(days[11].consumption, dec("400"));
    assert_eq!(days[12].consumption, dec("800"));
}

#[test]
fn an_implausible_jump_above_max_power_is_flagged_and_excluded() {
    let f = fixture();
    let main = f.site.meter("main").unwrap();
    let from = local(2026, 11, 3, 0, 0);
    let mut readings = hourly("main", "energy_import_kwh", from, 24, 1000.0, 1.0);
    // A garbage value at 10:00: 50,000 register kWh in an hour is far above 400 kW / CT 80.
    readings[10].value = 51_000.0;
    f.store.writer().unwrap().write_batch(&readings).unwrap();
    let reader = f.store.reader().unwrap();
    let ledger = Ledger::new(&reader, &f.site);
    let rows = ledger
        .meter(
            main,
            Quantity::named("energy_import_kwh"),
            from,
            from + Duration::days(1),
            Step::Hour,
        )
        .unwrap();
    // The garbage reading is skipped: its two hours are bridged from the readings around it.
    assert_eq!(total(&rows), dec("24") * dec("80"));
    assert!(rows.iter().all(|r| r.consumption <= dec("80")), "{rows:?}");
    let found = ledger
        .anomalies(
            main,
            Quantity::named("energy_import_kwh"),
            from,
            from + Duration::days(1),
        )
        .unwrap();
    assert!(
        matches!(found.as_slice(), [Anomaly::ImplausibleJump { time, .. }] if *time == from + Duration::hours(10)),
        "{found:?}"
    );
}

#[test]
fn corrections_are_audited_recomputed_and_flag_billed_statements() {
    let f = fixture();
    let light = f.site.meter("light").unwrap();
    let q = Quantity::named("energy_import_kwh");
    let from = local(2026, 10, 1, 0, 0);
    let mut w = f.store.writer().unwrap();
    let manual = |t, v| {
        (
            Reading {
                quality: ReadingQuality::Manual,
                ..reading("light", "energy_import_kwh", t, v)
            },
            None,
        )
    };
    w.write_manual(
        &[
            manual(from, 100.0),
            manual(local(2026, 10, 11, 0, 0), 200.0),
            manual(local(2026, 11, 1, 0, 0), 500.0),
        ],
        "抄表员",
    )
    .unwrap();
    w.record_billed(
        "2026-10-食堂-001",
        "light",
        from,
        local(2026, 11, 1, 0, 0),
        dec("400"),
    )
    .unwrap();
    let month = |f: &Fixture| {
        let reader = f.store.reader().unwrap();
        Ledger::new(&reader, &f.site)
            .meter(light, q, from, local(2026, 11, 1, 0, 0), Step::Month)
            .unwrap()[0]
            .clone()
    };
    assert_eq!(month(&f).consumption, dec("400"));
    assert_eq!(month(&f).quality, Quality::Manual);

    // The month-end reading was misread: 450, not 500.
    let change = Change {
        meter: "light",
        quantity: q,
        who: "张工",
        note: "抄表读错，现场复核为 450",
    };
    let outcome = w
        .correct_reading(&change, local(2026, 11, 1, 0, 0), Some(dec("450")))
        .unwrap()
        .expect("the reading exists");
    assert_eq!(outcome.reissue, vec!["2026-10-食堂-001".to_string()]);
    assert_eq!(month(&f).consumption, dec("350"));
    assert_eq!(month(&f).quality, Quality::Corrected);

    // No reading at that instant: nothing to correct.
    assert!(
        w.correct_reading(&change, local(2026, 10, 5, 0, 0), Some(dec("1")))
            .unwrap()
            .is_none()
    );

    // An engineer sets the consumption of the first ten days outright (multiplier applied).
    let set = IntervalCorrection {
        start: from,
        end: local(2026, 10, 11, 0, 0),
        consumption: dec("120"),
        quality: Quality::Corrected,
    };
    w.correct_interval(&change, &set).unwrap();
    assert_eq!(month(&f).consumption, dec("370"));

    let reader = f.store.reader().unwrap();
    let audit = reader.audit(Some("light"), 10).unwrap();
    assert_eq!(audit[0].action, "interval.correct");
    assert_eq!(audit[1].action, "reading.correct");
    assert_eq!(audit[1].who, "张工");
    assert_eq!(audit[1].before["value"], 500.0);
    assert_eq!(audit[1].after["value"], "450");
    assert_eq!(audit[2].action, "readings.enter");
    let flags = reader.reissue_flags().unwrap();
    assert_eq!(flags.len(), 2, "{flags:?}");
    assert!(
        flags
            .iter()
            .all(|(s, m, _)| s == "2026-10-食堂-001" && m == "light")
    );
}

#[test]
fn stored_days_agree_with_computed_ones_and_follow_late_changes() {
    let f = fixture();
    let main = f.site.meter("main").unwrap();
    let q = Quantity::named("energy_import_kwh");
    let from = local(2026, 11, 1, 0, 0);
    let mut w = f.store.writer().unwrap();
    // Ten days of hourly readings growing by 2 register kWh an hour, with a day-long gap.
    let mut readings = hourly("main", "energy_import_kwh", from, 10 * 24, 100.0, 2.0);
    readings.retain(|r| !(r.time > local(2026, 11, 4, 6, 0) && r.time < local(2026, 11, 5, 6, 0)));
    w.write_batch(&readings).unwrap();
    let now = local(2026, 11, 20, 0, 0);
    assert!(refresh_all(&mut w, &f.site, now).unwrap() >= 1);
    let reader = f.store.reader().unwrap();
    let ledger = Ledger::new(&reader, &f.site);
    let to = local(2026, 11, 11, 0, 0);
    let days = ledger.meter(main, q, from, to, Step::Day).unwrap();
    let hours = ledger.meter(main, q, from, to, Step::Hour).unwrap();
    assert_eq!(days.len(), 10);
    for (i, d) in days.iter().enumerate() {
        let of_day = &hours[i * 24..(i + 1) * 24];
        assert_eq!(d.consumption, total(of_day), "day {i}");
        assert_eq!(
            d.quality,
            of_day.iter().map(|r| r.quality).max().unwrap(),
            "day {i}"
        );
    }
    assert_eq!(days[3].quality, Quality::Interpolated);
    assert_eq!(total(&days), dec("2") * dec("80") * dec("240"));

    // A reading that arrives late, inside the stored days, is in the next answer at once.
    // It shows more use on the 4th than the straight line through the gap assumed.
    w.write_batch(&[reading(
        "main",
        "energy_import_kwh",
        local(2026, 11, 4, 12, 0),
        100.0 + 2.0 * 84.0 + 20.0,
    )])
    .unwrap();
    let after = ledger.meter(main, q, from, to, Step::Day).unwrap();
    assert!(
        after[3].consumption > days[3].consumption,
        "{:?} vs {:?}",
        after[3],
        days[3]
    );
    assert!(after[4].consumption < days[4].consumption);
    assert_eq!(
        total(&after),
        total(&days),
        "the gap's total is what the register says"
    );
    let hours_after = ledger.meter(main, q, from, to, Step::Hour).unwrap();
    // Rows are rounded to 0.0001: a day and the sum of its 24 rounded hours agree to that.
    let diff = (after[3].consumption - total(&hours_after[72..96])).abs();
    assert!(diff <= dec("0.0024"), "{diff}");
    // And the refresh stores what was computed.
    assert!(refresh_all(&mut w, &f.site, now).unwrap() >= 1);
    assert_eq!(ledger.meter(main, q, from, to, Step::Day).unwrap(), after);
    // A report's snapshot answers the same, with the last day computed from readings, and
    // the same again from what it remembers.
    let snapshot = ledger.snapshot();
    for _ in 0..2 {
        assert_eq!(snapshot.meter(main, q, from, to, Step::Day).unwrap(), after);
    }
}

#[test]
fn units_count_each_meter_once_and_virtual_meters_follow_their_formula() {
    let f = fixture();
    let from = local(2026, 10, 1, 0, 0);
    let to = local(2026, 11, 1, 0, 0);
    let mut w = f.store.writer().unwrap();
    let manual = |m: &str, q: &str, t, v| {
        (
            Reading {
                quality: ReadingQuality::Manual,
                ..reading(m, q, t, v)
            },
            None,
        )
    };
    // main: 10 register kWh/h × CT (40, then 80) — written hourly; the others monthly by hand.
    w.write_batch(&hourly(
        "main",
        "energy_import_kwh",
        from,
        31 * 24,
        0.0,
        10.0,
    ))
    .unwrap();
    w.write_manual(
        &[
            manual("light", "energy_import_kwh", from, 0.0),
            manual("light", "energy_import_kwh", to, 100_000.0),
            manual("kitchen", "energy_import_kwh", from, 0.0),
            manual("kitchen", "energy_import_kwh", to, 2_000.0),
            manual("water", "water_m3", from, 0.0),
            manual("water", "water_m3", to, 200.0),
            manual("gas", "gas_m3", from, 0.0),
            manual("gas", "gas_m3", to, 1_000.0),
        ],
        "抄表员",
    )
    .unwrap();
    let reader = f.store.reader().unwrap();
    let ledger = Ledger::new(&reader, &f.site);
    let main_total = dec("348") * dec("400") + dec("396") * dec("800"); // 456,000 kWh
    let b1 = ledger.unit("b1", "01000", from, to, Step::Month).unwrap();
    assert_eq!(
        b1[0].consumption, main_total,
        "light is inside main: counted once"
    );
    let lighting = ledger.unit("b1", "01A00", from, to, Step::Month).unwrap();
    assert_eq!(lighting[0].consumption, dec("100000"));
    let org = ledger.unit("org", "01000", from, to, Step::Month).unwrap();
    assert_eq!(org[0].consumption, main_total + dec("2000"));
    let public = ledger
        .virtual_meter(
            f.site.virtual_meter("b1-public").unwrap(),
            from,
            to,
            Step::Month,
        )
        .unwrap();
    assert_eq!(public[0].consumption, main_total - dec("100000"));

    let balance = ledger.balances(from, to).unwrap();
    assert_eq!(balance.len(), 1);
    assert_eq!(balance[0].meter, "main");
    assert_eq!(balance[0].difference, dec("356000"));
    assert_eq!(balance[0].difference_percent, Some(dec("78.07")));

    // 综合能耗: 458,000 kWh × 0.1229 + 1,000 m³ gas × 1.2143 = 56,288.2 + 1,214.3 kgce.
    let ind = ledger
        .indicators(f.site.unit("org").unwrap(), from, to)
        .unwrap();
    assert_eq!(ind.total_kgce, dec("57502.5"));
    assert_eq!(ind.kgce_per_person, Some(dec("1150.05")));
    assert_eq!(ind.kgce_per_m2, Some(dec("57.503")));
    assert_eq!(ind.water_m3_per_person, Some(dec("4")));
    assert_eq!(ind.co2_year, 2022);
    let kgce = ledger.unit_kgce("org", from, to, Step::Month).unwrap();
    assert_eq!(kgce[0].consumption, dec("57502.5"));
}

#[test]
fn config_errors_name_the_meter_formula_and_coefficient() {
    let bad = CONFIG
        .replace("formula = \"main - light\"", "formula = \"main - nosuch\"")
        .replace("parent_meter = \"main\"", "parent_meter = \"water\"")
        + "\n[coefficients]\ngas_kgce_per_m3 = 1.5\n";
    let err = Site::from_str(Path::new("site.toml"), &bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown meter `nosuch`"), "{err}");
    assert!(err.contains("different kinds of energy"), "{err}");
    assert!(err.contains("gas_kgce_per_m3 = 1.5 is outside"), "{err}");
}
