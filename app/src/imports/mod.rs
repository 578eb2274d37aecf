//! Importing contacts from CSV and Excel files: reading the file, mapping its columns to the
//! contact's fields, the dry run, the background job, its history and its undo.

use serde::{Deserialize, Serialize};

pub mod api;
#[cfg(feature = "ssr")]
pub mod files;
#[cfg(feature = "ssr")]
pub mod fuzz;
#[cfg(feature = "ssr")]
pub mod job;
#[cfg(feature = "ssr")]
pub mod mapping;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod parse;
#[cfg(feature = "ssr")]
pub mod plan;
#[cfg(feature = "ssr")]
pub mod repo;
#[cfg(all(test, feature = "ssr"))]
mod repo_tests;
#[cfg(all(test, feature = "ssr"))]
mod tests;
#[cfg(feature = "ssr")]
pub mod upload;

/// How the bytes of a CSV file become text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TextEncoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    /// What Excel on Windows writes for "CSV" in Western Europe and the Americas.
    Windows1252,
}

impl TextEncoding {
    pub fn label(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf16Le | TextEncoding::Utf16Be => "UTF-16",
            TextEncoding::Windows1252 => "Windows-1252 (Western European)",
        }
    }
}

/// The delimiters people's tools write, in the order a tie is settled.
pub const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// What kind of file an upload is, and how to read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileFormat {
    Csv { encoding: TextEncoding, delimiter: u8 },
    Xlsx { sheet: String, sheets: Vec<String> },
}

/// The built-in contact fields a column can fill, by the name forms and exports use.
pub const BUILT_IN_TARGETS: [(&str, &str); 12] = [
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("company", "Company"),
    ("job_title", "Job title"),
    ("street", "Street"),
    ("city", "City"),
    ("postal_code", "Postal code"),
    ("country", "Country"),
    ("website", "Website"),
    ("notes", "Notes"),
];

/// Where one column of the file goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColumnTarget {
    Ignore,
    /// A built-in text field, by its name in `BUILT_IN_TARGETS`.
    Field(String),
    /// An extra field, by its key.
    Extra(String),
    /// Tag names, split by the import's separator.
    Tags,
    /// Service names, split by the import's separator.
    Services,
    /// A status, by its name.
    Status,
    /// A traffic source, by its name.
    TrafficSource,
    /// A staff member, by email or display name.
    Owner,
}

/// Every target a column can have, as the mapping's selects offer them: value and label.
pub fn targets(catalog: &crate::fields::FieldCatalog) -> Vec<(String, String)> {
    let mut out = vec![(ColumnTarget::Ignore.value(), "Do not import".to_owned())];
    out.extend(
        BUILT_IN_TARGETS.iter().map(|(k, l)| (ColumnTarget::Field((*k).to_owned()).value(), (*l).to_owned())),
    );
    out.extend(
        [
            (ColumnTarget::Status, "Status"),
            (ColumnTarget::TrafficSource, "Traffic source"),
            (ColumnTarget::Owner, "Owner (email or name)"),
            (ColumnTarget::Services, "Services"),
            (ColumnTarget::Tags, "Tags"),
        ]
        .map(|(t, l)| (t.value(), l.to_owned())),
    );
    out.extend(
        catalog
            .fields
            .iter()
            .map(|f| (ColumnTarget::Extra(f.key.clone()).value(), format!("{} (extra field)", f.label))),
    );
    out
}

impl ColumnTarget {
    /// The value of the mapping form's option for this target.
    pub fn value(&self) -> String {
        match self {
            ColumnTarget::Ignore => "ignore".to_owned(),
            ColumnTarget::Field(name) => format!("field:{name}"),
            ColumnTarget::Extra(key) => format!("extra:{key}"),
            ColumnTarget::Tags => "tags".to_owned(),
            ColumnTarget::Services => "services".to_owned(),
            ColumnTarget::Status => "status".to_owned(),
            ColumnTarget::TrafficSource => "traffic_source".to_owned(),
            ColumnTarget::Owner => "owner".to_owned(),
        }
    }

    /// The target a mapping form's option names (unknown values are ignored columns).
    pub fn from_value(value: &str) -> Self {
        match value {
            "tags" => ColumnTarget::Tags,
            "services" => ColumnTarget::Services,
            "status" => ColumnTarget::Status,
            "traffic_source" => ColumnTarget::TrafficSource,
            "owner" => ColumnTarget::Owner,
            _ => match value.split_once(':') {
                Some(("field", name)) if BUILT_IN_TARGETS.iter().any(|(k, _)| *k == name) => {
                    ColumnTarget::Field(name.to_owned())
                }
                Some(("extra", key)) if !key.is_empty() => ColumnTarget::Extra(key.to_owned()),
                _ => ColumnTarget::Ignore,
            },
        }
    }

    /// The contact's value this target fills, as [`plan`] compares and an undo restores them:
    /// a built-in field by name, `status`, `traffic_source`, `owner`, `services`, `tags`, or
    /// `extra.<key>`; `None` for an ignored column.
    pub fn slot(&self) -> Option<String> {
        Some(match self {
            ColumnTarget::Ignore => return None,
            ColumnTarget::Field(name) => name.clone(),
            ColumnTarget::Extra(key) => format!("extra.{key}"),
            ColumnTarget::Tags => "tags".to_owned(),
            ColumnTarget::Services => "services".to_owned(),
            ColumnTarget::Status => "status".to_owned(),
            ColumnTarget::TrafficSource => "traffic_source".to_owned(),
            ColumnTarget::Owner => "owner".to_owned(),
        })
    }
}

/// What the mapping form sends.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MappingForm {
    /// Each column's target ([`ColumnTarget::value`]), in column order.
    pub columns: Vec<String>,
    /// "yes" when the first row is a header.
    pub has_header: Option<String>,
    /// CSV: `,` `;` `tab` or `|`.
    pub delimiter: String,
    /// XLSX: the sheet's name.
    pub sheet: String,
    /// `create`, `update` or `both`.
    pub mode: String,
    /// `email`, or an extra field's key.
    pub match_by: String,
    /// `keep` or `clear`.
    pub empty: String,
    pub separator: String,
    /// A static segment's id, or empty.
    pub segment: String,
    /// `preview` (save and show the file again) or `check` (save and start the dry run).
    pub then: String,
}

/// An import's page: the import, the file's first rows while it is being mapped, the targets a
/// column can have, and a page of its report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportView {
    pub summary: ImportSummary,
    pub preview: Vec<Vec<String>>,
    /// Value and label of every target, for the mapping's selects.
    pub targets: Vec<(String, String)>,
    /// The static segments the importer may add contacts to, `(id, name)`.
    pub segments: Vec<(i64, String)>,
    /// Unique extra fields a row can be matched by: key and label.
    pub match_fields: Vec<(String, String)>,
    pub rows: Vec<RowReport>,
    /// Rows of the report matching its filter.
    pub rows_total: i64,
}

/// What an import does with a row, by whether a contact matches it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportMode {
    /// New contacts only; rows that match a contact are skipped.
    Create,
    /// Existing contacts only; rows that match none are skipped.
    Update,
    #[default]
    CreateAndUpdate,
}

/// How a row finds its contact.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MatchBy {
    /// The email, compared case-insensitively.
    #[default]
    Email,
    /// A unique extra field, by key.
    Extra(String),
}

/// The choices a person makes for an import: how to read the file and where its columns go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSettings {
    /// How the file is read (found by `parse::sniff`, the delimiter or sheet can be changed).
    pub format: FileFormat,
    /// Whether the first row names the columns (then it is not imported).
    pub has_header: bool,
    /// The columns' names: the first row's cells, or empty where the file has no header.
    pub headers: Vec<String>,
    /// Where each column goes, by position.
    pub mapping: Vec<ColumnTarget>,
    pub mode: ImportMode,
    pub match_by: MatchBy,
    /// On update, an empty cell clears the stored value (otherwise the value is kept).
    pub empty_clears: bool,
    /// What separates several tags, services or options in one cell.
    pub separator: char,
    /// The field definitions' counter when the dry run read them: the run refuses to write
    /// values checked against definitions that changed since.
    #[serde(default)]
    pub fields_version: i64,
    /// A static segment every contact of the import joins when the run is done (checked, when
    /// chosen, against the importer's right to change it).
    #[serde(default)]
    pub segment_id: Option<i64>,
}

impl ImportSettings {
    /// The header of column `i`, or "Column 3" where the file has none.
    pub fn column_name(&self, i: usize) -> String {
        self.headers
            .get(i)
            .filter(|h| !h.trim().is_empty())
            .cloned()
            .unwrap_or_else(|| format!("Column {}", i + 1))
    }
}

/// Where an import is in its life. A job in `Checking`, `Running` or `Undoing` is carried by
/// one server at a time (see `imports.worker`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportState {
    /// Uploaded; the mapping is being chosen.
    Uploaded,
    /// The dry run is under way.
    Checking,
    /// The dry run is done: its report waits for the person to run the import.
    Checked,
    Running,
    /// Every planned row was written.
    Done,
    /// Cancelled part-way: what was written was taken back.
    Cancelled,
    /// Failed part-way: what was written was taken back.
    Failed,
    Undoing,
    Undone,
}

impl ImportState {
    pub const ALL: [ImportState; 9] = [
        ImportState::Uploaded,
        ImportState::Checking,
        ImportState::Checked,
        ImportState::Running,
        ImportState::Done,
        ImportState::Cancelled,
        ImportState::Failed,
        ImportState::Undoing,
        ImportState::Undone,
    ];

    pub fn key(self) -> &'static str {
        match self {
            ImportState::Uploaded => "uploaded",
            ImportState::Checking => "checking",
            ImportState::Checked => "checked",
            ImportState::Running => "running",
            ImportState::Done => "done",
            ImportState::Cancelled => "cancelled",
            ImportState::Failed => "failed",
            ImportState::Undoing => "undoing",
            ImportState::Undone => "undone",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.key() == key)
    }

    pub fn label(self) -> &'static str {
        match self {
            ImportState::Uploaded => "Waiting for its mapping",
            ImportState::Checking => "Dry run under way",
            ImportState::Checked => "Dry run done",
            ImportState::Running => "Importing",
            ImportState::Done => "Imported",
            ImportState::Cancelled => "Cancelled, nothing kept",
            ImportState::Failed => "Failed, nothing kept",
            ImportState::Undoing => "Being undone",
            ImportState::Undone => "Undone",
        }
    }

    /// A server is working on it.
    pub fn is_busy(self) -> bool {
        matches!(self, ImportState::Checking | ImportState::Running | ImportState::Undoing)
    }
}

/// What the dry run found for a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Create,
    Update,
    Unchanged,
    Skip,
    Error,
}

impl Outcome {
    pub const ALL: [Outcome; 5] =
        [Outcome::Create, Outcome::Update, Outcome::Unchanged, Outcome::Skip, Outcome::Error];

    pub fn key(self) -> &'static str {
        match self {
            Outcome::Create => "create",
            Outcome::Update => "update",
            Outcome::Unchanged => "unchanged",
            Outcome::Skip => "skip",
            Outcome::Error => "error",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.key() == key)
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Create => "To create",
            Outcome::Update => "To update",
            Outcome::Unchanged => "Unchanged",
            Outcome::Skip => "Skipped",
            Outcome::Error => "Errors",
        }
    }
}

/// One field's change, as the history shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDiff {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// An import as its page and the history list show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    pub id: i64,
    pub file_name: String,
    pub file_size: i64,
    pub created_by: String,
    pub created_at: String,
    pub state: ImportState,
    pub settings: ImportSettings,
    pub total_rows: i64,
    pub rows_done: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub skipped: i64,
    pub errors: i64,
    /// Rows the run left alone because their contact changed after the dry run.
    pub changed: i64,
    pub cancel_requested: bool,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Seconds the job has run (or ran).
    pub seconds: i64,
    /// What went wrong, or how a job ended that a restart finished.
    pub message: String,
    pub version: i64,
}

/// One row of an import's report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowReport {
    pub row: i64,
    pub outcome: Outcome,
    pub contact_id: Option<i64>,
    /// The contact's name, where there is one.
    pub name: String,
    pub column: String,
    pub message: String,
    pub changes: Vec<FieldDiff>,
    /// What the run did: created, updated, changed (left alone), or nothing yet.
    pub result: String,
    /// What an undo did.
    pub undo_result: String,
}

/// Why an upload was refused, as the upload's redirect names it (`?error=<code>&line=<n>`):
/// the page says it in words, so a link cannot put words of its own on the page.
pub fn upload_message(code: &str, line: Option<u64>) -> Option<String> {
    Some(match code {
        "no_file" => "Choose a file to upload.".to_owned(),
        "too_large" => "The file is larger than the upload limit.".to_owned(),
        "cut" => "The upload stopped before the end of the file. Nothing was kept: upload it again.".to_owned(),
        "empty" => "The file is empty.".to_owned(),
        "disk" => "The server could not store the file. Try again in a moment.".to_owned(),
        "busy" => "The service is busy right now. Please try again in a moment.".to_owned(),
        "old_excel" => "This is an Excel 97–2003 workbook (.xls). Save it as .xlsx or CSV and upload that.".to_owned(),
        "not_tabular" => "This file is neither a CSV file nor an Excel workbook (.xlsx).".to_owned(),
        "workbook" => "The workbook cannot be read. It may be damaged or cut short: save it again and upload that.".to_owned(),
        "bad_utf8" => "The file starts with a UTF-8 mark but is not valid UTF-8. Save it again as “CSV UTF-8” and upload that.".to_owned(),
        "quote" => format!(
            "The quote (\") that opens a cell on line {} is never closed, so the rest of the file would read as one cell. Close it, or remove it, and upload the file again.",
            line.unwrap_or(0)
        ),
        "unreadable" => "The file cannot be read as a table. Check that it is a CSV file or an .xlsx workbook.".to_owned(),
        _ => return None,
    })
}
