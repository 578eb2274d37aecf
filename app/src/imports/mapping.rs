//! Suggesting where each column of a file goes, from its header: what a person would guess
//! from "E-mail", "Surname" or "Organisation", in English and the languages our users write.

use super::{ColumnTarget, BUILT_IN_TARGETS};
use crate::fields::FieldDef;

/// A header as compared: ASCII letters and digits only, lower case, accents folded
/// (`Straße` → `strasse`, `Téléphone` → `telephone`).
pub fn normalise(header: &str) -> String {
    deunicode::deunicode(header)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Other names of the built-in targets, normalised.
const SYNONYMS: &[(&str, &[&str])] = &[
    ("first_name", &["firstname", "givenname", "forename", "first", "vorname", "prenom", "nombre"]),
    ("last_name", &["lastname", "surname", "familyname", "last", "nachname", "nom", "apellido", "apellidos"]),
    ("email", &["email", "emailaddress", "mail", "emailadresse", "courriel", "correo"]),
    (
        "phone",
        &["phone", "phonenumber", "telephone", "tel", "mobile", "mobilephone", "cell", "telefon", "telefono"],
    ),
    (
        "company",
        &[
            "company",
            "organisation",
            "organization",
            "org",
            "companyname",
            "firma",
            "unternehmen",
            "entreprise",
            "societe",
            "empresa",
            "account",
        ],
    ),
    ("job_title", &["jobtitle", "position", "role", "beruf", "poste"]),
    ("street", &["street", "address", "streetaddress", "address1", "strasse", "adresse", "rue", "calle"]),
    ("city", &["city", "town", "stadt", "ort", "ville", "ciudad"]),
    ("postal_code", &["postalcode", "postcode", "zip", "zipcode", "plz", "postleitzahl", "codepostal"]),
    ("country", &["country", "land", "pays", "pais"]),
    ("website", &["website", "web", "url", "homepage", "site"]),
    ("notes", &["notes", "note", "comments", "comment", "description", "notizen", "bemerkungen"]),
];

const TAGS: &[&str] = &["tags", "tag", "labels", "label", "schlagworte"];
const SERVICES: &[&str] = &["services", "service", "products", "product", "leistungen"];
const STATUS: &[&str] = &["status", "stage", "lifecyclestage", "leadstatus"];
const SOURCES: &[&str] = &["trafficsource", "source", "leadsource", "channel", "quelle"];
const OWNERS: &[&str] = &["owner", "contactowner", "assignedto", "accountmanager", "salesperson"];

/// The suggested target of a column named `header`: an extra field whose label or key matches,
/// then a built-in field or one of its other names, then tags, services, status, traffic source
/// or owner; "ignore" when nothing fits. Each target is suggested for the first such column only
/// (see `suggest_all`).
pub fn suggest(header: &str, fields: &[FieldDef]) -> ColumnTarget {
    let name = normalise(header);
    if name.is_empty() {
        return ColumnTarget::Ignore;
    }
    if let Some(field) = fields.iter().find(|f| normalise(&f.label) == name || normalise(&f.key) == name) {
        return ColumnTarget::Extra(field.key.clone());
    }
    for (key, label) in BUILT_IN_TARGETS {
        let synonyms = SYNONYMS.iter().find(|(k, _)| *k == key).map_or(&[][..], |(_, s)| s);
        if normalise(label) == name || normalise(key) == name || synonyms.contains(&name.as_str()) {
            return ColumnTarget::Field(key.to_owned());
        }
    }
    let is = |names: &[&str]| names.contains(&name.as_str());
    if is(TAGS) {
        ColumnTarget::Tags
    } else if is(SERVICES) {
        ColumnTarget::Services
    } else if is(STATUS) {
        ColumnTarget::Status
    } else if is(SOURCES) {
        ColumnTarget::TrafficSource
    } else if is(OWNERS) {
        ColumnTarget::Owner
    } else {
        ColumnTarget::Ignore
    }
}

/// Suggestions for every column; a target already taken by an earlier column is not suggested
/// twice (a file with "Phone" and "Mobile" fills the phone from the first).
pub fn suggest_all(headers: &[String], fields: &[FieldDef]) -> Vec<ColumnTarget> {
    let mut taken = Vec::new();
    headers
        .iter()
        .map(|header| {
            let target = suggest(header, fields);
            if target == ColumnTarget::Ignore || taken.contains(&target) {
                ColumnTarget::Ignore
            } else {
                taken.push(target.clone());
                target
            }
        })
        .collect()
}

/// The settings an upload starts with: the file read as `parse::sniff` found it, its first row
/// taken for a header when any of its cells names a target, each column's suggested target,
/// creating and updating contacts matched by email, empty cells keeping stored values.
pub fn first_settings(
    path: &std::path::Path,
    fields: &[FieldDef],
) -> Result<super::ImportSettings, super::parse::FileError> {
    let format = super::parse::sniff(path)?;
    let first =
        super::parse::preview(path, &format, 1)?.into_iter().next().map(|r| r.cells).unwrap_or_default();
    let mapping = suggest_all(&first, fields);
    let has_header = mapping.iter().any(|t| *t != ColumnTarget::Ignore);
    Ok(super::ImportSettings {
        format,
        has_header,
        headers: if has_header { first } else { Vec::new() },
        mapping,
        mode: super::ImportMode::CreateAndUpdate,
        match_by: super::MatchBy::Email,
        empty_clears: false,
        separator: ',',
        fields_version: 0,
    })
}
