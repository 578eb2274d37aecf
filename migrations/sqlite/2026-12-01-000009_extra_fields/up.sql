-- Extra fields on contacts, defined by staff as data: adding, changing or deleting a field is a
-- few rows here, never a schema change at run time (several app servers share one database).

-- Sections group the extra fields on the forms and the profile, in the order staff choose.
CREATE TABLE field_sections (
    id       INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name     TEXT NOT NULL,
    name_key TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX field_sections_name_key ON field_sections (name_key);

-- `field_key` is derived from the first label and never changes: imports, exports, filters and
-- list columns refer to it. `kind` is one of the types in `fields::FieldKind`.
CREATE TABLE contact_fields (
    id             INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    field_key      TEXT NOT NULL,
    label          TEXT NOT NULL,
    kind           TEXT NOT NULL,
    help           TEXT NOT NULL DEFAULT '',
    required       BOOLEAN NOT NULL DEFAULT FALSE,
    is_unique      BOOLEAN NOT NULL DEFAULT FALSE,
    default_value  TEXT NOT NULL DEFAULT '',
    section_id     BIGINT REFERENCES field_sections (id) ON DELETE SET NULL,
    position       INTEGER NOT NULL DEFAULT 0,
    searchable     BOOLEAN NOT NULL DEFAULT FALSE,
    portal_visible BOOLEAN NOT NULL DEFAULT FALSE,
    decimals       INTEGER NOT NULL DEFAULT 0,
    unit           TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX contact_fields_field_key ON contact_fields (field_key);

-- The options of select fields. Retired options stay on the contacts that have them but are not
-- offered for new values; options are never deleted, so stored values always resolve.
CREATE TABLE field_options (
    id        INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    field_id  BIGINT NOT NULL REFERENCES contact_fields (id) ON DELETE CASCADE,
    label     TEXT NOT NULL,
    label_key TEXT NOT NULL,
    color     TEXT NOT NULL DEFAULT '#64748b',
    position  INTEGER NOT NULL DEFAULT 0,
    retired   BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX field_options_label_key ON field_options (field_id, label_key);

-- A contact's values: one row per value (a multi select has one per option, `position` keeping
-- their order). `value` is the stored form (decimals as text, never floats; dates as ISO text);
-- `value_key` is what filters, sorting and uniqueness compare (folded text, ISO dates, option
-- ids); `value_number` orders numbers; `unique_key` equals `value_key` while the field is unique,
-- so the index refuses a second contact with the same value even from two saves at once.
CREATE TABLE contact_field_values (
    contact_id   BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    field_id     BIGINT NOT NULL REFERENCES contact_fields (id) ON DELETE CASCADE,
    position     INTEGER NOT NULL DEFAULT 0,
    value        TEXT NOT NULL,
    value_key    TEXT NOT NULL,
    value_number REAL,
    option_id    BIGINT REFERENCES field_options (id),
    unique_key   TEXT,
    PRIMARY KEY (contact_id, field_id, position)
);
CREATE INDEX contact_field_values_key ON contact_field_values (field_id, value_key, contact_id);
CREATE INDEX contact_field_values_number ON contact_field_values (field_id, value_number, contact_id);
CREATE INDEX contact_field_values_option ON contact_field_values (option_id, contact_id);
CREATE UNIQUE INDEX contact_field_values_unique_key ON contact_field_values (field_id, unique_key);

-- The contact list's columns each staff member picked, in their order (keys separated by commas).
CREATE TABLE contact_list_columns (
    user_id BIGINT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    column_keys TEXT NOT NULL
);

-- The list filters and sorts by values and option order: their changes move the list's counter,
-- and so does a new field (a list asked for by a field's key before it existed must not be kept).
CREATE TRIGGER contact_field_values_version_insert AFTER INSERT ON contact_field_values BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'contacts';
END;
CREATE TRIGGER contact_field_values_version_update AFTER UPDATE ON contact_field_values BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'contacts';
END;
CREATE TRIGGER contact_field_values_version_delete AFTER DELETE ON contact_field_values BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'contacts';
END;
CREATE TRIGGER contact_fields_version_insert AFTER INSERT ON contact_fields BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'contacts';
END;
CREATE TRIGGER contact_fields_version_update AFTER UPDATE ON contact_fields BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'contacts';
END;
CREATE TRIGGER contact_fields_version_delete AFTER DELETE ON contact_fields BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'contacts';
END;
CREATE TRIGGER field_options_version_update AFTER UPDATE ON field_options BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'contacts';
END;
