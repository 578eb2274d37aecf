//! Staff users, groups and permissions: who works in the CRM and what each person may do.

pub mod api;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod repo;

use serde::{Deserialize, Serialize};

use crate::accounts::UserKind;

/// The catalogue of permissions, the one place they are listed. Groups grant them; a staff
/// member has the union of their groups' permissions, and administrators have all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Permission {
    ContactsView,
    ContactsCreate,
    ContactsEdit,
    ContactsDelete,
    ContactsExport,
    ContactsImport,
    ActivitiesCreate,
    ActivitiesManageAll,
    TagsSegmentsManage,
    SettingsManage,
    UsersManage,
}

impl Permission {
    pub const ALL: [Permission; 11] = [
        Permission::ContactsView,
        Permission::ContactsCreate,
        Permission::ContactsEdit,
        Permission::ContactsDelete,
        Permission::ContactsExport,
        Permission::ContactsImport,
        Permission::ActivitiesCreate,
        Permission::ActivitiesManageAll,
        Permission::TagsSegmentsManage,
        Permission::SettingsManage,
        Permission::UsersManage,
    ];

    /// The stable name stored in the database and used in forms.
    pub fn key(self) -> &'static str {
        match self {
            Permission::ContactsView => "contacts.view",
            Permission::ContactsCreate => "contacts.create",
            Permission::ContactsEdit => "contacts.edit",
            Permission::ContactsDelete => "contacts.delete",
            Permission::ContactsExport => "contacts.export",
            Permission::ContactsImport => "contacts.import",
            Permission::ActivitiesCreate => "activities.create",
            Permission::ActivitiesManageAll => "activities.manage_all",
            Permission::TagsSegmentsManage => "tags_segments.manage",
            Permission::SettingsManage => "settings.manage",
            Permission::UsersManage => "users.manage",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Permission::ContactsView => "View contacts",
            Permission::ContactsCreate => "Create contacts",
            Permission::ContactsEdit => "Edit contacts",
            Permission::ContactsDelete => "Delete contacts",
            Permission::ContactsExport => "Export contacts",
            Permission::ContactsImport => "Import contacts",
            Permission::ActivitiesCreate => "Log activities",
            Permission::ActivitiesManageAll => "Edit or delete anyone's activities",
            Permission::TagsSegmentsManage => "Manage tags",
            Permission::SettingsManage => "Manage settings lists",
            Permission::UsersManage => "Manage users and groups",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.key() == key)
    }
}

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
