//! Local time: days and months are cut in the site's time zone, timestamps stay UTC.
//! [`local_midnight`] starts a local day, [`Month`] is a calendar month (`YYYY-MM`) with its
//! bounds, [`parse_time`] reads a time given on the command line or in a query.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// The instant local day `d` starts in `tz` (the earlier one when midnight happens twice);
/// `None` when midnight does not exist that day (a daylight-saving jump at midnight).
pub fn local_midnight(d: NaiveDate, tz: Tz) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// `hour`:00 local on `date`; an hour skipped by a daylight-saving change moves to the next.
pub fn local_hour(date: NaiveDate, hour: u32, tz: Tz) -> Option<DateTime<Utc>> {
    let at = |h: u32| {
        date.and_hms_opt(h, 0, 0)
            .and_then(|n| tz.from_local_datetime(&n).earliest())
    };
    at(hour)
        .or_else(|| at(hour + 1))
        .map(|t| t.with_timezone(&Utc))
}

/// `[start, end)` of local day `d`.
pub fn local_day(d: NaiveDate, tz: Tz) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    Some((local_midnight(d, tz)?, local_midnight(d.succ_opt()?, tz)?))
}

/// Times the ledger answers for: years 1970 to 9999.
fn within_years(t: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if (1970..=9999).contains(&t.year()) {
        Ok(t)
    } else {
        Err(format!("{} is outside the years 1970–9999", t.to_rfc3339()))
    }
}

/// A time given on the command line or in a query: RFC 3339, or a local date (YYYY-MM-DD) or
/// month (YYYY-MM) meaning its first midnight.
pub fn parse_time(s: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return within_years(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d"));
    date.ok()
        .and_then(|d| tz.from_local_datetime(&d.and_hms_opt(0, 0, 0)?).earliest())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("`{s}` is not a time: use RFC 3339 (2026-11-01T00:00:00+08:00), a date (2026-11-01) or a month (2026-11)"))
        .and_then(within_years)
}

/// A calendar month, `YYYY-MM`, years 1970 to 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    first: NaiveDate,
}

impl Month {
    /// Month `month` (1–12) of `year`, or `None` outside 1970-01 … 9999-12.
    pub fn new(year: i32, month: u32) -> Option<Month> {
        NaiveDate::from_ymd_opt(year, month, 1)
            .filter(|d| (1970..=9999).contains(&d.year()))
            .map(|first| Month { first })
    }

    /// The month `d` falls in.
    pub fn of(d: NaiveDate) -> Month {
        Month {
            first: d.with_day(1).unwrap_or(d),
        }
    }

    pub fn year(self) -> i32 {
        self.first.year()
    }

    /// 1–12.
    pub fn month(self) -> u32 {
        self.first.month()
    }

    pub fn first_day(self) -> NaiveDate {
        self.first
    }

    pub fn next(self) -> Month {
        Month {
            first: self.first + Months::new(1),
        }
    }

    pub fn prev(self) -> Month {
        Month {
            first: self.first - Months::new(1),
        }
    }

    /// `[start, end)` of the month in `tz`, as UTC instants (from local midnight of the first
    /// day to local midnight of the next month's first day).
    pub fn bounds(self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        (day_start(self.first, tz), day_start(self.next().first, tz))
    }
}

/// The first instant of local day `d`: its midnight, or when the clocks jump over midnight,
/// the first hour that exists.
fn day_start(d: NaiveDate, tz: Tz) -> DateTime<Utc> {
    (0..24)
        .find_map(|h| {
            tz.from_local_datetime(&d.and_hms_opt(h, 0, 0)?)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        })
        .unwrap_or_else(|| d.and_time(chrono::NaiveTime::MIN).and_utc())
}

impl FromStr for Month {
    type Err = String;

    fn from_str(s: &str) -> Result<Month, String> {
        NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d")
            .ok()
            .and_then(|d| Month::new(d.year(), d.month()))
            .ok_or_else(|| format!("`{s}` is not a month: use YYYY-MM, e.g. 2026-10"))
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_print_and_step() {
        let m: Month = "2026-12".parse().unwrap();
        assert_eq!((m.year(), m.month()), (2026, 12));
        assert_eq!(m.to_string(), "2026-12");
        assert_eq!(m.next().to_string(), "2027-01");
        assert_eq!(m.next().prev(), m);
        assert_eq!(m.first_day(), NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
        assert_eq!(
            "2026-13".parse::<Month>().unwrap_err(),
            "`2026-13` is not a month: use YYYY-MM, e.g. 2026-10"
        );
        assert!("1969-12".parse::<Month>().is_err());
        assert!("2026-1x".parse::<Month>().is_err());
    }

    #[test]
    fn month_bounds_are_local_midnights() {
        let tz = chrono_tz::Asia::Shanghai;
        let (a, b) = Month::new(2026, 10).unwrap().bounds(tz);
        assert_eq!(a, Utc.with_ymd_and_hms(2026, 9, 30, 16, 0, 0).unwrap());
        assert_eq!(b, Utc.with_ymd_and_hms(2026, 10, 31, 16, 0, 0).unwrap());
        assert_eq!(
            Some(a),
            local_midnight(NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(), tz)
        );
    }
}
