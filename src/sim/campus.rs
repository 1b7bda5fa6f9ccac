//! The demo campus: a university with offices, a library, teaching buildings, canteens,
//! dormitories and a shop, metered by sub-metering category, behind one Modbus gateway per
//! building. It produces the site config and the simulated meters behind it.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::load::{Component, Shape, slot_of};
use super::meter::{Medium, SimMeter};
use crate::energy::category::{ELECTRICITY, WATER};

pub struct DemoUnit {
    pub id: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub parent: Option<&'static str>,
    pub floor_area_m2: f64,
    pub occupants: u32,
}

#[derive(Clone)]
pub struct DemoMeter {
    pub id: String,
    pub name: String,
    pub unit: &'static str,
    pub category: &'static str,
    /// `None` for the meter read by hand.
    pub profile: Option<&'static str>,
    pub gateway: &'static str,
    pub slave_id: u8,
    pub multiplier: u32,
    pub sim: Arc<SimMeter>,
    /// For meters that publish over MQTT.
    pub mqtt: Option<DemoMqtt>,
    /// For DL/T 645 and CJ/T 188 meters behind a line gateway.
    pub line: Option<DemoLine>,
    /// The main meter this one is a sub-meter of.
    pub parent_meter: Option<String>,
    /// Twice the simulated peak, after the multiplier (kW or m³/h): jump detection's bound.
    pub max_power: Option<f64>,
}

/// A demo meter on a DL/T 645 or CJ/T 188 line: its protocol, line profile and nameplate
/// address.
#[derive(Clone, Debug)]
pub struct DemoLine {
    pub protocol: &'static str,
    pub profile: &'static str,
    pub address: String,
}

/// How a demo meter publishes: its payload format, its name in topics, what it sends.
#[derive(Clone, Debug)]
pub struct DemoMqtt {
    pub format: &'static str,
    pub name: String,
    pub quantities: &'static [&'static str],
}

/// What each demo MQTT format carries.
pub const TASMOTA_QUANTITIES: &[&str] = &[
    "energy_import_kwh",
    "power_kw",
    "apparent_power_kva",
    "reactive_power_kvar",
    "power_factor",
    "voltage_l1_v",
    "current_l1_a",
];
pub const SHELLY_QUANTITIES: &[&str] = &[
    "energy_import_kwh",
    "energy_export_kwh",
    "power_kw",
    "apparent_power_kva",
    "power_l1_kw",
    "power_l2_kw",
    "power_l3_kw",
    "voltage_l1_v",
    "voltage_l2_v",
    "voltage_l3_v",
    "current_l1_a",
    "current_l2_a",
    "current_l3_a",
];
pub const ZIGBEE_QUANTITIES: &[&str] = &[
    "energy_import_kwh",
    "power_kw",
    "voltage_l1_v",
    "current_l1_a",
];
pub const BATCH_WATER_QUANTITIES: &[&str] = &["water_m3", "flow_m3h"];

/// The broker connection of the demo, in its config.
pub const MQTT_CONNECTION: &str = "campus-mqtt";

/// The demo's faults, for the alerts to find: a meter that stopped answering when the demo
/// started, and a water meter with a leak (a tank valve that stopped closing a few days before
/// the demo started, 1.5 m³/h since then; see [`DemoCampus::with_leak_from`]).
pub const DEAD_METER: &str = "teach2-hvac";
pub const LEAKING_METER: &str = "dorm2-water";

pub struct DemoCampus {
    pub units: Vec<DemoUnit>,
    pub meters: Vec<DemoMeter>,
    pub tz: Tz,
}

const TZ: Tz = chrono_tz::Asia::Shanghai;

fn seed_of(id: &str) -> u64 {
    id.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01B3)
    })
}

fn comp(shape: Shape, base: f64, peak: f64, id: &str) -> Component {
    Component {
        shape,
        base,
        peak,
        seed: seed_of(id),
    }
}

struct Builder {
    meters: Vec<DemoMeter>,
}

impl Builder {
    #[allow(clippy::too_many_arguments)]
    fn meter(
        &mut self,
        id: &str,
        name: &str,
        unit: &'static str,
        category: &'static str,
        profile: Option<&'static str>,
        gateway: &'static str,
        medium: Medium,
        components: Vec<Component>,
        multiplier: u32,
    ) {
        let seed = seed_of(id);
        let initial = match medium {
            Medium::Water | Medium::Gas => 800.0 + (seed % 4000) as f64,
            // A few thousand hours of the meter's peak load since it was installed.
            _ => {
                let peak: f64 = components.iter().map(|c| c.peak).sum();
                (peak * (2_000 + seed % 6_000) as f64 / multiplier as f64).round()
            }
        };
        let slave_id = self.meters.iter().filter(|m| m.gateway == gateway).count() as u8 + 1;
        let peak: f64 = components.iter().map(|c| c.peak).sum();
        let max_power = Some((peak * 2.0).ceil().max(1.0));
        let sim =
            SimMeter::new(medium, components, seed, initial, TZ).with_ct_ratio(multiplier as f64);
        self.meters.push(DemoMeter {
            id: id.to_string(),
            name: name.to_string(),
            unit,
            category,
            profile,
            gateway,
            slave_id,
            multiplier,
            sim: Arc::new(sim),
            mqtt: None,
            line: None,
            parent_meter: None,
            max_power,
        });
    }

    /// A DL/T 645 or CJ/T 188 meter behind the line gateway `gateway`.
    #[allow(clippy::too_many_arguments)]
    fn line_meter(
        &mut self,
        id: &str,
        name: &str,
        unit: &'static str,
        category: &'static str,
        gateway: &'static str,
        line: DemoLine,
        medium: Medium,
        components: Vec<Component>,
    ) {
        self.meter(
            id, name, unit, category, None, gateway, medium, components, 1,
        );
        if let Some(m) = self.meters.last_mut() {
            m.line = Some(line);
        }
    }

    /// A meter publishing over MQTT.
    #[allow(clippy::too_many_arguments)]
    fn mqtt_meter(
        &mut self,
        id: &str,
        name: &str,
        unit: &'static str,
        category: &'static str,
        medium: Medium,
        components: Vec<Component>,
        format: &'static str,
        mqtt_name: &str,
        quantities: &'static [&'static str],
    ) {
        self.meter(
            id,
            name,
            unit,
            category,
            None,
            MQTT_CONNECTION,
            medium,
            components,
            1,
        );
        if let Some(m) = self.meters.last_mut() {
            m.mqtt = Some(DemoMqtt {
                format,
                name: mqtt_name.to_string(),
                quantities,
            });
        }
    }

    /// A building: sub-meters for lighting, HVAC and other loads, a main meter that sees all of
    /// them plus unmetered loads, and a water meter.
    #[allow(clippy::too_many_arguments)]
    fn building(
        &mut self,
        key: &str,
        name: &str,
        unit: &'static str,
        gateway: &'static str,
        main_profile: &'static str,
        main_multiplier: u32,
        subs: &[(&str, &str, &'static str, &'static str, Shape, f64, f64)],
        other: Component,
        water_peak: f64,
        water_shape: Shape,
    ) {
        let mut all = vec![other];
        for (suffix, sub_name, category, profile, shape, base, peak) in subs {
            let id = format!("{key}-{suffix}");
            let c = comp(*shape, *base, *peak, &id);
            all.push(c);
            let medium = if *profile == "eastron-sdm120" || *profile == "chint-ddsu666" {
                Medium::Electricity1
            } else {
                Medium::Electricity3
            };
            self.meter(
                &id,
                &format!("{name}{sub_name}"),
                unit,
                category,
                Some(profile),
                gateway,
                medium,
                vec![c],
                1,
            );
        }
        let main_id = format!("{key}-main");
        for (suffix, ..) in subs {
            let sub_id = format!("{key}-{suffix}");
            if let Some(m) = self.meters.iter_mut().find(|m| m.id == sub_id) {
                m.parent_meter = Some(main_id.clone());
            }
        }
        self.meter(
            &main_id,
            &format!("{name}总表"),
            unit,
            ELECTRICITY,
            Some(main_profile),
            gateway,
            Medium::Electricity3,
            all,
            main_multiplier,
        );
        let wid = format!("{key}-water");
        let water = comp(water_shape, water_peak * 0.04, water_peak, &wid);
        self.meter(
            &wid,
            &format!("{name}水表"),
            unit,
            WATER,
            Some("dynaflox-ultrad"),
            gateway,
            Medium::Water,
            vec![water],
            1,
        );
    }
}

impl DemoCampus {
    /// The demo campus, its leak running since the registers' origin (2025-01-01).
    pub fn new() -> DemoCampus {
        Self::with_leak_from(DateTime::<Utc>::MIN_UTC)
    }

    /// The demo campus, its leak running from the start of the 15-minute slot `leak_from` falls
    /// in. The simulated values are a function of time and of this instant: history, live
    /// collection and a resumed demo agree as long as it stays the same.
    pub fn with_leak_from(leak_from: DateTime<Utc>) -> DemoCampus {
        use Shape::*;
        let units = vec![
            DemoUnit {
                id: "univ",
                name: "示范大学",
                kind: "organisation",
                parent: None,
                floor_area_m2: 124_000.0,
                occupants: 12_800,
            },
            DemoUnit {
                id: "admin",
                name: "行政楼",
                kind: "building",
                parent: Some("univ"),
                floor_area_m2: 12_000.0,
                occupants: 320,
            },
            DemoUnit {
                id: "library",
                name: "图书馆",
                kind: "building",
                parent: Some("univ"),
                floor_area_m2: 18_000.0,
                occupants: 150,
            },
            DemoUnit {
                id: "teach1",
                name: "第一教学楼",
                kind: "building",
                parent: Some("univ"),
                floor_area_m2: 22_000.0,
                occupants: 210,
            },
            DemoUnit {
                id: "teach2",
                name: "第二教学楼",
                kind: "building",
                parent: Some("univ"),
                floor_area_m2: 20_000.0,
                occupants: 180,
            },
            DemoUnit {
                id: "canteen1",
                name: "第一食堂",
                kind: "canteen",
                parent: Some("univ"),
                floor_area_m2: 3_500.0,
                occupants: 60,
            },
            DemoUnit {
                id: "canteen2",
                name: "第二食堂",
                kind: "canteen",
                parent: Some("univ"),
                floor_area_m2: 3_000.0,
                occupants: 50,
            },
            DemoUnit {
                id: "dorm1",
                name: "1号学生宿舍",
                kind: "dormitory",
                parent: Some("univ"),
                floor_area_m2: 9_000.0,
                occupants: 1_200,
            },
            DemoUnit {
                id: "dorm2",
                name: "2号学生宿舍",
                kind: "dormitory",
                parent: Some("univ"),
                floor_area_m2: 9_000.0,
                occupants: 1_150,
            },
            DemoUnit {
                id: "dorm3",
                name: "3号学生宿舍",
                kind: "dormitory",
                parent: Some("univ"),
                floor_area_m2: 8_500.0,
                occupants: 1_100,
            },
            DemoUnit {
                id: "shop",
                name: "校园超市",
                kind: "shop",
                parent: Some("univ"),
                floor_area_m2: 400.0,
                occupants: 8,
            },
            DemoUnit {
                id: "gym",
                name: "体育馆",
                kind: "building",
                parent: Some("univ"),
                floor_area_m2: 6_500.0,
                occupants: 40,
            },
        ];
        let mut b = Builder { meters: vec![] };
        b.building(
            "admin",
            "行政楼",
            "admin",
            "gw-admin",
            "chint-dtsu666",
            40,
            &[
                (
                    "light",
                    "照明插座",
                    "01A00",
                    "eastron-sdm630",
                    Office,
                    3.0,
                    60.0,
                ),
                (
                    "hvac",
                    "空调",
                    "01B00",
                    "acrel-adl400",
                    Hvac(&Office),
                    2.0,
                    130.0,
                ),
                ("lift", "电梯", "01C10", "eastron-sdm120", Office, 0.3, 12.0),
            ],
            comp(Office, 12.0, 40.0, "admin-other"),
            3.0,
            Office,
        );
        b.building(
            "library",
            "图书馆",
            "library",
            "gw-library",
            "acrel-adl400",
            1,
            &[
                (
                    "light",
                    "照明插座",
                    "01A00",
                    "eastron-sdm630",
                    Library,
                    4.0,
                    85.0,
                ),
                (
                    "hvac",
                    "空调",
                    "01B00",
                    "eastron-sdm630",
                    Hvac(&Library),
                    3.0,
                    150.0,
                ),
            ],
            comp(Constant, 14.0, 14.0, "library-other"),
            2.0,
            Library,
        );
        b.building(
            "teach1",
            "第一教学楼",
            "teach1",
            "gw-teach1",
            "eastron-sdm630",
            1,
            &[
                (
                    "light",
                    "照明插座",
                    "01A00",
                    "eastron-sdm630",
                    Teaching,
                    3.0,
                    95.0,
                ),
                (
                    "hvac",
                    "空调",
                    "01B00",
                    "chint-dtsu666",
                    Hvac(&Teaching),
                    2.0,
                    170.0,
                ),
            ],
            comp(Teaching, 6.0, 30.0, "teach1-other"),
            5.0,
            Teaching,
        );
        b.building(
            "teach2",
            "第二教学楼",
            "teach2",
            "gw-teach2",
            "chint-dtsu666",
            1,
            &[
                (
                    "light",
                    "照明插座",
                    "01A00",
                    "eastron-sdm630",
                    Teaching,
                    3.0,
                    85.0,
                ),
                (
                    "hvac",
                    "空调",
                    "01B00",
                    "eastron-sdm630",
                    Hvac(&Teaching),
                    2.0,
                    150.0,
                ),
            ],
            comp(Teaching, 5.0, 25.0, "teach2-other"),
            4.5,
            Teaching,
        );
        b.building(
            "canteen1",
            "第一食堂",
            "canteen1",
            "gw-canteen1",
            "acrel-adl400",
            1,
            &[(
                "kitchen",
                "厨房动力",
                "01D00",
                "eastron-sdm630",
                Canteen,
                8.0,
                120.0,
            )],
            comp(Canteen, 6.0, 45.0, "canteen1-other"),
            8.0,
            Canteen,
        );
        b.building(
            "canteen2",
            "第二食堂",
            "canteen2",
            "gw-canteen2",
            "acrel-adl400",
            1,
            &[(
                "kitchen",
                "厨房动力",
                "01D00",
                "eastron-sdm630",
                Canteen,
                6.0,
                95.0,
            )],
            comp(Canteen, 5.0, 35.0, "canteen2-other"),
            6.5,
            Canteen,
        );
        for (key, name, unit) in [
            ("dorm1", "1号学生宿舍", "dorm1"),
            ("dorm2", "2号学生宿舍", "dorm2"),
            ("dorm3", "3号学生宿舍", "dorm3"),
        ] {
            let main = comp(Dormitory, 8.0, 240.0, &format!("{key}-main"));
            b.meter(
                &format!("{key}-main"),
                &format!("{name}总表"),
                unit,
                ELECTRICITY,
                Some("chint-dtsu666"),
                "gw-dorms",
                Medium::Electricity3,
                vec![main],
                30,
            );
            let wid = format!("{key}-water");
            let water = comp(Dormitory, 0.4, 14.0, &wid);
            b.meter(
                &wid,
                &format!("{name}水表"),
                unit,
                WATER,
                Some("dynaflox-ultrad"),
                "gw-dorms",
                Medium::Water,
                vec![water],
                1,
            );
        }
        // Building 3's rooms have DL/T 645 meters behind one RS-485 gateway, and its floors
        // CJ/T 188 water meters behind another: read as they leave the factory.
        for (k, room) in ["301", "302", "303", "304"].into_iter().enumerate() {
            let id = format!("dorm3-r{room}");
            b.line_meter(
                &id,
                &format!("3号学生宿舍{room}室"),
                "dorm3",
                "01A00",
                "dorm3-dlt645",
                DemoLine {
                    protocol: "dlt645",
                    profile: "dlt645-2007-single-phase",
                    address: format!("2023000003{:02}", k + 1),
                },
                Medium::Electricity1,
                vec![comp(Dormitory, 0.03, 1.2, &id)],
            );
        }
        for floor in [1, 2] {
            let id = format!("dorm3-f{floor}-water");
            b.line_meter(
                &id,
                &format!("3号学生宿舍{floor}层水表"),
                "dorm3",
                WATER,
                "dorm3-cjt188",
                DemoLine {
                    protocol: "cjt188",
                    profile: "cjt188-cold-water",
                    address: format!("202300000300{floor:02}"),
                },
                Medium::Water,
                vec![comp(Dormitory, 0.05, 1.5, &id)],
            );
        }
        b.meter(
            "shop-elec",
            "校园超市电表",
            "shop",
            ELECTRICITY,
            Some("chint-ddsu666"),
            "gw-shop",
            Medium::Electricity1,
            vec![comp(Shop, 3.0, 16.0, "shop-elec")],
            1,
        );
        b.meter(
            "shop-water",
            "校园超市水表",
            "shop",
            WATER,
            Some("dynaflox-ultrad"),
            "gw-shop",
            Medium::Water,
            vec![comp(Shop, 0.02, 0.4, "shop-water")],
            1,
        );
        // An old gas meter without communication, read by the canteen manager every month.
        b.meter(
            "canteen1-gas",
            "第一食堂燃气表",
            "canteen1",
            "03A00",
            None,
            "",
            Medium::Gas,
            vec![comp(Canteen, 0.5, 38.0, "canteen1-gas")],
            1,
        );
        // Meters on the campus MQTT broker: a Shelly Pro 3EM at the gym, a Tasmota plug on the
        // shop's freezer, Zigbee plugs in dormitory rooms, and a gateway sending water meters
        // in batches.
        b.mqtt_meter(
            "gym-main",
            "体育馆总表",
            "gym",
            ELECTRICITY,
            Medium::Electricity3,
            vec![comp(Teaching, 4.0, 60.0, "gym-main")],
            "shelly-pro3em",
            "shellypro3em-gym",
            SHELLY_QUANTITIES,
        );
        b.mqtt_meter(
            "shop-freezer",
            "校园超市冷柜",
            "shop",
            "01D00",
            Medium::Electricity1,
            vec![comp(Constant, 0.45, 0.45, "shop-freezer")],
            "tasmota",
            "shop_freezer",
            TASMOTA_QUANTITIES,
        );
        for room in ["101", "102", "103", "104"] {
            let id = format!("dorm1-r{room}");
            b.mqtt_meter(
                &id,
                &format!("1号学生宿舍{room}室"),
                "dorm1",
                "01A00",
                Medium::Electricity1,
                // Room 101 is thrifty: under its free quota, so what it saves carries over.
                vec![if room == "101" {
                    comp(Dormitory, 0.004, 0.05, &id)
                } else {
                    comp(Dormitory, 0.03, 1.2, &id)
                }],
                "zigbee2mqtt-plug",
                &format!("dorm1_r{room}"),
                ZIGBEE_QUANTITIES,
            );
        }
        for floor in ["1", "2"] {
            let id = format!("library-f{floor}-water");
            b.mqtt_meter(
                &id,
                &format!("图书馆{floor}层水表"),
                "library",
                WATER,
                Medium::Water,
                vec![comp(Library, 0.02, 0.6, &id)],
                "jieneng-batch",
                &id,
                BATCH_WATER_QUANTITIES,
            );
        }
        // The leak runs day and night from when it started.
        if let Some(m) = b.meters.iter_mut().find(|m| m.id == LEAKING_METER) {
            let mut components = m.sim.components.clone();
            components.push(comp(Since(slot_of(leak_from)), 0.0, 1.5, "dorm2-leak"));
            m.sim = Arc::new(SimMeter::new(
                m.sim.medium,
                components,
                m.sim.seed,
                m.sim.initial,
                TZ,
            ));
        }
        // What the MQTT meters measure is part of a building's main meter (in a real campus;
        // the simulation draws them separately, which the balance report shows).
        for m in &mut b.meters {
            m.parent_meter = m.parent_meter.take().or(match m.id.as_str() {
                "shop-freezer" => Some("shop-elec".into()),
                id if id.starts_with("dorm1-r") => Some("dorm1-main".into()),
                id if id.starts_with("dorm3-r") => Some("dorm3-main".into()),
                id if id.starts_with("dorm3-f") => Some("dorm3-water".into()),
                id if id.starts_with("library-f") => Some("library-water".into()),
                _ => None,
            });
        }
        DemoCampus {
            units,
            meters: b.meters,
            tz: TZ,
        }
    }

    /// The gateways and the meters behind each.
    pub fn gateways(&self) -> BTreeMap<&'static str, Vec<&DemoMeter>> {
        let mut g: BTreeMap<&'static str, Vec<&DemoMeter>> = BTreeMap::new();
        for m in self
            .meters
            .iter()
            .filter(|m| m.profile.is_some() && m.mqtt.is_none())
        {
            g.entry(m.gateway).or_default().push(m);
        }
        g
    }

    /// The DL/T 645 and CJ/T 188 meters per line gateway.
    pub fn line_gateways(&self) -> BTreeMap<&'static str, Vec<&DemoMeter>> {
        let mut g: BTreeMap<&'static str, Vec<&DemoMeter>> = BTreeMap::new();
        for m in self.meters.iter().filter(|m| m.line.is_some()) {
            g.entry(m.gateway).or_default().push(m);
        }
        g
    }

    /// The site config, with each gateway at the given loopback port, the MQTT broker and, if
    /// given, the InfluxDB sink (`[influx]` text).
    pub fn config_toml(
        &self,
        ports: &BTreeMap<&str, u16>,
        live_interval_s: u32,
        mqtt_url: &str,
        influx: Option<&str>,
    ) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# 示范大学 — jieneng demo campus. Written by `jieneng demo` at each start;"
        );
        let _ = writeln!(
            s,
            "# every jieneng command accepts it: jieneng check --config <this file>."
        );
        let _ = writeln!(
            s,
            "\n[site]\nname = \"示范大学\"\ntimezone = \"Asia/Shanghai\"\nclimate_zone = \"hot_summer_cold_winter\"\ndata_dir = \".\"\n\n# The demo serves plain HTTP on loopback, and its overview is open to all (a lobby screen).\n[http]\npublic_overview = true\nsecure_cookies = false"
        );
        let _ = writeln!(
            s,
            "\n# Standard coal (GB/T 2589-2020, equivalent values) and CO₂ factors, with their source.\n\
             [coefficients]\n\
             electricity_kgce_per_kwh = 0.1229\n\
             gas_kgce_per_m3 = 1.2143\n\
             heat_kgce_per_mj = 0.03412\n\
             co2_kg_per_kwh = 0.5366\n\
             co2_source = \"生态环境部、国家统计局 2024-12 公布的 2022 年全国电力平均二氧化碳排放因子\"\n\
             co2_year = 2022"
        );
        for u in &self.units {
            let _ = writeln!(
                s,
                "\n[[units]]\nid = \"{}\"\nname = \"{}\"\nkind = \"{}\"",
                u.id, u.name, u.kind
            );
            if let Some(p) = u.parent {
                let _ = writeln!(s, "parent = \"{p}\"");
            }
            let _ = writeln!(
                s,
                "floor_area_m2 = {:.1}\noccupants = {}",
                u.floor_area_m2, u.occupants
            );
            if u.id == "admin" {
                // An office building: the GB/T 51161 check applies.
                let _ = writeln!(s, "office_class = \"A\"\nannual_hours = 2500");
            }
        }
        s.push_str(&self.calendar_toml());
        s.push_str(&self.quotas_toml());
        s.push_str(BILLING_TOML);
        for room in ["101", "102", "103", "104"] {
            let _ = writeln!(
                s,
                "\n[[tenants]]\nid = \"dorm1-r{room}\"\nname = \"1号学生宿舍{room}室\"\nkind = \"dormitory_room\"\n\
                 occupants = 4\nmeters = [{{ meter = \"dorm1-r{room}\", tariff = \"elec-residential\" }}]\n\
                 # 8 kWh per person a month in term time, none in July and August; what is saved\n\
                 # carries over (节约留用) until the next semester starts.\n\
                 free_quota = {{ per_person = \"8\", months = [1, 2, 3, 4, 5, 6, 9, 10, 11, 12], carry_over = true, reset_months = [2, 9] }}"
            );
        }
        let lines = self.line_gateways();
        for (gw, port) in ports {
            let protocol = lines
                .get(gw)
                .and_then(|m| m.first())
                .and_then(|m| m.line.as_ref())
                .map(|l| l.protocol);
            match protocol {
                // A transparent RS-485 gateway: the meters' own protocol passes through.
                Some(p) => {
                    let _ = writeln!(
                        s,
                        "\n[[connections]]\nid = \"{gw}\"\nurl = \"rtu-tcp://127.0.0.1:{port}\"\nprotocol = \"{p}\"\ntimeout_ms = 1000"
                    );
                    if p == "dlt645" {
                        let _ = writeln!(s, "time_sync_hours = 24");
                    }
                }
                None => {
                    let _ = writeln!(
                        s,
                        "\n[[connections]]\nid = \"{gw}\"\nurl = \"tcp://127.0.0.1:{port}\"\ntimeout_ms = 1000"
                    );
                }
            }
        }
        let _ = writeln!(
            s,
            "\n[[connections]]\nid = \"{MQTT_CONNECTION}\"\nurl = \"{mqtt_url}\"\nclient_id = \"jieneng-demo-{}\"\n\n\
             [[connections.subscriptions]]\ntopic = \"{{meter}}/status/em:0\"\nformat = \"shelly-pro3em\"\n\n\
             [[connections.subscriptions]]\ntopic = \"{{meter}}/status/emdata:0\"\nformat = \"shelly-pro3em\"\n\n\
             [[connections.subscriptions]]\ntopic = \"tele/{{meter}}/SENSOR\"\nformat = \"tasmota\"\n\n\
             [[connections.subscriptions]]\ntopic = \"zigbee2mqtt/{{meter}}\"\nformat = \"zigbee2mqtt-plug\"\n\n\
             [[connections.subscriptions]]\ntopic = \"gateways/{{gateway}}/readings\"\nformat = \"jieneng-batch\"",
            std::process::id()
        );
        if let Some(influx) = influx {
            let _ = writeln!(s, "\n{influx}");
        }
        for m in &self.meters {
            let _ = writeln!(
                s,
                "\n[[meters]]\nid = \"{}\"\nname = \"{}\"\nunit = \"{}\"\ncategory = \"{}\"",
                m.id, m.name, m.unit, m.category
            );
            if let Some(mq) = &m.mqtt {
                let _ = writeln!(
                    s,
                    "connection = \"{MQTT_CONNECTION}\"\nmqtt_name = \"{}\"",
                    mq.name
                );
                if let Some(parent) = &m.parent_meter {
                    let _ = writeln!(s, "parent_meter = \"{parent}\"");
                }
                continue;
            }
            if let Some(line) = &m.line {
                let _ = writeln!(
                    s,
                    "profile = \"{}\"\nconnection = \"{}\"\naddress = \"{}\"\nlive_interval_s = {live_interval_s}",
                    line.profile, m.gateway, line.address
                );
                if let Some(p) = m.max_power {
                    let _ = writeln!(s, "max_power = {p}");
                }
                if let Some(parent) = &m.parent_meter {
                    let _ = writeln!(s, "parent_meter = \"{parent}\"");
                }
                continue;
            }
            match m.profile {
                Some(p) => {
                    let _ = writeln!(
                        s,
                        "profile = \"{p}\"\nconnection = \"{}\"\nslave_id = {}",
                        m.gateway, m.slave_id
                    );
                    let _ = writeln!(s, "live_interval_s = {live_interval_s}");
                    if m.multiplier != 1 {
                        let _ = writeln!(s, "multiplier = {}", m.multiplier);
                    }
                    if let Some(p) = m.max_power {
                        let _ = writeln!(s, "max_power = {p}");
                    }
                    if let Some(parent) = &m.parent_meter {
                        let _ = writeln!(s, "parent_meter = \"{parent}\"");
                    }
                }
                None => {
                    let _ = writeln!(s, "read_by_hand = \"gas_m3\"");
                }
            }
        }
        // Each main meter minus its sub-meters: public areas and losses.
        for main in &self.meters {
            let subs: Vec<&str> = self
                .meters
                .iter()
                .filter(|m| m.parent_meter.as_deref() == Some(main.id.as_str()))
                .map(|m| m.id.as_str())
                .collect();
            if subs.is_empty() || !main.category.starts_with("01") {
                continue;
            }
            let building = main.name.trim_end_matches("总表");
            let _ = writeln!(
                s,
                "\n[[virtual_meters]]\nid = \"{}-public\"\nname = \"{building}公共区域及损耗\"\nunit = \"{}\"\ncategory = \"01000\"\nformula = \"{} - {}\"",
                main.id.trim_end_matches("-main"),
                main.unit,
                main.id,
                subs.join(" - ")
            );
        }
        s
    }
}

impl DemoCampus {
    /// The simulation's calendar (holidays and school vacations, 2025–2027) as `[calendar]`.
    fn calendar_toml(&self) -> String {
        let mut s = String::from(
            "\n# The campus calendar: public holidays and school vacations.\n[calendar]\nholidays = [\n",
        );
        for y in 2025..=2027 {
            let spring = match y {
                2025 => ("01-28", "02-04"),
                2026 => ("02-15", "02-23"),
                _ => ("02-05", "02-12"),
            };
            for (from, to, name) in [
                ("01-01", "01-01", "元旦"),
                (spring.0, spring.1, "春节"),
                ("05-01", "05-05", "劳动节"),
                ("10-01", "10-07", "国庆节"),
            ] {
                let _ = writeln!(
                    s,
                    "  {{ from = \"{y}-{from}\", to = \"{y}-{to}\", name = \"{name}\" }},"
                );
            }
        }
        s.push_str("]\nvacations = [\n");
        for y in 2025..=2027 {
            let _ = writeln!(
                s,
                "  {{ from = \"{y}-01-15\", to = \"{y}-02-24\", name = \"寒假\" }},"
            );
            let _ = writeln!(
                s,
                "  {{ from = \"{y}-07-10\", to = \"{y}-08-31\", name = \"暑假\" }},"
            );
        }
        s.push_str("]\n");
        s
    }

    /// An electricity quota for every unit, near what the simulation uses in a year (from 8%
    /// under to 8% over, by unit), allocated to months in the simulation's seasonal shape; and
    /// one in standard coal per m² for the university.
    fn quotas_toml(&self) -> String {
        let mut s =
            String::from("\n# Quotas (定额): annual, allocated to months in last year's shape.");
        for u in self.units.iter().filter(|u| u.parent.is_some()) {
            let mains = self.meters.iter().filter(|m| {
                m.unit == u.id && m.category.starts_with("01") && m.parent_meter.is_none()
            });
            let mut months = [0.0; 12];
            for m in mains {
                for (total, add) in months.iter_mut().zip(estimated_months(&m.sim)) {
                    *total += add;
                }
            }
            let kwh: f64 = months.iter().sum();
            if kwh <= 0.0 {
                continue;
            }
            let factor = 0.92 + (seed_of(u.id) % 17) as f64 * 0.01;
            let shares: Vec<String> = months.iter().map(|m| format!("{m:.0}")).collect();
            let _ = writeln!(
                s,
                "\n[[quotas]]\nunit = \"{}\"\ncategory = \"01000\"\nannual = {:.0}\nallocation = \"explicit\"\nshares = [{}]",
                u.id,
                (kwh * factor / 100.0).round() * 100.0,
                shares.join(", ")
            );
        }
        s.push_str("\n[[quotas]]\nunit = \"univ\"\ncategory = \"kgce\"\nbasis = \"per_m2\"\nannual = 9.5\nallocation = \"last_year\"\n");
        s
    }
}

/// Utility charges recovered from the canteens, the shop and four dormitory rooms. The TOU
/// schedule is the one the simulated meters' 尖/峰/平/谷 registers count by, prices in the
/// Guangdong style 峰:平:谷 = 1.7 : 1 : 0.38 with 尖峰 = 峰 × 1.25.
const BILLING_TOML: &str = r#"
# Utility-charge billing (收支两条线): tariffs, tenants and their meters.
[billing]
issuer = "示范大学后勤管理处"
number_prefix = "SFDX"
due_days = 15
late_fee_per_day = "0.005"
payment_note = "请于缴费截止日前到后勤管理处财务科缴费或转账, 转账请注明结算单编号。"

[[tariffs]]
id = "elec-tou"
name = "一般工商业分时电价"
[[tariffs.versions]]
from = 2025-01-01
prices = { sharp = "1.2110", peak = "0.9688", flat = "0.5699", valley = "0.2166" }
management_fee = "0.05"
[[tariffs.versions.seasons]]
months = [7, 8, 9]
schedule = { "00:00" = "valley", "07:00" = "flat", "08:00" = "peak", "11:00" = "flat", "18:00" = "peak", "19:00" = "sharp", "21:00" = "peak", "23:00" = "valley" }
[[tariffs.versions.seasons]]
months = [1, 2, 3, 4, 5, 6, 10, 11, 12]
schedule = { "00:00" = "valley", "07:00" = "flat", "08:00" = "peak", "11:00" = "flat", "18:00" = "peak", "23:00" = "valley" }

[[tariffs]]
id = "elec-commercial"
name = "一般工商业电价"
[[tariffs.versions]]
from = 2025-01-01
price = "0.6500"
management_fee = "0.05"

[[tariffs]]
id = "elec-residential"
name = "居民生活电价(超额部分)"
[[tariffs.versions]]
from = 2025-01-01
price = "0.5880"

[[tariffs]]
id = "water-commercial"
name = "非居民用水价格"
[[tariffs.versions]]
from = 2025-01-01
price = "3.4500"
sewage_fee = "0.9500"
management_fee = "0.10"

[[tariffs]]
id = "gas-commercial"
name = "非居民管道天然气"
[[tariffs.versions]]
from = 2025-01-01
price = "3.8500"

[[tenants]]
id = "canteen1"
name = "第一食堂"
kind = "canteen"
contract = "SFDX-HQ-2025-011"
meters = [
  { meter = "canteen1-main", tariff = "elec-tou", loss_rate = "0.03" },
  { meter = "canteen1-water", tariff = "water-commercial" },
  { meter = "canteen1-gas", tariff = "gas-commercial" },
]

[[tenants]]
id = "canteen2"
name = "第二食堂"
kind = "canteen"
contract = "SFDX-HQ-2025-012"
cycle = "quarterly"
meters = [
  { meter = "canteen2-main", tariff = "elec-tou", loss_rate = "0.03" },
  { meter = "canteen2-water", tariff = "water-commercial" },
]

[[tenants]]
id = "shop"
name = "校园超市"
kind = "shop"
contract = "SFDX-SY-2025-003"
meters = [
  { meter = "shop-elec", tariff = "elec-commercial" },
  { meter = "shop-water", tariff = "water-commercial" },
]
"#;

/// A meter's consumption per calendar month on the primary side, from its simulated rate
/// sampled over a year (every 7th quarter-hour, so weekdays and hours all come round).
fn estimated_months(sim: &SimMeter) -> [f64; 12] {
    let origin = crate::sim::meter::origin_slot();
    let mut sums = [0.0; 12];
    let mut counts = [0u32; 12];
    for k in (0..35_040).step_by(7) {
        let c = crate::sim::load::SlotContext::new(origin + k, sim.tz);
        let month = (c.month as usize).clamp(1, 12) - 1;
        sums[month] += sim.rate(&c);
        counts[month] += 1;
    }
    let mut out = [0.0; 12];
    for (m, o) in out.iter_mut().enumerate() {
        let days = chrono::NaiveDate::from_ymd_opt(2025, m as u32 + 1, 1).map_or(30, |d| {
            let next = d + chrono::Months::new(1);
            (next - d).num_days()
        });
        *o = sums[m] / f64::from(counts[m].max(1)) * 24.0 * days as f64;
    }
    out
}

impl Default for DemoCampus {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_config_is_valid_and_has_at_least_30_meters() {
        let campus = DemoCampus::new();
        let ports = campus
            .gateways()
            .keys()
            .chain(campus.line_gateways().keys())
            .enumerate()
            .map(|(i, g)| (*g, 20000 + i as u16))
            .collect();
        let text = campus.config_toml(&ports, 10, "mqtt://127.0.0.1:1", None);
        let site = crate::site::Site::from_str(std::path::Path::new("demo.toml"), &text)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(site.meters.len() >= 30);
        assert_eq!(site.meters.len(), campus.meters.len());
    }

    #[test]
    fn the_leak_runs_from_its_start_and_the_same_start_gives_the_same_values() {
        use chrono::{Duration, TimeZone};
        let start = Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap();
        let (leaking, again, always) = (
            DemoCampus::with_leak_from(start),
            DemoCampus::with_leak_from(start),
            DemoCampus::new(),
        );
        let value = |c: &DemoCampus, q: &str, t| {
            let m = c.meters.iter().find(|m| m.id == LEAKING_METER).unwrap();
            m.sim.value(crate::quantity::Quantity::named(q), t)
        };
        let (before, after) = (start - Duration::minutes(1), start + Duration::minutes(1));
        let extra = value(&always, "flow_m3h", before) - value(&leaking, "flow_m3h", before);
        assert!((1.2..1.8).contains(&extra), "{extra}");
        assert_eq!(
            value(&always, "flow_m3h", after),
            value(&leaking, "flow_m3h", after)
        );
        let later = start + Duration::days(2);
        assert_eq!(
            value(&leaking, "water_m3", later),
            value(&again, "water_m3", later)
        );
        // Up to the start the leak is missing from the register; from then on it adds as much
        // as in a campus that always leaked.
        let missing = |t| value(&always, "water_m3", t) - value(&leaking, "water_m3", t);
        assert!(missing(start) > 10_000.0, "{}", missing(start));
        assert!((missing(later) - missing(start)).abs() < 1e-6);
    }
}
