//! Golden statements, computed by hand, through the store and the ledger as finance sees
//! them: a canteen on time-of-use with a price change mid-month behind a CT of 40, TOU
//! quantities from the meter's own registers, a meter replaced mid-month, a dormitory room
//! with a free quota carried over and reset by semester, water with a sewage fee and a loss
//! allowance; then issue, pay, correct, re-issue.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use jieneng::billing::Statement;
use jieneng::billing::book::{self, balances, month_statements, recovery};
use jieneng::billing::statement::Status;
use jieneng::energy::intervals::{Event, Quality};
use jieneng::energy::ledger::Ledger;
use jieneng::quantity::Quantity;
use jieneng::reading::{Reading, ReadingQuality};
use jieneng::site::Site;
use jieneng::store::SqliteStore;
use jieneng::store::billing::NewPayment;
use jieneng::store::ledger::{Change, IntervalCorrection};
use jieneng::time::Month;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const CONFIG: &str = r#"
[site]
name = "测试学院"
timezone = "Asia/Shanghai"

[[units]]
id = "org"
name = "学院"
kind = "organisation"

[[connections]]
id = "gw"
url = "tcp://127.0.0.1:1"

[[meters]]
id = "canteen-main"
name = "食堂总表"
unit = "org"
category = "01000"
profile = "eastron-sdm630"
connection = "gw"
slave_id = 1
multiplier = 40

[[meters]]
id = "canteen-tou"
name = "食堂二楼总表"
unit = "org"
category = "01000"
profile = "acrel-adl400"
connection = "gw"
slave_id = 2

[[meters]]
id = "shop-elec"
name = "超市电表"
unit = "org"
category = "01000"
read_by_hand = "energy_import_kwh"

[[meters]]
id = "shop-water"
name = "超市水表"
unit = "org"
category = "02000"
read_by_hand = "water_m3"

[[meters]]
id = "dorm-r1"
name = "宿舍101"
unit = "org"
category = "01A00"
read_by_hand = "energy_import_kwh"

[billing]
issuer = "测试学院后勤处"
number_prefix = "CS"
due_days = 15
late_fee_per_day = "0.005"

[[tariffs]]
id = "tou"
name = "分时电价"
[[tariffs.versions]]
from = 2026-01-01
prices = { sharp = "1.2110", peak = "0.9688", flat = "0.5699", valley = "0.2166" }
management_fee = "0.05"
[[tariffs.versions.seasons]]
months = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
schedule = { "00:00" = "valley", "07:00" = "flat", "08:00" = "peak", "11:00" = "flat", "18:00" = "peak", "23:00" = "valley" }
[[tariffs.versions]]
from = 2026-10-16
prices = { sharp = "1.2500", peak = "1.0000", flat = "0.6000", valley = "0.2500" }
management_fee = "0.05"
[[tariffs.versions.seasons]]
months = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
schedule = { "00:00" = "valley", "07:00" = "flat", "08:00" = "peak", "11:00" = "flat", "18:00" = "peak", "23:00" = "valley" }

[[tariffs]]
id = "tou-one"
name = "分时电价(单一版本)"
[[tariffs.versions]]
from = 2026-01-01
prices = { sharp = "1.2110", peak = "0.9688", flat = "0.5699", valley = "0.2166" }
[[tariffs.versions.seasons]]
months = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
schedule = { "00:00" = "valley", "08:00" = "peak" }

[[tariffs]]
id = "flat"
name = "一般工商业电价"
[[tariffs.versions]]
from = 2026-01-01
price = "0.65"
management_fee = "0.05"

[[tariffs]]
id = "residential"
name = "居民电价"
[[tariffs.versions]]
from = 2026-01-01
price = "0.588"

[[tariffs]]
id = "water"
name = "非居民用水"
[[tariffs.versions]]
from = 2026-01-01
price = "3.45"
sewage_fee = "0.95"
management_fee = "0.10"

[[tenants]]
id = "canteen"
name = "第一食堂"
kind = "canteen"
contract = "HT-2026-001"
meters = [{ meter = "canteen-main", tariff = "tou", loss_rate = "0.03" }]

[[tenants]]
id = "canteen-2f"
name = "食堂二楼"
kind = "canteen"
meters = [{ meter = "canteen-tou", tariff = "tou-one" }]

[[tenants]]
id = "shop"
name = "校园超市"
kind = "shop"
meters = [
  { meter = "shop-elec", tariff = "flat" },
  { meter = "shop-water", tariff = "water", loss_rate = "0.05" },
]

[[tenants]]
id = "room101"
name = "1号宿舍101室"
kind = "dormitory_room"
occupants = 4
meters = [{ meter = "dorm-r1", tariff = "residential" }]
free_quota = { per_person = "8", months = [1, 2, 3, 4, 5, 6, 9, 10, 11, 12], carry_over = true, reset_months = [9] }
"#;

fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Shanghai
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .unwrap()
        .with_timezone(&Utc)
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

/// Readings every `step` from `from` to `to` (inclusive), growing by `per_step`.
fn series(
    meter: &str,
    q: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step: Duration,
    start: f64,
    per_step: f64,
) -> Vec<Reading> {
    let mut out = Vec::new();
    let mut t = from;
    let mut v = start;
    while t <= to {
        out.push(reading(meter, q, t, v));
        t += step;
        v += per_step;
    }
    out
}

struct Fixture {
    _dir: tempfile::TempDir,
    site: Site,
    store: SqliteStore,
}

fn october() -> Month {
    Month::new(2026, 10).unwrap()
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let site =
        Site::from_str(&dir.path().join("site.toml"), CONFIG).unwrap_or_else(|e| panic!("{e}"));
    let store = SqliteStore::open(&dir.path().join("jieneng.db")).unwrap();
    let mut w = store.writer().unwrap();
    let (from, to) = (local(2026, 9, 30, 0, 0), local(2026, 11, 1, 2, 0));
    // Canteen: 0.25 kWh a quarter on the secondary, × CT 40 = 40 kWh an hour.
    w.write_batch(&series(
        "canteen-main",
        "energy_import_kwh",
        from,
        to,
        Duration::minutes(15),
        1000.0,
        0.25,
    ))
    .unwrap();
    // Second floor: its TOU registers; peak 2 kWh/h, flat 0.5, valley 1 (as the meter counts).
    for (q, per_hour) in [
        ("energy_import_kwh", 3.5),
        ("energy_import_kwh_peak", 2.0),
        ("energy_import_kwh_flat", 0.5),
        ("energy_import_kwh_valley", 1.0),
        ("energy_import_kwh_sharp", 0.0),
    ] {
        w.write_batch(&series(
            "canteen-tou",
            q,
            from,
            to,
            Duration::hours(1),
            100.0,
            per_hour,
        ))
        .unwrap();
    }
    // Shop: 10 kWh/h, the meter replaced on 15 October at 12:30 (old stopped at 8725, new
    // started at 0); water 0.2 m³/h.
    let replaced = local(2026, 10, 15, 12, 30);
    let old: Vec<Reading> = series(
        "shop-elec",
        "energy_import_kwh",
        from,
        to,
        Duration::hours(1),
        5000.0,
        10.0,
    )
    .into_iter()
    .filter(|r| r.time < replaced)
    .collect();
    let new: Vec<Reading> = series(
        "shop-elec",
        "energy_import_kwh",
        replaced + Duration::minutes(30),
        to,
        Duration::hours(1),
        5.0,
        10.0,
    );
    w.write_batch(&old).unwrap();
    w.write_batch(&new).unwrap();
    w.add_event(
        &Change {
            meter: "shop-elec",
            quantity: Quantity::named("energy_import_kwh"),
            who: "张工",
            note: "电表故障, 换表",
        },
        &Event::Replacement {
            time: replaced,
            old_final: dec!(8725),
            new_initial: dec!(0),
        },
    )
    .unwrap();
    w.write_batch(&series(
        "shop-water",
        "water_m3",
        from,
        to,
        Duration::hours(1),
        300.0,
        0.2,
    ))
    .unwrap();
    // Room 101: 1 kWh a day in August, 0.5 in September, 2 in October (daily readings).
    let mut v = 50.0;
    let mut t = local(2026, 8, 1, 0, 0);
    let mut room = Vec::new();
    while t <= local(2026, 11, 1, 0, 0) {
        room.push(reading("dorm-r1", "energy_import_kwh", t, v));
        let local_month = t
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .format("%m")
            .to_string();
        v += match local_month.as_str() {
            "08" => 1.0,
            "09" => 0.5,
            _ => 2.0,
        };
        t += Duration::days(1);
    }
    w.write_batch(&room).unwrap();
    drop(w);
    Fixture {
        _dir: dir,
        site,
        store,
    }
}

fn statements(f: &Fixture, today: NaiveDate) -> Vec<Statement> {
    let reader = f.store.reader().unwrap();
    let ledger = Ledger::new(&reader, &f.site);
    month_statements(&ledger, &reader, &f.site, october(), None, today).unwrap()
}

fn find<'a>(all: &'a [Statement], tenant: &str) -> &'a Statement {
    all.iter().find(|s| s.tenant == tenant).unwrap()
}

fn lines(s: &Statement) -> Vec<(&str, Decimal, Decimal, Decimal)> {
    s.lines
        .iter()
        .map(|l| (l.description.as_str(), l.quantity, l.price, l.amount))
        .collect()
}

fn issue_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 3).unwrap()
}

#[test]
fn canteen_on_tou_with_a_price_change_mid_month_behind_a_ct_of_40() {
    let f = fixture();
    let all = statements(&f, issue_day());
    let s = find(&all, "canteen");
    // 40 kWh/h: 8 h a day in each of 峰, 平 and 谷 = 320 kWh a day each; 15 days at the old
    // prices, 16 at the new; +3% losses: 4800 → 4944.00 and 5120 → 5273.60. The management fee
    // did not change: one line over the month, rounded once.
    assert_eq!(
        lines(s),
        vec![
            (
                "电费·峰 (10-01至10-15)",
                dec!(4944.00),
                dec!(0.9688),
                dec!(4789.75)
            ),
            (
                "电费·平 (10-01至10-15)",
                dec!(4944.00),
                dec!(0.5699),
                dec!(2817.59)
            ),
            (
                "电费·谷 (10-01至10-15)",
                dec!(4944.00),
                dec!(0.2166),
                dec!(1070.87)
            ),
            (
                "电费·峰 (10-16至10-31)",
                dec!(5273.60),
                dec!(1.0000),
                dec!(5273.60)
            ),
            (
                "电费·平 (10-16至10-31)",
                dec!(5273.60),
                dec!(0.6000),
                dec!(3164.16)
            ),
            (
                "电费·谷 (10-16至10-31)",
                dec!(5273.60),
                dec!(0.2500),
                dec!(1318.40)
            ),
            ("管理费", dec!(30652.80), dec!(0.05), dec!(1532.64)),
        ]
    );
    assert_eq!(s.total, dec!(19967.01));
    assert_eq!(s.number, "CS-202610-canteen");
    assert_eq!(s.status, Status::Draft);
    let m = &s.meters[0];
    assert_eq!(m.multiplier, dec!(40));
    assert_eq!(m.metered, dec!(29760));
    assert!(
        !m.tou_registers,
        "no TOU registers on an SDM630: split by intervals"
    );
    // Boundary readings as read, at local midnight: 1000 + 96 quarters × 0.25.
    let start = m.start.as_ref().unwrap();
    assert_eq!(
        (start.value, start.quality),
        (Some(dec!(1024)), Quality::Measured)
    );
    assert_eq!(m.end.as_ref().unwrap().value, Some(dec!(1024) + dec!(744)));
    assert_eq!(s.due_date, NaiveDate::from_ymd_opt(2026, 11, 18).unwrap());
}

#[test]
fn tou_quantities_come_from_the_meters_own_registers() {
    let f = fixture();
    let all = statements(&f, issue_day());
    let s = find(&all, "canteen-2f");
    // 744 h: peak 1488, flat 372, valley 744 as the registers counted them — although the
    // tariff's own schedule (valley until 08:00, peak after) would split differently.
    assert_eq!(
        lines(s),
        vec![
            ("电费·峰", dec!(1488.00), dec!(0.9688), dec!(1441.57)),
            ("电费·平", dec!(372.00), dec!(0.5699), dec!(212.00)),
            ("电费·谷", dec!(744.00), dec!(0.2166), dec!(161.15)),
        ]
    );
    assert_eq!(s.total, dec!(1814.72));
    assert!(s.meters[0].tou_registers);
}

#[test]
fn a_meter_replaced_mid_month_and_water_with_sewage_and_losses() {
    let f = fixture();
    let all = statements(&f, issue_day());
    let s = find(&all, "shop");
    // Electricity: 10 kWh/h for 744 h across the replacement = 7440 kWh.
    // Water: 0.2 m³/h × 744 h = 148.8 m³, +5% losses = 156.24 m³.
    assert_eq!(
        lines(s),
        vec![
            ("电费", dec!(7440.00), dec!(0.65), dec!(4836.00)),
            ("管理费", dec!(7440.00), dec!(0.05), dec!(372.00)),
            ("水费", dec!(156.24), dec!(3.45), dec!(539.03)),
            ("污水处理费", dec!(156.24), dec!(0.95), dec!(148.43)),
            ("管理费", dec!(156.24), dec!(0.10), dec!(15.62)),
        ]
    );
    assert_eq!(s.total, dec!(5911.08));
    let elec = &s.meters[0];
    // Old meter from 5240 (24 h after 5000); new meter at 3955 on 1 November (395.5 h × 10).
    assert_eq!(elec.start.as_ref().unwrap().value, Some(dec!(5240)));
    assert_eq!(elec.end.as_ref().unwrap().value, Some(dec!(3955)));
    assert_eq!(elec.notes.len(), 1);
    assert!(
        elec.notes[0].contains("换表") && elec.notes[0].contains("8725"),
        "{:?}",
        elec.notes
    );
    assert_eq!(elec.metered, dec!(7440));
}

#[test]
fn a_dormitory_room_pays_beyond_its_quota_with_savings_reset_each_semester() {
    let f = fixture();
    let all = statements(&f, issue_day());
    let s = find(&all, "room101");
    // Whatever was carried before September is cleared then; September: 32 granted, 15
    // used, 17 carried; October: 32 + 17 = 49 free of 62 used → 13 kWh × 0.588 = 7.64.
    let q = s.free_quota.as_ref().unwrap();
    assert_eq!(
        (q.granted, q.carried_in, q.used, q.carried_out),
        (dec!(32), dec!(17), dec!(49), dec!(0))
    );
    assert_eq!(
        lines(s),
        vec![("电费", dec!(13.00), dec!(0.588), dec!(7.64))]
    );
    assert_eq!(s.per_occupant, Some(dec!(1.91)));
}

#[test]
fn issue_pay_correct_and_reissue() {
    let f = fixture();
    let reader = f.store.reader().unwrap();
    let ledger = Ledger::new(&reader, &f.site);
    let mut w = f.store.writer().unwrap();
    let issued = book::issue(
        &ledger,
        &reader,
        &f.site,
        &mut w,
        october(),
        Some("shop"),
        "王会计",
        issue_day(),
    )
    .unwrap();
    assert_eq!(
        (issued[0].outcome, issued[0].total),
        ("issued", dec!(5911.08))
    );
    // Issuing again changes nothing.
    let again = book::issue(
        &ledger,
        &reader,
        &f.site,
        &mut w,
        october(),
        Some("shop"),
        "王会计",
        issue_day(),
    )
    .unwrap();
    assert_eq!(again[0].outcome, "unchanged");

    w.record_payments(
        &[NewPayment {
            statement: "CS-202610-shop".into(),
            amount: dec!(3000),
            paid_on: NaiveDate::from_ymd_opt(2026, 11, 10).unwrap(),
            method: "转账".into(),
            reference: "B-1".into(),
        }],
        "王会计",
    )
    .unwrap();
    let shop = |today| {
        month_statements(&ledger, &reader, &f.site, october(), Some("shop"), today)
            .unwrap()
            .remove(0)
    };
    let s = shop(NaiveDate::from_ymd_opt(2026, 11, 12).unwrap());
    assert_eq!(
        (s.status, s.paid, s.outstanding),
        (Status::PartlyPaid, dec!(3000), dec!(2911.08))
    );
    // Three days past the due date (18 November): 2911.08 × 0.5% × 3 = 43.67 late fee.
    let s = shop(NaiveDate::from_ymd_opt(2026, 11, 21).unwrap());
    assert_eq!(
        (s.status, s.late_fee, s.outstanding),
        (Status::Overdue, dec!(43.67), dec!(2954.75))
    );

    // An engineer finds the water meter under-read a burst on 20 October 12:00–13:00: it was
    // 20.2 m³, not 0.2. The correction flags the issued statement for re-issue.
    let out = w
        .correct_interval(
            &Change {
                meter: "shop-water",
                quantity: Quantity::named("water_m3"),
                who: "张工",
                note: "爆管, 表计漏计",
            },
            &IntervalCorrection {
                start: local(2026, 10, 20, 12, 0),
                end: local(2026, 10, 20, 13, 0),
                consumption: dec!(20.2),
                quality: Quality::Corrected,
            },
        )
        .unwrap();
    assert_eq!(out.reissue, vec!["CS-202610-shop".to_string()]);
    assert!(shop(issue_day()).reissue_needed);

    let re = book::issue(
        &ledger,
        &reader,
        &f.site,
        &mut w,
        october(),
        Some("shop"),
        "王会计",
        issue_day(),
    )
    .unwrap();
    assert_eq!(re[0].outcome, "reissued");
    assert_eq!(re[0].number, "CS-202610-shop-R1");
    let s = shop(NaiveDate::from_ymd_opt(2026, 11, 12).unwrap());
    assert_eq!(s.replaces.as_deref(), Some("CS-202610-shop"));
    // The month's water is 168.8 m³, +5% =
    // 177.24 → 611.48 + 168.38 + 17.72 instead of 539.03 + 148.43 + 15.62.
    assert_eq!(s.difference, Some(dec!(94.50)));
    assert_eq!(s.total, dec!(6005.58));
    assert_eq!(
        (s.paid, s.outstanding),
        (dec!(3000), dec!(3005.58)),
        "the payment carries over"
    );
    assert!(!s.reissue_needed);

    let b = balances(
        &reader,
        &f.site,
        NaiveDate::from_ymd_opt(2026, 11, 12).unwrap(),
    )
    .unwrap();
    let shop_balance = b.iter().find(|b| b.tenant == "shop").unwrap();
    assert_eq!(shop_balance.outstanding, dec!(3005.58));
    assert_eq!(
        shop_balance.open_statements,
        vec!["CS-202610-shop-R1".to_string()]
    );
    let r = recovery(&reader, &f.site, 2026).unwrap();
    assert_eq!(
        (r.months[9].billed, r.months[10].recovered),
        (dec!(6005.58), dec!(3000))
    );
    assert_eq!((r.billed, r.recovered), (dec!(6005.58), dec!(3000)));
    // Paying against the replaced statement is refused, naming the new one.
    let refused = w
        .record_payments(
            &[NewPayment {
                statement: "CS-202610-shop".into(),
                amount: dec!(1),
                paid_on: NaiveDate::from_ymd_opt(2026, 11, 12).unwrap(),
                method: String::new(),
                reference: String::new(),
            }],
            "王会计",
        )
        .unwrap_err();
    assert!(
        refused.to_string().contains("CS-202610-shop-R1"),
        "{refused}"
    );
}

/// A plant room behind a CT of 80 on a meter whose register counts 0.01 kWh, read every 20
/// minutes at :10, :30 and :50 (so no reading falls on midnight), and a meter with a float
/// register read every quarter hour.
const READ_BETWEEN: &str = r#"
[site]
name = "测试学院"
timezone = "Asia/Shanghai"

[[units]]
id = "org"
name = "学院"
kind = "organisation"

[[connections]]
id = "gw"
url = "tcp://127.0.0.1:1"

[[meters]]
id = "plant"
name = "空调机房"
unit = "org"
category = "01000"
profile = "abb-b23"
connection = "gw"
slave_id = 1
multiplier = 80

[[meters]]
id = "kiosk"
name = "报刊亭"
unit = "org"
category = "01000"
profile = "eastron-sdm630"
connection = "gw"
slave_id = 2

[[tariffs]]
id = "flat"
name = "一般工商业电价"
[[tariffs.versions]]
from = 2026-01-01
price = "0.65"

[[tenants]]
id = "plant"
name = "空调机房"
kind = "other"
meters = [{ meter = "plant", tariff = "flat" }]

[[tenants]]
id = "kiosk"
name = "报刊亭"
kind = "shop"
meters = [{ meter = "kiosk", tariff = "flat" }]
"#;

/// Plant: 0.37 kWh (on the register) per 20 minutes, but 1.00 across the night into October
/// and 0.20 across the night into November; kiosk: 0.25 per quarter hour, stored as the float
/// register gives it (235293.11 reads back as 235293.109375).
fn read_between() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::from_str(&dir.path().join("site.toml"), READ_BETWEEN)
        .unwrap_or_else(|e| panic!("{e}"));
    let store = SqliteStore::open(&dir.path().join("jieneng.db")).unwrap();
    let mut w = store.writer().unwrap();
    let mut plant = Vec::new();
    let mut hundredths: i64 = 23_529_311;
    let mut t = local(2026, 9, 29, 0, 10);
    while t <= local(2026, 11, 2, 0, 10) {
        plant.push(reading(
            "plant",
            "energy_import_kwh",
            t,
            hundredths as f64 / 100.0,
        ));
        hundredths += if t == local(2026, 9, 30, 23, 50) {
            100
        } else if t == local(2026, 10, 31, 23, 50) {
            20
        } else {
            37
        };
        t += Duration::minutes(20);
    }
    w.write_batch(&plant).unwrap();
    let kiosk: Vec<Reading> = series(
        "kiosk",
        "energy_import_kwh",
        local(2026, 9, 29, 0, 0),
        local(2026, 11, 2, 0, 0),
        Duration::minutes(15),
        235_293.11,
        0.25,
    )
    .into_iter()
    .map(|r| Reading {
        value: f64::from(r.value as f32),
        ..r
    })
    .collect();
    w.write_batch(&kiosk).unwrap();
    drop(w);
    Fixture {
        _dir: dir,
        site,
        store,
    }
}

#[test]
fn boundary_readings_reconcile_with_the_metered_quantity() {
    let f = read_between();
    let all = statements(&f, issue_day());
    let m = &find(&all, "plant").meters[0];
    let (start, end) = (m.start.as_ref().unwrap(), m.end.as_ref().unwrap());
    // 2,231 steps of 0.37 inside October, half of each night's step across its midnight:
    // 825.47 + 0.50 + 0.10 = 826.07 on the register, × 80.
    assert_eq!(m.metered, dec!(66085.6));
    let (a, b) = (start.value.unwrap(), end.value.unwrap());
    assert!(
        ((b - a) * m.multiplier - m.metered).abs() <= dec!(0.0001),
        "({b} − {a}) × {} ≠ {}",
        m.multiplier,
        m.metered
    );
    // Halfway between 235346.02 (23:50) and 235347.02 (00:10), two places finer than the
    // register, and marked as interpolated; the readings it comes from beside it.
    assert_eq!(start.value.unwrap().to_string(), "235346.5200");
    assert_eq!(start.quality, Quality::Interpolated);
    assert_eq!(start.local_time, "2026-10-01 00:00");
    let readings: Vec<(&str, String, Quality)> = start
        .readings
        .iter()
        .map(|r| (r.local_time.as_str(), r.value.to_string(), r.quality))
        .collect();
    assert_eq!(
        readings,
        vec![
            ("2026-09-30 23:50", "235346.02".into(), Quality::Measured),
            ("2026-10-01 00:10", "235347.02".into(), Quality::Measured),
        ]
    );
    assert_eq!(end.local_time, "2026-11-01 00:00");
    assert_eq!(end.readings.len(), 2);
}

#[test]
fn readings_are_printed_at_the_registers_resolution() {
    let f = read_between();
    let all = statements(&f, issue_day());
    let m = &find(&all, "kiosk").meters[0];
    let start = m.start.as_ref().unwrap();
    // A float register has no known resolution: two places, not the float's 235341.109375.
    // 1 October 00:00 is 192 quarter hours after the first reading: 235293.11 + 48.
    assert_eq!(
        (start.value.unwrap().to_string(), start.quality),
        ("235341.11".to_string(), Quality::Measured)
    );
    let readings: Vec<String> = start.readings.iter().map(|r| r.value.to_string()).collect();
    assert_eq!(readings, vec!["235340.86", "235341.11"]);
    // JSON carries the same figures.
    let json = serde_json::to_value(m).unwrap();
    assert_eq!(json["start"]["value"], "235341.11");
    assert_eq!(json["start"]["readings"][0]["value"], "235340.86");
}
