//! Extra fields: contact fields staff define in settings (a label, a type, rules, a section),
//! stored as data, and usable everywhere a built-in field is.

pub mod api;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod repo;
#[cfg(feature = "ssr")]
pub mod sql;
#[cfg(all(test, feature = "ssr"))]
mod tests;
#[cfg(feature = "ssr")]
pub mod values;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The types an extra field can have.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FieldKind {
    #[default]
    Text,
    LongText,
    Integer,
    Decimal,
    Date,
    DateTime,
    Boolean,
    Select,
    MultiSelect,
    Email,
    Url,
    Phone,
}

impl FieldKind {
    pub const ALL: [FieldKind; 12] = [
        FieldKind::Text,
        FieldKind::LongText,
        FieldKind::Integer,
        FieldKind::Decimal,
        FieldKind::Date,
        FieldKind::DateTime,
        FieldKind::Boolean,
        FieldKind::Select,
        FieldKind::MultiSelect,
        FieldKind::Email,
        FieldKind::Url,
        FieldKind::Phone,
    ];

    /// The stable name stored in the database and used in forms.
    pub fn key(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::LongText => "long_text",
            FieldKind::Integer => "integer",
            FieldKind::Decimal => "decimal",
            FieldKind::Date => "date",
            FieldKind::DateTime => "datetime",
            FieldKind::Boolean => "boolean",
            FieldKind::Select => "select",
            FieldKind::MultiSelect => "multi_select",
            FieldKind::Email => "email",
            FieldKind::Url => "url",
            FieldKind::Phone => "phone",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FieldKind::Text => "Single-line text",
            FieldKind::LongText => "Long text",
            FieldKind::Integer => "Whole number",
            FieldKind::Decimal => "Decimal number",
            FieldKind::Date => "Date",
            FieldKind::DateTime => "Date and time",
            FieldKind::Boolean => "Yes/no",
            FieldKind::Select => "Single select",
            FieldKind::MultiSelect => "Multi select",
            FieldKind::Email => "Email",
            FieldKind::Url => "URL",
            FieldKind::Phone => "Phone",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == key)
    }

    /// Text a person types: searchable, filtered with "contains".
    pub fn is_text(self) -> bool {
        matches!(
            self,
            FieldKind::Text | FieldKind::LongText | FieldKind::Email | FieldKind::Url | FieldKind::Phone
        )
    }

    pub fn is_number(self) -> bool {
        matches!(self, FieldKind::Integer | FieldKind::Decimal)
    }

    pub fn is_date(self) -> bool {
        matches!(self, FieldKind::Date | FieldKind::DateTime)
    }

    pub fn has_options(self) -> bool {
        matches!(self, FieldKind::Select | FieldKind::MultiSelect)
    }

    /// Whether "unique" makes sense: one comparable value per contact.
    pub fn can_be_unique(self) -> bool {
        !matches!(self, FieldKind::LongText | FieldKind::Boolean | FieldKind::Select | FieldKind::MultiSelect)
    }

    /// The types a field of this type can change to: its stored values can be read as the other
    /// type (some may not fit, which the preview lists).
    pub fn compatible(self) -> &'static [FieldKind] {
        use FieldKind::*;
        match self {
            Text => &[LongText, Email, Url, Phone],
            LongText => &[Text],
            Email | Url | Phone => &[Text, LongText],
            Integer => &[Decimal, Text],
            Decimal => &[Integer, Text],
            Date => &[DateTime, Text],
            DateTime => &[Date],
            Select => &[MultiSelect],
            MultiSelect => &[Select],
            Boolean => &[],
        }
    }
}

/// An option of a select field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldOption {
    pub id: i64,
    pub label: String,
    pub color: String,
    pub retired: bool,
}

/// A section of the forms and the profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub id: i64,
    pub name: String,
}

/// An extra field as defined in settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDef {
    pub id: i64,
    /// Derived once from the first label; what imports, exports, filters and columns refer to.
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    pub help: String,
    pub required: bool,
    pub unique: bool,
    /// As a person would type it; new contacts start with it.
    pub default_value: String,
    pub section_id: Option<i64>,
    pub searchable: bool,
    /// Shown to the client in the portal.
    pub portal_visible: bool,
    /// Decimal numbers: the digits after the point.
    pub decimals: i32,
    /// Decimal numbers: a unit or currency code shown after the value.
    pub unit: String,
    /// Select fields, in their order.
    pub options: Vec<FieldOption>,
}

impl FieldDef {
    /// The name of the list filter, list column and sort key for this field: `f.<key>`.
    pub fn param(&self) -> String {
        format!("f.{}", self.key)
    }

    pub fn option(&self, id: i64) -> Option<&FieldOption> {
        self.options.iter().find(|o| o.id == id)
    }

    /// The options offered for new values.
    pub fn offered(&self) -> impl Iterator<Item = &FieldOption> {
        self.options.iter().filter(|o| !o.retired)
    }
}

/// Every section and extra field, in form order: sections in their order, then the fields
/// without a section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldCatalog {
    pub sections: Vec<Section>,
    /// In form order within each section.
    pub fields: Vec<FieldDef>,
}

impl FieldCatalog {
    pub fn field(&self, key: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.key == key)
    }

    /// The fields grouped for a form or profile: each section with its fields (sections without
    /// fields left out), then "Other details" for fields in no section.
    pub fn grouped(&self) -> Vec<(String, Vec<FieldDef>)> {
        let mut out: Vec<(String, Vec<FieldDef>)> = self
            .sections
            .iter()
            .map(|s| {
                (s.name.clone(), self.fields.iter().filter(|f| f.section_id == Some(s.id)).cloned().collect())
            })
            .collect();
        let known: Vec<i64> = self.sections.iter().map(|s| s.id).collect();
        let other: Vec<FieldDef> = self
            .fields
            .iter()
            .filter(|f| f.section_id.is_none_or(|id| !known.contains(&id)))
            .cloned()
            .collect();
        out.push(("Other details".to_owned(), other));
        out.retain(|(_, fields)| !fields.is_empty());
        out
    }
}

/// What the forms send for the extra fields: field key → the values typed or picked (one for
/// most types, several for a multi select). Each field's inputs are named
/// `input[extra][<key>][]`, and every form sends an empty one first, so a field the person
/// emptied is present (and empty) while a field the form did not show is absent.
pub type ExtraInput = BTreeMap<String, Vec<String>>;

/// The values of one contact's extra fields as shown: field key → readable text.
pub type ExtraShown = BTreeMap<String, String>;

/// What changing a field's type would do to the stored values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeChangePreview {
    pub from: FieldKind,
    pub to: FieldKind,
    /// Contacts holding a value.
    pub holding: i64,
    /// Of those, the ones whose value converts.
    pub converting: i64,
    /// The ones that do not: contact id, name, value as shown, why.
    pub failing: Vec<(i64, String, String, String)>,
}

/// The built-in contact fields, in form order, for the settings page's list of all fields.
pub const BUILT_IN_FIELDS: [(&str, &str); 17] = [
    ("First name", "Single-line text"),
    ("Last name", "Single-line text"),
    ("Email", "Email, unique"),
    ("Phone", "Phone"),
    ("Company", "Single-line text"),
    ("Job title", "Single-line text"),
    ("Street", "Single-line text"),
    ("City", "Single-line text"),
    ("Postal code", "Single-line text"),
    ("Country", "Single-line text"),
    ("Website", "URL"),
    ("Status", "Single select (settings lists)"),
    ("Traffic source", "Single select (settings lists)"),
    ("Owner", "Staff member"),
    ("Tags", "Tags"),
    ("Services", "Multi select (settings lists)"),
    ("Notes", "Long text"),
];

/// A field definition as the settings form sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FieldForm {
    pub label: String,
    /// A [`FieldKind::key`]; only read when the field is new (changing it is its own step).
    pub kind: String,
    pub help: String,
    pub required: Option<String>,
    pub unique: Option<String>,
    pub default_value: String,
    /// A section id, or empty for none.
    pub section_id: String,
    pub searchable: Option<String>,
    /// "shown" or "hidden".
    pub portal: String,
    pub decimals: String,
    pub unit: String,
    /// New select fields: the first options, one per line.
    pub options: String,
}

impl FieldForm {
    pub fn from_def(def: &FieldDef) -> Self {
        let tick = |b: bool| b.then(|| "yes".to_owned());
        FieldForm {
            label: def.label.clone(),
            kind: def.kind.key().to_owned(),
            help: def.help.clone(),
            required: tick(def.required),
            unique: tick(def.unique),
            default_value: def.default_value.clone(),
            section_id: def.section_id.map(|s| s.to_string()).unwrap_or_default(),
            searchable: tick(def.searchable),
            portal: if def.portal_visible { "shown" } else { "hidden" }.to_owned(),
            decimals: def.decimals.to_string(),
            unit: def.unit.clone(),
            options: String::new(),
        }
    }

    /// The submitted text fields, to give back with errors.
    pub fn echo(&self) -> Vec<(&'static str, String)> {
        vec![
            ("label", self.label.clone()),
            ("help", self.help.clone()),
            ("default_value", self.default_value.clone()),
            ("decimals", self.decimals.clone()),
            ("unit", self.unit.clone()),
            ("options", self.options.clone()),
        ]
    }
}

/// A list filter on an extra field, as the list's URL holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldFilter {
    pub key: String,
    /// `contains`, `is`, `empty`, `not_empty`, `range`, `any`, `yes`, `no`.
    pub op: String,
    /// The text, the range's ends (`min`, `max`, either may be empty) or the option ids.
    pub values: Vec<String>,
}

/// The column keys of the contact list, built-in ones first; extra fields are `f.<key>`.
pub const BUILT_IN_COLUMNS: [(&str, &str); 7] = [
    ("email", "Email"),
    ("phone", "Phone"),
    ("company", "Company"),
    ("status", "Status"),
    ("tags", "Tags"),
    ("owner", "Owner"),
    ("updated", "Updated"),
];

/// The list's columns for someone who never picked any.
pub fn default_columns() -> Vec<String> {
    BUILT_IN_COLUMNS.iter().map(|(k, _)| (*k).to_owned()).collect()
}
