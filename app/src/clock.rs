//! The one clock: "now" in UTC as stored, and times shown in the organisation's time zone and
//! date format, labelled with the zone ("2026-12-01 10:30 CET").

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use crate::settings::DateFormat;

/// Now, in UTC: what every table stores.
pub fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// The organisation's time zone and date format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub tz: Tz,
    pub date_format: DateFormat,
}

impl Default for Clock {
    fn default() -> Self {
        Clock { tz: Tz::UTC, date_format: DateFormat::Iso }
    }
}

/// The IANA zone named `name` ("Europe/Berlin"), if it is one.
pub fn time_zone(name: &str) -> Option<Tz> {
    name.trim().parse().ok()
}

impl Clock {
    /// `utc` as the organisation's wall-clock time.
    pub fn local(&self, utc: NaiveDateTime) -> NaiveDateTime {
        self.tz.from_utc_datetime(&utc).naive_local()
    }

    /// A stored time, shown: date in the organisation's format, hours and minutes, and the
    /// zone's abbreviation.
    pub fn stamp(&self, utc: NaiveDateTime) -> String {
        let local = self.tz.from_utc_datetime(&utc);
        format!("{} {}", local.format(self.date_format.pattern()), local.format("%H:%M %Z"))
    }

    /// A calendar date (a due date), in the organisation's format.
    pub fn date(&self, date: NaiveDate) -> String {
        date.format(self.date_format.pattern()).to_string()
    }

    /// Today, in the organisation's time zone.
    pub fn today(&self) -> NaiveDate {
        self.local(now()).date()
    }

    /// A wall-clock time typed in the organisation's zone, stored as UTC. A time that does not
    /// exist (skipped by a clock change) is taken an hour later; an ambiguous one, the first.
    pub fn to_utc(&self, local: NaiveDateTime) -> NaiveDateTime {
        match self.tz.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.naive_utc(),
            chrono::LocalResult::None => match local.checked_add_signed(chrono::Duration::hours(1)) {
                Some(later) => self.to_utc(later),
                // At the end of the calendar: nothing sensible to shift to.
                None => local,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn times_are_shown_in_the_organisations_zone_and_format() {
        let utc = Clock::default();
        assert_eq!(utc.stamp(at("2026-12-01 09:30")), "2026-12-01 09:30 UTC");
        let berlin = Clock { tz: time_zone("Europe/Berlin").unwrap(), date_format: DateFormat::DayMonthYear };
        assert_eq!(berlin.stamp(at("2026-12-01 23:30")), "02/12/2026 00:30 CET");
        assert_eq!(berlin.stamp(at("2026-07-01 09:30")), "01/07/2026 11:30 CEST");
        let new_york =
            Clock { tz: time_zone("America/New_York").unwrap(), date_format: DateFormat::DayMonthName };
        assert_eq!(new_york.stamp(at("2026-12-01 03:00")), "30 Nov 2026 22:00 EST");
        assert_eq!(berlin.to_utc(at("2026-12-02 00:30")), at("2026-12-01 23:30"));
        // 02:30 on the last Sunday of March does not exist in Berlin.
        assert_eq!(berlin.to_utc(at("2026-03-29 02:30")), at("2026-03-29 01:30"));
        assert!(time_zone("Mars/Olympus").is_none());
    }
}
