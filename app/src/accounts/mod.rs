//! Accounts: who may sign in, the one login page, registration, sessions and the guards that keep
//! staff and clients in their own areas.

pub mod api;
pub mod pages;
mod permissions;

pub use permissions::Permission;

#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod device;
#[cfg(feature = "ssr")]
pub mod middleware;
#[cfg(feature = "ssr")]
pub mod password;
#[cfg(feature = "ssr")]
pub mod repo;
#[cfg(feature = "ssr")]
pub mod session_store;
#[cfg(feature = "ssr")]
pub mod setup;
#[cfg(feature = "ssr")]
pub mod throttle;

use serde::{Deserialize, Serialize};

/// The two kinds of account; each has its own area of the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserKind {
    Staff,
    Client,
}

impl UserKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UserKind::Staff => "staff",
            UserKind::Client => "client",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "staff" => Some(UserKind::Staff),
            "client" => Some(UserKind::Client),
            _ => None,
        }
    }

    /// Where this kind of user lands after signing in.
    pub fn home(self) -> &'static str {
        match self {
            UserKind::Staff => STAFF_HOME,
            UserKind::Client => PORTAL_HOME,
        }
    }
}

pub const STAFF_HOME: &str = "/staff";
pub const PORTAL_HOME: &str = "/portal";

/// What the pages know about the signed-in user; never carries the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub kind: UserKind,
    pub is_admin: bool,
    /// What the pages may offer; the server checks again on every call.
    pub permissions: Vec<Permission>,
}

impl SessionUser {
    pub fn can(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }
}

/// The two areas of the site and the URL prefixes of their pages and server functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Staff,
    Portal,
}

impl Area {
    /// The area a path belongs to, and whether it is a server-function call.
    pub fn of(path: &str) -> Option<(Area, bool)> {
        let under = |prefix: &str| path == prefix || path.starts_with(&format!("{prefix}/"));
        if under("/api/staff") {
            Some((Area::Staff, true))
        } else if under("/api/portal") {
            Some((Area::Portal, true))
        } else if under(STAFF_HOME) {
            Some((Area::Staff, false))
        } else if under(PORTAL_HOME) {
            Some((Area::Portal, false))
        } else {
            None
        }
    }

    pub fn kind(self) -> UserKind {
        match self {
            Area::Staff => UserKind::Staff,
            Area::Portal => UserKind::Client,
        }
    }
}

/// Where to go after signing in: `next` when it is a same-site path inside the user's own area,
/// otherwise the area's home page.
pub fn landing_page(kind: UserKind, next: Option<&str>) -> String {
    let safe = next
        .map(str::trim)
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .filter(|n| !n.chars().any(|c| c.is_control()))
        .filter(|n| {
            let path = n.split(['?', '#']).next().unwrap_or("");
            matches!(Area::of(path), Some((area, false)) if area.kind() == kind)
        });
    safe.map(str::to_owned).unwrap_or_else(|| kind.home().to_owned())
}

/// Emails are compared trimmed and lower-cased everywhere.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The longest email address there can be (RFC 5321's path limit).
pub const MAX_EMAIL: usize = 254;

/// An email as somebody typed it, fit for a log line: normalised and cut to [`MAX_EMAIL`]
/// characters. Log it with `?` (Debug), which escapes newlines and control characters, so a
/// typed value cannot forge a second line or send terminal escapes.
pub fn log_safe_email(email: &str) -> String {
    normalize_email(email).chars().take(MAX_EMAIL).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_honoured_only_inside_the_users_own_area() {
        assert_eq!(landing_page(UserKind::Staff, Some("/staff/contacts?page=2")), "/staff/contacts?page=2");
        assert_eq!(landing_page(UserKind::Staff, None), "/staff");
        assert_eq!(landing_page(UserKind::Staff, Some("/portal/details")), "/staff");
        assert_eq!(landing_page(UserKind::Client, Some("/portal/details")), "/portal/details");
        assert_eq!(landing_page(UserKind::Client, Some("/staff")), "/portal");
        for hostile in [
            "//evil.example/staff",
            "https://evil.example/staff",
            "/\\evil.example",
            "/staffing",
            "/api/staff/x",
            "/staff\n",
        ] {
            assert_eq!(landing_page(UserKind::Staff, Some(hostile)), "/staff", "{hostile:?}");
        }
    }

    #[test]
    fn areas_cover_pages_and_server_functions() {
        assert_eq!(Area::of("/staff"), Some((Area::Staff, false)));
        assert_eq!(Area::of("/staff/users/3"), Some((Area::Staff, false)));
        assert_eq!(Area::of("/api/staff/dashboard"), Some((Area::Staff, true)));
        assert_eq!(Area::of("/portal/details"), Some((Area::Portal, false)));
        assert_eq!(Area::of("/api/portal/my_details"), Some((Area::Portal, true)));
        assert_eq!(Area::of("/staffroom"), None);
        assert_eq!(Area::of("/login"), None);
        assert_eq!(Area::of("/api/public/login"), None);
    }
}
