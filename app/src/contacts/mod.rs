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

use leptos_router::params::{Params, ParamsError, ParamsMap};
use serde::{Deserialize, Serialize};

use crate::fields::{ExtraInput, ExtraShown, FieldFilter};

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

/// The most tags one contact carries, and the longest tag name.
pub const MAX_TAGS: usize = 50;
pub const MAX_TAG_LENGTH: usize = 50;

/// What a person types into the add and edit forms. The form sends it as one struct argument
/// (inputs named `input[first_name]`, repeated `input[tags][]` and `input[service_ids][]`);
/// a field left out of the post is empty, and unticked checkboxes send nothing at all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
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
    /// The extra fields' inputs (`input[extra][<key>][]`), by field key.
    pub extra: ExtraInput,
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
        // Every text has a bound: a 1.9 MB job title was saved (and sent with every list page).
        for (field, value, max) in [
            ("first_name", &self.first_name, 100),
            ("last_name", &self.last_name, 100),
            ("phone", &self.phone, 50),
            ("company", &self.company, 200),
            ("job_title", &self.job_title, 200),
            ("street", &self.street, 200),
            ("city", &self.city, 100),
            ("postal_code", &self.postal_code, 20),
            ("country", &self.country, 100),
            ("website", &self.website, 500),
            ("notes", &self.notes, 10_000),
        ] {
            if value.chars().count() > max {
                errors.add(field, format!("Use at most {max} characters."));
            }
        }
        if self.tags.len() > MAX_TAGS {
            errors.add("tags", format!("Use at most {MAX_TAGS} tags."));
        } else if let Some(long) = self.tags.iter().find(|t| t.chars().count() > MAX_TAG_LENGTH) {
            let start: String = long.chars().take(20).collect();
            errors.add("tags", format!("Tag names have at most {MAX_TAG_LENGTH} characters (\"{start}…\")."));
        }
        if self.service_ids.len() > 100 {
            errors.add("service_ids", "Choose at most 100 services.");
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

    /// The tag names as the form sends them: the ticked chips, then what was typed into "Add
    /// tags", where commas separate names.
    pub fn add_typed_tags(&mut self, typed: &str) {
        self.tags.extend(typed.split(',').map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()));
    }

    /// The submitted text fields, to give back with errors so nothing typed is lost; extra
    /// fields as `extra.<key>` (a multi select's values one per line).
    pub fn echo(&self) -> Vec<(String, String)> {
        let mut echo: Vec<(String, String)> = vec![
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
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (key, values) in &self.extra {
            let typed: Vec<&str> = values.iter().map(String::as_str).filter(|v| !v.is_empty()).collect();
            echo.push((format!("extra.{key}"), typed.join("\n")));
        }
        echo
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
    /// The extra fields that have a value, as shown, by field key.
    pub extra_shown: ExtraShown,
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
    /// The extra fields that have a value, as shown, by field key.
    pub fields: ExtraShown,
}

/// The columns the list sorts by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SortKey {
    #[default]
    Name,
    Email,
    Company,
    Status,
    Updated,
    /// An extra field, by its key (`sort=f.<key>` in the URL).
    Field(String),
}

impl SortKey {
    pub fn key(&self) -> String {
        match self {
            SortKey::Name => "name".to_owned(),
            SortKey::Email => "email".to_owned(),
            SortKey::Company => "company".to_owned(),
            SortKey::Status => "status".to_owned(),
            SortKey::Updated => "updated".to_owned(),
            SortKey::Field(key) => format!("f.{key}"),
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        if let Some(key) = s.strip_prefix("f.").filter(|k| !k.is_empty()) {
            return Some(SortKey::Field(key.to_owned()));
        }
        [SortKey::Name, SortKey::Email, SortKey::Company, SortKey::Status, SortKey::Updated]
            .into_iter()
            .find(|k| k.key() == s)
    }
}

/// The contact list as the repository reads it; [`ContactListParams`] is how it sits in the URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContactQuery {
    pub search: String,
    pub status_id: Option<i64>,
    pub tag_id: Option<i64>,
    pub service_id: Option<i64>,
    pub traffic_source_id: Option<i64>,
    pub owner_id: Option<i64>,
    /// Members of this segment only (the caller checked that it may be seen).
    pub segment_id: Option<i64>,
    /// Filters on extra fields.
    pub fields: Vec<FieldFilter>,
    pub sort: SortKey,
    pub descending: bool,
    pub page: i64,
}

/// The contact list's URL query, `/staff/contacts?q=…&status=…&sort=…&dir=desc&page=2`: every
/// filter, the sort and the page, so that a list can be shared and the back button works. The
/// field names are the URL's keys. Values stay text: the filter form sends `status=` for "Any",
/// and a mistyped address shows the unfiltered list rather than an error. Filters on extra
/// fields are `f.<key>=…` (repeated for "any of"), `f.<key>.op=…`, `f.<key>.min=…` and
/// `f.<key>.max=…`, kept in `extra` as `name=value`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactListParams {
    pub q: Option<String>,
    pub status: Option<String>,
    pub tag: Option<String>,
    pub service: Option<String>,
    pub source: Option<String>,
    pub owner: Option<String>,
    pub segment: Option<String>,
    pub sort: Option<String>,
    pub dir: Option<String>,
    pub page: Option<String>,
    /// The extra-field filters, `name=value`, in the order of the URL; empty values left out.
    pub extra: Vec<String>,
}

impl Params for ContactListParams {
    fn from_map(map: &ParamsMap) -> Result<Self, ParamsError> {
        Ok(Self::from_pairs(map.into_iter().map(|(k, v)| (k.as_ref(), v))))
    }
}

impl ContactListParams {
    /// The list's parameters from a URL query's pairs (the page's and the export's).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut params = Self::default();
        for (key, value) in pairs {
            let slot = match key {
                "q" => &mut params.q,
                "status" => &mut params.status,
                "tag" => &mut params.tag,
                "service" => &mut params.service,
                "source" => &mut params.source,
                "owner" => &mut params.owner,
                "segment" => &mut params.segment,
                "sort" => &mut params.sort,
                "dir" => &mut params.dir,
                "page" => &mut params.page,
                other => {
                    if other.starts_with("f.") && !value.trim().is_empty() && !other.contains('=') {
                        params.extra.push(format!("{other}={value}"));
                    }
                    continue;
                }
            };
            *slot = Some(value.to_owned());
        }
        params
    }

    /// The extra-field filters as (name, value) pairs.
    pub fn extra_pairs(&self) -> Vec<(&str, &str)> {
        self.extra.iter().filter_map(|p| p.split_once('=')).collect()
    }

    /// The values of one extra-field parameter (`f.plan`, `f.plan.op` …).
    pub fn extra_values(&self, name: &str) -> Vec<String> {
        self.extra_pairs().into_iter().filter(|(k, _)| *k == name).map(|(_, v)| v.to_owned()).collect()
    }

    /// The filters on extra fields, one per field named in the URL.
    fn field_filters(&self) -> Vec<FieldFilter> {
        let mut keys: Vec<&str> = Vec::new();
        for (name, _) in self.extra_pairs() {
            let key = name.trim_start_matches("f.");
            let key = key.split('.').next().unwrap_or_default();
            if !key.is_empty() && !keys.contains(&key) {
                keys.push(key);
            }
        }
        keys.into_iter()
            .filter_map(|key| {
                let values = self.extra_values(&format!("f.{key}"));
                let (min, max) =
                    (self.extra_values(&format!("f.{key}.min")), self.extra_values(&format!("f.{key}.max")));
                let op = self.extra_values(&format!("f.{key}.op")).pop().unwrap_or_default();
                let (op, values) = match op.as_str() {
                    "empty" | "not_empty" => (op, Vec::new()),
                    _ if !min.is_empty() || !max.is_empty() => (
                        "range".to_owned(),
                        vec![
                            min.last().cloned().unwrap_or_default(),
                            max.last().cloned().unwrap_or_default(),
                        ],
                    ),
                    _ if values.is_empty() => return None,
                    "" => ("value".to_owned(), values),
                    _ => (op, values),
                };
                Some(FieldFilter { key: key.to_owned(), op, values })
            })
            .collect()
    }

    /// What the repository is asked for.
    pub fn query(&self) -> ContactQuery {
        let id = |value: &Option<String>| value.as_deref().and_then(|v| v.trim().parse().ok());
        ContactQuery {
            search: self.q.clone().unwrap_or_default(),
            status_id: id(&self.status),
            tag_id: id(&self.tag),
            service_id: id(&self.service),
            traffic_source_id: id(&self.source),
            owner_id: id(&self.owner),
            segment_id: id(&self.segment),
            fields: self.field_filters(),
            sort: self.sort.as_deref().and_then(SortKey::parse).unwrap_or_default(),
            descending: self.dir.as_deref() == Some("desc"),
            page: self.page.as_deref().and_then(|p| p.trim().parse().ok()).unwrap_or(1),
        }
    }

    /// The same filters, without sort and page (what the CSV export takes).
    pub fn filters(&self) -> Self {
        Self { sort: None, dir: None, page: None, ..self.clone() }
    }

    /// The list sorted by `key`: ascending, or descending when it is sorted by `key` already.
    pub fn sorted_by(&self, key: SortKey) -> Self {
        let query = self.query();
        let dir = if query.sort == key && !query.descending { "desc" } else { "asc" };
        Self { sort: Some(key.key().to_owned()), dir: Some(dir.to_owned()), page: None, ..self.clone() }
    }

    /// Another page of the same list.
    pub fn at_page(&self, page: i64) -> Self {
        Self { page: Some(page.to_string()), ..self.clone() }
    }

    /// `path` with these parameters as its query (empty ones left out).
    pub fn href(&self, path: &str) -> String {
        let Self { q, status, tag, service, source, owner, segment, sort, dir, page, extra: _ } = self;
        let pairs = [
            ("q", q),
            ("status", status),
            ("tag", tag),
            ("service", service),
            ("source", source),
            ("owner", owner),
            ("segment", segment),
            ("sort", sort),
            ("dir", dir),
            ("page", page),
        ];
        let mut pairs: Vec<(&str, &str)> =
            pairs.iter().filter_map(|(k, v)| v.as_deref().map(|v| (*k, v))).collect();
        // Extra-field filters before the sort and page, as the filter form sends them.
        let at = pairs.iter().position(|(k, _)| matches!(*k, "sort" | "dir" | "page")).unwrap_or(pairs.len());
        let extra = self.extra_pairs();
        pairs.splice(at..at, extra);
        crate::ui::href(path, &pairs)
    }
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

#[cfg(test)]
mod tests {
    use super::{ContactListParams, SortKey};

    fn url(pairs: &[(&'static str, &str)]) -> ContactListParams {
        use leptos_router::params::{Params, ParamsMap};
        let map: ParamsMap = pairs.iter().map(|(k, v)| (*k, v.to_string())).collect();
        ContactListParams::from_map(&map).unwrap()
    }

    #[test]
    fn the_list_address_reads_leniently_and_its_links_keep_the_filters() {
        let list = url(&[("q", "Zoë"), ("status", ""), ("tag", "7"), ("owner", "x"), ("page", "3")]);
        let query = list.query();
        assert_eq!(
            (query.search.as_str(), query.status_id, query.tag_id, query.owner_id),
            ("Zoë", None, Some(7), None)
        );
        assert_eq!((query.sort, query.descending, query.page), (SortKey::Name, false, 3));
        assert_eq!(list.href("/staff/contacts"), "/staff/contacts?q=Zo%C3%AB&tag=7&owner=x&page=3");
        // Sorting starts at the first page; a second click on the same column reverses it.
        let by_company = list.sorted_by(SortKey::Company);
        assert_eq!(by_company.href("/l"), "/l?q=Zo%C3%AB&tag=7&owner=x&sort=company&dir=asc");
        assert!(by_company.sorted_by(SortKey::Company).query().descending);
        assert!(!by_company.sorted_by(SortKey::Company).sorted_by(SortKey::Company).query().descending);
        assert_eq!(list.filters().href("/e"), "/e?q=Zo%C3%AB&tag=7&owner=x");
        assert_eq!(url(&[]).query().page, 1);
    }
}
