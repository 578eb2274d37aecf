//! The client portal: a client's own view of their relationship with the business.

pub mod api;
pub mod pages;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientDetails {
    pub display_name: String,
    pub email: String,
    pub member_since: String,
    pub last_sign_in: Option<String>,
}
