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
/// creating and updating contacts matched by email, empty cells keeping stored values. Also
/// returns the file's first rows, for the mapping page.
pub fn first_settings(
    path: &std::path::Path,
    fields: &[FieldDef],
) -> Result<(super::ImportSettings, Vec<Vec<String>>), super::parse::FileError> {
    let format = super::parse::sniff(path)?;
    let rows: Vec<Vec<String>> =
        super::parse::preview(path, &format, PREVIEW_ROWS)?.into_iter().map(|r| r.cells).collect();
    let first = rows.first().cloned().unwrap_or_default();
    let mapping = suggest_all(&first, fields);
    let has_header = mapping.iter().any(|t| *t != ColumnTarget::Ignore);
    let settings = super::ImportSettings {
        format,
        has_header,
        headers: Vec::new(),
        mapping,
        mode: super::ImportMode::CreateAndUpdate,
        match_by: super::MatchBy::Email,
        empty_clears: false,
        separator: ',',
        fields_version: 0,
        segment_id: None,
    };
    Ok((with_headers(&settings, &rows), rows))
}

/// The rows the mapping page shows (the header and 20 more).
pub const PREVIEW_ROWS: usize = 21;

/// The settings a mapping form asks for, checked: messages keyed by the form's fields. Also says
/// whether the file must be read again (another delimiter or sheet).
pub fn read_form(
    current: &super::ImportSettings,
    form: &super::MappingForm,
    catalog: &crate::fields::FieldCatalog,
) -> Result<(super::ImportSettings, bool), crate::error::AppError> {
    use super::{FileFormat, ImportMode, MatchBy};
    let mut errors = crate::error::FieldErrors::new();
    let mut settings = current.clone();
    let mut reread = false;
    settings.format = match &current.format {
        FileFormat::Csv { encoding, delimiter } => {
            let wanted = match form.delimiter.as_str() {
                "" => Some(*delimiter),
                "tab" => Some(b'\t'),
                d if d.len() == 1 && super::DELIMITERS.contains(&d.as_bytes()[0]) => Some(d.as_bytes()[0]),
                _ => None,
            };
            match wanted {
                Some(d) => {
                    reread |= d != *delimiter;
                    FileFormat::Csv { encoding: *encoding, delimiter: d }
                }
                None => {
                    errors.add("delimiter", "Choose a comma, semicolon, tab or vertical bar.");
                    current.format.clone()
                }
            }
        }
        FileFormat::Xlsx { sheet, sheets } => {
            let wanted = if form.sheet.is_empty() { sheet.clone() } else { form.sheet.clone() };
            if sheets.contains(&wanted) {
                reread |= wanted != *sheet;
                FileFormat::Xlsx { sheet: wanted, sheets: sheets.clone() }
            } else {
                errors.add("sheet", "Choose one of the workbook's sheets.");
                current.format.clone()
            }
        }
    };
    settings.has_header = form.has_header.is_some();
    settings.mode = match form.mode.as_str() {
        "create" => ImportMode::Create,
        "update" => ImportMode::Update,
        _ => ImportMode::CreateAndUpdate,
    };
    settings.match_by = match form.match_by.as_str() {
        "" | "email" => MatchBy::Email,
        key => match catalog.field(key) {
            Some(f) if f.unique => MatchBy::Extra(key.to_owned()),
            _ => {
                errors.add("match_by", "Match by the email or by a unique extra field.");
                MatchBy::Email
            }
        },
    };
    settings.empty_clears = form.empty == "clear";
    let separator: Vec<char> = form.separator.trim().chars().collect();
    settings.separator = match separator.as_slice() {
        [] => ',',
        [c] => *c,
        _ => {
            errors.add("separator", "Use one character, such as a comma or a semicolon.");
            current.separator
        }
    };
    if !reread {
        let mut mapping: Vec<ColumnTarget> =
            form.columns.iter().map(|v| ColumnTarget::from_value(v)).collect();
        mapping.resize(current.mapping.len(), ColumnTarget::Ignore);
        for (i, target) in mapping.iter().enumerate() {
            if let ColumnTarget::Extra(key) = target {
                if catalog.field(key).is_none() {
                    errors.add(
                        &format!("columns.{i}"),
                        "This extra field no longer exists. Choose another target.",
                    );
                }
            }
            if *target != ColumnTarget::Ignore && mapping[..i].contains(target) {
                errors.add(
                    &format!("columns.{i}"),
                    "Another column goes there already. Choose one column per field.",
                );
            }
        }
        settings.mapping = mapping;
    }
    if let super::MatchBy::Extra(key) = &settings.match_by {
        if !settings.mapping.contains(&ColumnTarget::Extra(key.clone())) && !reread {
            errors.add("match_by", "No column goes to the field the rows are matched by.");
        }
    }
    if !reread && !settings.mapping.iter().any(|t| *t != ColumnTarget::Ignore) {
        errors.add("columns", "Choose where at least one column goes.");
    }
    if !errors.is_empty() {
        // Everything the person chose comes back with the messages, not only the columns.
        errors.values =
            form.columns.iter().enumerate().map(|(i, v)| (format!("columns.{i}"), v.clone())).collect();
        errors.values.extend(
            [
                ("mode", form.mode.clone()),
                ("match_by", form.match_by.clone()),
                ("empty", form.empty.clone()),
                ("separator", form.separator.clone()),
                ("delimiter", form.delimiter.clone()),
                ("sheet", form.sheet.clone()),
                ("has_header", if form.has_header.is_some() { "yes".to_owned() } else { String::new() }),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        return Err(crate::error::AppError::Invalid(errors));
    }
    Ok((settings, reread))
}

/// The file's first rows changed (another delimiter or sheet): its columns and their names
/// come from them, each column's target suggested again.
pub fn fit_to(
    settings: &super::ImportSettings,
    rows: &[Vec<String>],
    catalog: &crate::fields::FieldCatalog,
) -> super::ImportSettings {
    let first = rows.first().cloned().unwrap_or_default();
    let mut fitted = settings.clone();
    fitted.mapping = suggest_all(&first, &catalog.fields);
    fitted.has_header = fitted.mapping.iter().any(|t| *t != ColumnTarget::Ignore);
    with_headers(&fitted, rows)
}

/// The columns' names for the header setting, and a target for every column the first rows
/// have.
pub fn with_headers(settings: &super::ImportSettings, rows: &[Vec<String>]) -> super::ImportSettings {
    let mut out = settings.clone();
    out.headers = match settings.has_header {
        true => rows.first().cloned().unwrap_or_default(),
        false => Vec::new(),
    };
    let width = rows.iter().map(Vec::len).max().unwrap_or(0);
    if out.mapping.len() < width {
        out.mapping.resize(width, ColumnTarget::Ignore);
    }
    out
}
