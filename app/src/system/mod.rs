//! System information: the organization's name and the health of the database behind the app.

pub mod api;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod repo;

use serde::{Deserialize, Serialize};

/// What the status page shows; read from the database on every check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    pub organization_name: String,
    /// The backend and the schema's version: for staff only. Anybody else learns that the
    /// database answers, not what it runs (what an attacker would look up known holes for).
    pub database: Option<String>,
    pub schema_version: Option<String>,
    /// Server time of the check, so a person can see that a fresh check happened.
    pub checked_at: String,
}
