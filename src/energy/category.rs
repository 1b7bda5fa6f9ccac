//! Energy categories and sub-items (分类分项) from the sub-metering guideline
//! (国家机关办公建筑和大型公共建筑能耗监测系统 分项能耗数据采集技术导则, 2008).

/// The top-level codes: electricity, water, gas, heat and cooling.
pub const ELECTRICITY: &str = "01000";
pub const WATER: &str = "02000";
pub const GAS: &str = "03000";
pub const HEAT: &str = "04000";
pub const COOLING: &str = "05000";

/// A category code with its names.
#[derive(Debug, PartialEq, Eq)]
pub struct Category {
    pub code: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
}

pub static CATEGORIES: &[Category] = &[
    Category {
        code: "01000",
        name_zh: "电",
        name_en: "Electricity",
    },
    Category {
        code: "01A00",
        name_zh: "照明插座用电",
        name_en: "Lighting and sockets",
    },
    Category {
        code: "01A10",
        name_zh: "室内照明与插座",
        name_en: "Indoor lighting and sockets",
    },
    Category {
        code: "01A20",
        name_zh: "走廊与应急照明",
        name_en: "Corridor and emergency lighting",
    },
    Category {
        code: "01A30",
        name_zh: "室外景观照明",
        name_en: "Outdoor lighting",
    },
    Category {
        code: "01B00",
        name_zh: "空调用电",
        name_en: "HVAC",
    },
    Category {
        code: "01B10",
        name_zh: "冷热站",
        name_en: "Chiller and boiler plant",
    },
    Category {
        code: "01B20",
        name_zh: "空调末端",
        name_en: "HVAC terminals",
    },
    Category {
        code: "01B30",
        name_zh: "分体式空调",
        name_en: "Split air conditioners",
    },
    Category {
        code: "01C00",
        name_zh: "动力用电",
        name_en: "Power",
    },
    Category {
        code: "01C10",
        name_zh: "电梯",
        name_en: "Lifts",
    },
    Category {
        code: "01C20",
        name_zh: "水泵",
        name_en: "Pumps",
    },
    Category {
        code: "01C30",
        name_zh: "通风机",
        name_en: "Fans",
    },
    Category {
        code: "01D00",
        name_zh: "特殊用电",
        name_en: "Special",
    },
    Category {
        code: "02000",
        name_zh: "水",
        name_en: "Water",
    },
    Category {
        code: "03000",
        name_zh: "燃气",
        name_en: "Gas",
    },
    Category {
        code: "03A00",
        name_zh: "天然气",
        name_en: "Natural gas",
    },
    Category {
        code: "04000",
        name_zh: "集中供热耗热量",
        name_en: "District heating",
    },
    Category {
        code: "05000",
        name_zh: "集中供冷耗冷量",
        name_en: "District cooling",
    },
];

pub fn category(code: &str) -> Option<&'static Category> {
    CATEGORIES.iter().find(|c| c.code == code)
}

/// The top-level category (`01000`, `02000`, ...) a code belongs to.
pub fn top_level(code: &str) -> &str {
    match code.get(..2) {
        Some("01") => "01000",
        Some("02") => "02000",
        Some("03") => "03000",
        Some("04") => "04000",
        Some("05") => "05000",
        _ => code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_items_roll_up_to_their_category() {
        assert_eq!(top_level("01B20"), "01000");
        assert_eq!(top_level("03A00"), "03000");
        assert_eq!(category("01A00").unwrap().name_zh, "照明插座用电");
        assert!(category("01E00").is_none());
    }
}
