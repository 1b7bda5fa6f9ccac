//! The site's calendar: workdays, weekends, public holidays with their make-up workdays (调休)
//! and school vacations. Projections compare like with like: a vacation day with vacation days.

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayType {
    Workday,
    Weekend,
    Holiday,
    Vacation,
}

impl DayType {
    pub const ALL: [DayType; 4] = [
        DayType::Workday,
        DayType::Weekend,
        DayType::Holiday,
        DayType::Vacation,
    ];

    pub fn name_zh(self) -> &'static str {
        match self {
            DayType::Workday => "工作日",
            DayType::Weekend => "周末",
            DayType::Holiday => "节假日",
            DayType::Vacation => "假期",
        }
    }
}

/// A named stretch of days, both ends included.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[serde(default)]
    pub name: String,
}

impl Period {
    fn contains(&self, d: NaiveDate) -> bool {
        self.from <= d && d <= self.to
    }
}

/// `[calendar]` in the site config.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Calendar {
    /// Public holidays (国庆节 ...).
    pub holidays: Vec<Period>,
    /// Weekend days worked to make up for a holiday (调休).
    pub workdays: Vec<NaiveDate>,
    /// School vacations (寒假、暑假): buildings run at vacation load.
    pub vacations: Vec<Period>,
}

impl Calendar {
    /// A holiday beats a make-up workday, which beats a vacation, which beats the weekday.
    pub fn day_type(&self, d: NaiveDate) -> DayType {
        if self.holidays.iter().any(|p| p.contains(d)) {
            DayType::Holiday
        } else if self.workdays.contains(&d) {
            DayType::Workday
        } else if self.vacations.iter().any(|p| p.contains(d)) {
            DayType::Vacation
        } else if matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            DayType::Weekend
        } else {
            DayType::Workday
        }
    }

    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (what, list) in [("holidays", &self.holidays), ("vacations", &self.vacations)] {
            for p in list {
                if p.to < p.from {
                    problems.push(format!(
                        "{what}: `{}` ends ({}) before it starts ({})",
                        p.name, p.to, p.from
                    ));
                }
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn holidays_make_up_days_and_vacations_take_precedence_in_that_order() {
        let cal: Calendar = toml::from_str(
            r#"
            holidays = [{ from = "2026-10-01", to = "2026-10-07", name = "国庆节" }]
            workdays = ["2026-10-10"]
            vacations = [{ from = "2026-07-11", to = "2026-08-30", name = "暑假" }]
            "#,
        )
        .unwrap();
        assert_eq!(cal.day_type(d("2026-10-01")), DayType::Holiday);
        assert_eq!(cal.day_type(d("2026-10-10")), DayType::Workday); // a Saturday, worked
        assert_eq!(cal.day_type(d("2026-10-11")), DayType::Weekend);
        assert_eq!(cal.day_type(d("2026-10-12")), DayType::Workday);
        assert_eq!(cal.day_type(d("2026-07-15")), DayType::Vacation);
        assert_eq!(cal.day_type(d("2026-07-18")), DayType::Vacation); // a Saturday in vacation
        assert!(cal.validate().is_empty());
    }
}
