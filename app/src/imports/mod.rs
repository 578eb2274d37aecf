//! Importing contacts from CSV and Excel files: reading the file, mapping its columns to the
//! contact's fields, the dry run, the background job, its history and its undo.

use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod mapping;
#[cfg(feature = "ssr")]
pub mod parse;
#[cfg(all(test, feature = "ssr"))]
mod tests;
#[cfg(feature = "ssr")]
pub mod upload;

/// The built-in contact fields a column can fill, by the name forms and exports use.
pub const BUILT_IN_TARGETS: [(&str, &str); 12] = [
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("company", "Company"),
    ("job_title", "Job title"),
    ("street", "Street"),
    ("city", "City"),
    ("postal_code", "Postal code"),
    ("country", "Country"),
    ("website", "Website"),
    ("notes", "Notes"),
];

/// Where one column of the file goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColumnTarget {
    Ignore,
    /// A built-in text field, by its name in `BUILT_IN_TARGETS`.
    Field(String),
    /// An extra field, by its key.
    Extra(String),
    /// Tag names, split by the import's separator.
    Tags,
    /// Service names, split by the import's separator.
    Services,
    /// A status, by its name.
    Status,
    /// A traffic source, by its name.
    TrafficSource,
    /// A staff member, by email or display name.
    Owner,
}
