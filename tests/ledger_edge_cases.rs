//! Edge cases of the daily ledger: stored days equal what computing from the readings gives,
//! whatever the query range and whatever garbage the meter sent, and no query panics.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use jieneng::energy::intervals::{Event, Quality};
use jieneng::energy::ledger::{Ledger, Row, Step, refresh_all};
use jieneng::quantity::Quantity;
use jieneng::reading::{Reading, ReadingQuality};
use jieneng::site::Site;
use jieneng::store::SqliteStore;
use jieneng::store::ledger::Change;
use jieneng::time::parse_time;
use rust_decimal::Decimal;

const CONFIG: &str = r#"
[site]
name = "测试学院"
timezone = "TZ"

[[units]]
id = "org"
name = "学院"
kind = "organisation"

[[connections]]
id = "gw"
url = "tcp://127.0.0.1:1"

# Register kWh × 80; 400 kW max → at most 10 register kWh/h (CT 40 before), jumps above 15/h.
[[meters]]
id = "main"
name = "总表"
unit = "org"
category = "01000"
profile = "acrel-adl400"
connection = "gw"
slave_id = 1
multiplier = 80
multiplier_history = [{ until = "2026-10-15T12:00:00+08:00", multiplier = 40 }]
max_power = 400

[[meters]]
id = "light"
name = "照明"
unit = "org"
category = "01A00"
read_by_hand = "energy_import_kwh"
"#;

const KWH: &str = "energy_import_kwh";

struct Fixture {
    _dir: tempfile::TempDir,
    site: Site,
    store: SqliteStore,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::from_str(
        &dir.path().join("site.toml"),
        &CONFIG.replace("TZ", "Asia/Shanghai"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let store = SqliteStore::open(&dir.path().join("jieneng.db")).unwrap();
    Fixture {
        _dir: dir,
        site,
        store,
    }
}

fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn reading(meter: &str, time: DateTime<Utc>, value: f64) -> Reading {
    Reading {
        meter: Arc::from(meter),
        quantity: Quantity::named(KWH),
        time,
        value,
        quality: ReadingQuality::Measured,
    }
}

/// Hourly readings from `from` for `hours`, growing by `per_hour` from `start`.
fn hourly(from: DateTime<Utc>, hours: i64, start: f64, per_hour: f64) -> Vec<Reading> {
    (0..=hours)
        .map(|h| {
            reading(
                "main",
                from + Duration::hours(h),
                start + per_hour * h as f64,
            )
        })
        .collect()
}

fn total(rows: &[Row]) -> Decimal {
    rows.iter().map(|r| r.consumption).sum()
}

fn query(f: &Fixture, from: DateTime<Utc>, to: DateTime<Utc>, step: Step) -> Vec<Row> {
    let reader = f.store.reader().unwrap();
    let ledger = Ledger::new(&reader, &f.site);
    let main = f.site.meter("main").unwrap();
    ledger
        .meter(main, Quantity::named(KWH), from, to, step)
        .unwrap()
}

/// The day starting at `day` as the ledger reports it (stored days where current) and as
/// computed from the readings (hourly rows, never stored).
fn day_vs_hours(f: &Fixture, day: DateTime<Utc>) -> (Row, Decimal, Quality) {
    let d = query(f, day, day + Duration::days(1), Step::Day)[0].clone();
    let hours = query(f, day, day + Duration::days(1), Step::Hour);
    let q = hours.iter().map(|r| r.quality).max().unwrap();
    (d, total(&hours), q)
}

/// A meter goes offline; on reconnecting its first readings are garbage (implausible jumps
/// still in doubt when the ledger refreshes), then good readings follow. The outage days are
/// not stored while nothing bridges them, so the good readings fill them in.
#[test]
fn outage_days_are_filled_in_once_the_meter_comes_back_after_garbage_readings() {
    let f = fixture();
    let mut w = f.store.writer().unwrap();
    // Day 1: 00:00..12:00, 2 register kWh/h, last good value 124 at 12:00.
    w.write_batch(&hourly(local(2026, 11, 1, 0, 0), 12, 100.0, 2.0))
        .unwrap();
    // Back on day 3 at 08:00 with two garbage values (the second is not a level that holds).
    w.write_batch(&[
        reading("main", local(2026, 11, 3, 8, 0), 53_700.0),
        reading("main", local(2026, 11, 3, 8, 15), 12_000.0),
    ])
    .unwrap();
    assert!(refresh_all(&mut w, &f.site, local(2026, 11, 3, 9, 0)).unwrap() >= 1);
    // Good readings from 08:30 on: 2 kWh/h all along.
    let good: Vec<Reading> = (0..48)
        .map(|h| {
            let t = local(2026, 11, 3, 8, 30) + Duration::hours(h);
            reading("main", t, 124.0 + 2.0 * (44.5 + h as f64))
        })
        .collect();
    w.write_batch(&good).unwrap();
    // The nightly refreshes run.
    refresh_all(&mut w, &f.site, local(2026, 11, 4, 1, 0)).unwrap();
    refresh_all(&mut w, &f.site, local(2026, 11, 10, 1, 0)).unwrap();

    let (day2, hours2, q) = day_vs_hours(&f, local(2026, 11, 2, 0, 0));
    assert_eq!(q, Quality::Interpolated);
    assert_eq!(hours2, dec("3840"), "24 h × 2 kWh × 80, bridged");
    assert_eq!(
        (day2.consumption, day2.quality),
        (hours2, q),
        "the stored day 2 still says the meter was missing"
    );
}

/// A replacement recorded just after a garbage value the ledger skipped recomputes the days
/// back to the last good reading, not only from the garbage value on.
#[test]
fn a_replacement_recorded_after_a_garbage_reading_recomputes_the_days_it_explains() {
    let f = fixture();
    let mut w = f.store.writer().unwrap();
    // Old meter: 2 kWh/h until day 1 12:00 (124). A garbage value at day 3 00:30; the new
    // meter, installed at 00:45, reads 5 at 12:00 and grows 2 kWh/h.
    w.write_batch(&hourly(local(2026, 11, 1, 0, 0), 12, 100.0, 2.0))
        .unwrap();
    w.write_batch(&[reading("main", local(2026, 11, 3, 0, 30), 53_700.0)])
        .unwrap();
    let new: Vec<Reading> = (0..72)
        .map(|h| {
            reading(
                "main",
                local(2026, 11, 3, 12, 0) + Duration::hours(h),
                5.0 + 2.0 * h as f64,
            )
        })
        .collect();
    w.write_batch(&new).unwrap();
    refresh_all(&mut w, &f.site, local(2026, 11, 10, 0, 0)).unwrap();
    // Without the event the drop is unexplained: day 2 is invalid.
    let (before, _, _) = day_vs_hours(&f, local(2026, 11, 2, 0, 0));
    assert_eq!(before.quality, Quality::Invalid);

    w.add_event(
        &Change {
            meter: "main",
            quantity: Quantity::named(KWH),
            who: "张工",
            note: "换表",
        },
        &Event::Replacement {
            time: local(2026, 11, 3, 0, 45),
            old_final: dec("210"),
            new_initial: dec("0"),
        },
    )
    .unwrap();
    let (day2, hours2, q) = day_vs_hours(&f, local(2026, 11, 2, 0, 0));
    assert_eq!(q, Quality::Interpolated, "the event explains the drop");
    assert_eq!(
        day2.quality, q,
        "day 2 is not served from the stored (invalid) day"
    );
    // Hours are rounded to 0.0001 each: the day and its 24 hours agree to that.
    assert!(
        (day2.consumption - hours2).abs() <= dec("0.0024"),
        "{day2:?} vs {hours2}"
    );
}

/// Readings are loaded from a few readings before the range: a garbage value at the window's
/// start is judged as it is with all readings, so the same hours get the same figures
/// however far back the query starts.
#[test]
fn hourly_figures_do_not_depend_on_how_far_back_the_query_starts() {
    let f = fixture();
    let mut w = f.store.writer().unwrap();
    let mut readings = hourly(local(2026, 10, 31, 0, 0), 23, 100.0, 2.0); // to day 0 23:00 (146)
    readings.push(reading("main", local(2026, 11, 1, 0, 0), 53_700.0)); // garbage
    // Outage until day 2 06:00, then 2 kWh/h again (31 h after 146).
    readings.extend((0..24).map(|h| {
        reading(
            "main",
            local(2026, 11, 2, 6, 0) + Duration::hours(h),
            146.0 + 2.0 * (31 + h) as f64,
        )
    }));
    w.write_batch(&readings).unwrap();
    let day2 = local(2026, 11, 2, 0, 0);
    let narrow = query(&f, day2, day2 + Duration::days(1), Step::Hour);
    let wide = query(
        &f,
        day2 - Duration::days(1),
        day2 + Duration::days(1),
        Step::Hour,
    );
    assert_eq!(
        narrow,
        wide[24..].to_vec(),
        "day 2 00:00-06:00: invalid when asked alone, bridged when asked with day 1"
    );
}

/// The other edge: a garbage value just after the range is resolved by the readings after it,
/// so the end of the range is bridged, not reported missing.
#[test]
fn hourly_figures_do_not_depend_on_how_far_ahead_the_query_ends() {
    let f = fixture();
    let mut w = f.store.writer().unwrap();
    let mut readings = hourly(local(2026, 11, 1, 0, 0), 20, 100.0, 2.0); // to 20:00 (140)
    readings.push(reading("main", local(2026, 11, 3, 0, 0), 53_700.0)); // garbage
    readings.extend((0..24).map(|h| {
        reading(
            "main",
            local(2026, 11, 3, 1, 0) + Duration::hours(h),
            140.0 + 2.0 * (29 + h) as f64,
        )
    }));
    w.write_batch(&readings).unwrap();
    let day1 = local(2026, 11, 1, 0, 0);
    let narrow = query(&f, day1, day1 + Duration::days(1), Step::Hour);
    let wide = query(&f, day1, day1 + Duration::days(3), Step::Hour);
    assert_eq!(
        narrow,
        wide[..24].to_vec(),
        "day 1 20:00-24:00: missing when asked alone, bridged when asked with day 3"
    );
}

/// Times outside the years 1970–9999 are refused with a message, and queries at the edges of
/// that range are answered, not panicked on.
#[test]
fn times_outside_the_calendar_are_refused_and_its_edges_answered() {
    let f = fixture();
    let mut w = f.store.writer().unwrap();
    w.write_batch(&hourly(local(2026, 11, 1, 0, 0), 2, 100.0, 2.0))
        .unwrap();
    let tz = f.site.timezone;
    for far in ["+262142-12-30", "-262143-01-05", "1969-12-31"] {
        let err = parse_time(far, tz).unwrap_err();
        assert!(err.contains("1970–9999"), "{far}: {err}");
    }
    for (a, b) in [("1970-01-02", "1970-01-04"), ("9999-12-29", "9999-12-31")] {
        let (from, to) = (parse_time(a, tz).unwrap(), parse_time(b, tz).unwrap());
        for step in [Step::Quarter, Step::Day, Step::Month] {
            let r = std::panic::catch_unwind(AssertUnwindSafe(|| query(&f, from, to, step)));
            assert!(r.is_ok(), "{a}..{b} {step:?} panicked");
        }
    }
}

/// A register value beyond any real register (5e28, written past ingest's check) is an
/// implausible jump, not an overflow: the daily refresh goes on for every meter.
#[test]
fn one_absurd_register_value_does_not_stop_the_daily_ledger_refresh() {
    let f = fixture();
    let mut w = f.store.writer().unwrap();
    let manual = |t, v| {
        (
            Reading {
                quality: ReadingQuality::Manual,
                ..reading("light", t, v)
            },
            None,
        )
    };
    w.write_manual(
        &[
            manual(local(2026, 11, 1, 0, 0), 0.0),
            manual(local(2026, 11, 2, 0, 0), 5e28),
            manual(local(2026, 11, 3, 0, 0), 0.0),
            manual(local(2026, 11, 4, 0, 0), 5e28),
        ],
        "抄表员",
    )
    .unwrap();
    let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
        refresh_all(&mut w, &f.site, local(2026, 11, 10, 0, 0))
    }));
    assert!(r.is_ok(), "refresh_all panicked");
}

/// A meter with only a few readings, its days stored, then one of them struck out: the days
/// before it are recomputed too (there are fewer readings before it than the ledger looks
/// back over).
#[test]
fn striking_out_a_reading_of_a_new_meter_recomputes_its_first_days() {
    let f = fixture();
    let mut w = f.store.writer().unwrap();
    let manual = |d: u32, v: f64| {
        (
            Reading {
                quality: ReadingQuality::Manual,
                ..reading("light", local(2026, 10, d, 0, 0), v)
            },
            None,
        )
    };
    w.write_manual(
        &[
            manual(1, 100.0),
            manual(2, 150.0),
            manual(3, 9999.0),
            manual(4, 250.0),
        ],
        "抄表员",
    )
    .unwrap();
    refresh_all(&mut w, &f.site, local(2026, 10, 20, 0, 0)).unwrap();
    let change = Change {
        meter: "light",
        quantity: Quantity::named(KWH),
        who: "李工",
        note: "抄错位数",
    };
    w.correct_reading(&change, local(2026, 10, 3, 0, 0), None)
        .unwrap()
        .expect("the reading exists");
    let reader = f.store.reader().unwrap();
    let light = f.site.meter("light").unwrap();
    let days = Ledger::new(&reader, &f.site)
        .meter(
            light,
            Quantity::named(KWH),
            local(2026, 10, 1, 0, 0),
            local(2026, 10, 4, 0, 0),
            Step::Day,
        )
        .unwrap();
    let figures: Vec<Decimal> = days.iter().map(|d| d.consumption).collect();
    assert_eq!(figures, [dec("50"), dec("50"), dec("50")]);
}
