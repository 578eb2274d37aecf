//! The catalogue of permissions: what staff may do, granted by groups.

use serde::{Deserialize, Serialize};

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
    SegmentsManage,
    SettingsManage,
    FieldsManage,
    UsersManage,
}

impl Permission {
    pub const ALL: [Permission; 13] = [
        Permission::ContactsView,
        Permission::ContactsCreate,
        Permission::ContactsEdit,
        Permission::ContactsDelete,
        Permission::ContactsExport,
        Permission::ContactsImport,
        Permission::ActivitiesCreate,
        Permission::ActivitiesManageAll,
        Permission::TagsSegmentsManage,
        Permission::SegmentsManage,
        Permission::SettingsManage,
        Permission::FieldsManage,
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
            Permission::SegmentsManage => "segments.manage",
            Permission::SettingsManage => "settings.manage",
            Permission::FieldsManage => "fields.manage",
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
            Permission::SegmentsManage => "Manage segments",
            Permission::SettingsManage => "Manage settings lists",
            Permission::FieldsManage => "Manage fields",
            Permission::UsersManage => "Manage users and groups",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.key() == key)
    }
}
