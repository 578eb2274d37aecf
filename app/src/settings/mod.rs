//! Settings: the lists contacts are described with (statuses, services, traffic sources) and
//! the organisation's name, time zone and date format.

pub mod api;
pub mod organisation;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod repo;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SettingsList {
    Statuses,
    Services,
    Sources,
}

impl SettingsList {
    pub const ALL: [SettingsList; 3] =
        [SettingsList::Statuses, SettingsList::Services, SettingsList::Sources];

    pub fn key(self) -> &'static str {
        match self {
            SettingsList::Statuses => "statuses",
            SettingsList::Services => "services",
            SettingsList::Sources => "sources",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.key() == key)
    }

    pub fn title(self) -> &'static str {
        match self {
            SettingsList::Statuses => "Statuses",
            SettingsList::Services => "Services",
            SettingsList::Sources => "Traffic sources",
        }
    }

    /// One entry of the list, for labels ("Status to rename").
    pub fn singular(self) -> &'static str {
        match self {
            SettingsList::Statuses => "Status",
            SettingsList::Services => "Service",
            SettingsList::Sources => "Traffic source",
        }
    }

    /// The contact-list filter that shows an entry's contacts.
    pub fn filter(self) -> &'static str {
        match self {
            SettingsList::Statuses => "status",
            SettingsList::Services => "service",
            SettingsList::Sources => "source",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingItem {
    pub id: i64,
    pub name: String,
    /// Statuses only.
    pub color: Option<String>,
    pub contacts: i64,
}

/// How the organisation's dates are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DateFormat {
    /// 2026-12-31
    #[default]
    Iso,
    /// 31/12/2026
    DayMonthYear,
    /// 12/31/2026
    MonthDayYear,
    /// 31 Dec 2026
    DayMonthName,
}

impl DateFormat {
    pub const ALL: [DateFormat; 4] =
        [DateFormat::Iso, DateFormat::DayMonthYear, DateFormat::MonthDayYear, DateFormat::DayMonthName];

    pub fn key(self) -> &'static str {
        match self {
            DateFormat::Iso => "iso",
            DateFormat::DayMonthYear => "dmy",
            DateFormat::MonthDayYear => "mdy",
            DateFormat::DayMonthName => "d-mon-y",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.key() == key)
    }

    /// The `strftime` pattern of a date.
    pub fn pattern(self) -> &'static str {
        match self {
            DateFormat::Iso => "%Y-%m-%d",
            DateFormat::DayMonthYear => "%d/%m/%Y",
            DateFormat::MonthDayYear => "%m/%d/%Y",
            DateFormat::DayMonthName => "%-d %b %Y",
        }
    }

    /// An example, for the settings page's choices.
    pub fn example(self) -> &'static str {
        match self {
            DateFormat::Iso => "2026-12-31",
            DateFormat::DayMonthYear => "31/12/2026",
            DateFormat::MonthDayYear => "12/31/2026",
            DateFormat::DayMonthName => "31 Dec 2026",
        }
    }
}

/// The organisation using the CRM: its name (shown on every page) and how times are shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    pub name: String,
    /// An IANA time zone name ("Europe/Lisbon"); every time is shown in it.
    pub time_zone: String,
    pub date_format: DateFormat,
}

impl Default for Organisation {
    fn default() -> Self {
        Organisation { name: String::new(), time_zone: "UTC".to_owned(), date_format: DateFormat::Iso }
    }
}
