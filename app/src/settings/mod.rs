//! Settings lists: the statuses, services and traffic sources contacts are described with.

pub mod api;
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
