//! Staff users, groups and permissions: who works in the CRM and what each person may do.

pub mod api;
#[cfg(feature = "ssr")]
pub mod fixtures;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod repo;

use serde::{Deserialize, Serialize};

use crate::accounts::Permission;
use crate::accounts::UserKind;

/// One row of the user list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: i64,
    pub display_name: String,
    pub email: String,
    pub kind: UserKind,
    pub is_active: bool,
    pub is_admin: bool,
    pub groups: Vec<String>,
    pub last_login: Option<String>,
}

/// The user list's filters; all of them live in the URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserFilter {
    pub search: String,
    pub kind: Option<UserKind>,
    pub group_id: Option<i64>,
    pub active: Option<bool>,
    pub page: i64,
}

pub const USERS_PER_PAGE: i64 = 25;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPage {
    pub users: Vec<UserSummary>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
}

/// A group with its permissions and members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupDetails {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub permissions: Vec<Permission>,
    pub members: Vec<(i64, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub actor_name: String,
    pub action: String,
    pub subject: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub at: String,
}
