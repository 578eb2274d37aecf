//! Contacts: the people and companies the business works with, with status, services, traffic
//! source, tags and an owner.

pub mod api;
#[cfg(feature = "ssr")]
pub mod demo;
#[cfg(feature = "ssr")]
pub mod export;
#[cfg(feature = "ssr")]
mod list_cache;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod repo;

use serde::{Deserialize, Serialize};

/// An entry of one of the settings lists (status, service, traffic source) or a tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: i64,
    pub name: String,
    /// Statuses have a colour; the other lists do not.
    pub color: Option<String>,
}

/// Everything a contact form offers to pick from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choices {
    pub statuses: Vec<Choice>,
    pub services: Vec<Choice>,
    pub traffic_sources: Vec<Choice>,
    pub tags: Vec<Choice>,
    pub owners: Vec<Choice>,
}

/// What a person types into the add and edit forms.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactInput {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub company: String,
    pub job_title: String,
    pub street: String,
    pub city: String,
    pub postal_code: String,
    pub country: String,
    pub website: String,
    pub notes: String,
    pub status_id: Option<i64>,
    pub traffic_source_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub service_ids: Vec<i64>,
    /// Tag names; names that do not exist yet become new tags.
    pub tags: Vec<String>,
}

impl ContactInput {
    /// Checks the fields a person can get wrong; messages are keyed by field name.
    pub fn validate(&self) -> crate::error::FieldErrors {
        let mut errors = crate::error::FieldErrors::new();
        if self.first_name.trim().is_empty()
            && self.last_name.trim().is_empty()
            && self.company.trim().is_empty()
        {
            errors.add("first_name", "Enter a name, or a company.");
        }
        let email = self.email.trim();
        if !email.is_empty() {
            if let Err(message) = crate::accounts::api::validate_email(email) {
                errors.add("email", message);
            }
        }
        let website = self.website.trim();
        if !website.is_empty() && (website.contains(char::is_whitespace) || !website.contains('.')) {
            errors.add("website", "Enter a web address like example.com.");
        }
        for (field, value, max) in [
            ("first_name", &self.first_name, 100),
            ("last_name", &self.last_name, 100),
            ("phone", &self.phone, 50),
            ("company", &self.company, 200),
            ("notes", &self.notes, 10_000),
        ] {
            if value.chars().count() > max {
                errors.add(field, format!("Use at most {max} characters."));
            }
        }
        errors
    }

    /// Street, postal code and city, country — whatever of them is filled in, on one line.
    pub fn address_line(&self) -> String {
        [
            self.street.clone(),
            format!("{} {}", self.postal_code, self.city).trim().to_owned(),
            self.country.clone(),
        ]
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(", ")
    }

    /// The submitted text fields, to give back with errors so nothing typed is lost.
    pub fn echo(&self) -> Vec<(&'static str, String)> {
        vec![
            ("first_name", self.first_name.clone()),
            ("last_name", self.last_name.clone()),
            ("email", self.email.clone()),
            ("phone", self.phone.clone()),
            ("company", self.company.clone()),
            ("job_title", self.job_title.clone()),
            ("street", self.street.clone()),
            ("city", self.city.clone()),
            ("postal_code", self.postal_code.clone()),
            ("country", self.country.clone()),
            ("website", self.website.clone()),
            ("notes", self.notes.clone()),
            ("tags", self.tags.join(", ")),
        ]
    }
}

/// A contact as its profile page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: i64,
    pub input: ContactInput,
    pub status: Option<Choice>,
    pub traffic_source: Option<Choice>,
    pub owner: Option<Choice>,
    pub services: Vec<Choice>,
    pub tags: Vec<Choice>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
    /// The client account linked to this contact, if it was invited to the portal.
    pub portal: Option<PortalAccess>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalAccess {
    pub user_id: i64,
    pub email: String,
    pub is_active: bool,
    pub last_sign_in: Option<String>,
}

impl Contact {
    pub fn display_name(&self) -> String {
        display_name(&self.input.first_name, &self.input.last_name, &self.input.company)
    }
}

pub fn display_name(first: &str, last: &str, company: &str) -> String {
    let name = format!("{} {}", first.trim(), last.trim()).trim().to_owned();
    if name.is_empty() {
        company.trim().to_owned()
    } else {
        name
    }
}

/// One row of the contact list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRow {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub phone: String,
    pub company: String,
    pub status: Option<Choice>,
    pub owner: Option<String>,
    pub tags: Vec<String>,
    pub updated_at: String,
}

/// The columns the list sorts by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SortKey {
    #[default]
    Name,
    Email,
    Company,
    Status,
    Updated,
}

impl SortKey {
    pub fn key(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Email => "email",
            SortKey::Company => "company",
            SortKey::Status => "status",
            SortKey::Updated => "updated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [SortKey::Name, SortKey::Email, SortKey::Company, SortKey::Status, SortKey::Updated]
            .into_iter()
            .find(|k| k.key() == s)
    }
}

/// The state of the contact list; every part of it lives in the URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContactQuery {
    pub search: String,
    pub status_id: Option<i64>,
    pub tag_id: Option<i64>,
    pub service_id: Option<i64>,
    pub traffic_source_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub sort: SortKey,
    pub descending: bool,
    pub page: i64,
}

pub const CONTACTS_PER_PAGE: i64 = 25;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactPage {
    pub rows: Vec<ContactRow>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
}

/// A status with the number of contacts in it, for the dashboard's status table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCount {
    pub status: Choice,
    pub contacts: i64,
}
