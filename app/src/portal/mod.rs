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
    /// The contact record the business keeps, when this account is linked to one.
    pub record: Option<ContactCard>,
}

/// What a client may see of their own contact record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactCard {
    pub name: String,
    pub email: String,
    pub phone: String,
    pub company: String,
    pub address: String,
    /// The extra fields marked "shown to the client" that have a value: label and value, in
    /// form order. Hidden fields never leave the server.
    pub fields: Vec<(String, String)>,
}
