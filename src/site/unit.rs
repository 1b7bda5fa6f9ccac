//! The unit hierarchy: organisation > campus/building > unit (department, tenant).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    Organisation,
    Campus,
    Building,
    Department,
    Canteen,
    Dormitory,
    Shop,
    PublicArea,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClimateZone {
    SevereCold,
    Cold,
    HotSummerColdWinter,
    HotSummerWarmWinter,
    Mild,
}

/// A node of the hierarchy: organisation > campus/building > unit (department, tenant).
#[derive(Debug, Clone, Serialize)]
pub struct Unit {
    pub id: String,
    pub name: String,
    pub kind: UnitKind,
    pub parent: Option<String>,
    pub floor_area_m2: Option<f64>,
    pub occupants: Option<u32>,
    /// For the GB/T 51161 office-building check: A (windows open) or B (sealed).
    pub office_class: Option<OfficeClass>,
    /// Hours a year the building is in use (the check's hours correction).
    pub annual_hours: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OfficeClass {
    A,
    B,
}
