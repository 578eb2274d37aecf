-- The settings lists a contact refers to, each kept in the order staff choose.
CREATE TABLE contact_statuses (
    id       INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name     TEXT NOT NULL,
    color    TEXT NOT NULL DEFAULT '#64748b',
    position INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX contact_statuses_name_key ON contact_statuses (lower(name));

CREATE TABLE services (
    id       INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name     TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX services_name_key ON services (lower(name));

CREATE TABLE traffic_sources (
    id       INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name     TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX traffic_sources_name_key ON traffic_sources (lower(name));

CREATE TABLE tags (
    id   INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL
);
CREATE UNIQUE INDEX tags_name_key ON tags (lower(name));

-- Emails are stored trimmed and lower-cased (unique when present). search_text holds the
-- lower-cased name, email, phone and company, so one LIKE serves the case-insensitive search on
-- both backends. version counts saves, for optimistic concurrency.
CREATE TABLE contacts (
    id                INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    first_name        TEXT NOT NULL DEFAULT '',
    last_name         TEXT NOT NULL DEFAULT '',
    email             TEXT,
    phone             TEXT NOT NULL DEFAULT '',
    company           TEXT NOT NULL DEFAULT '',
    job_title         TEXT NOT NULL DEFAULT '',
    street            TEXT NOT NULL DEFAULT '',
    city              TEXT NOT NULL DEFAULT '',
    postal_code       TEXT NOT NULL DEFAULT '',
    country           TEXT NOT NULL DEFAULT '',
    website           TEXT NOT NULL DEFAULT '',
    notes             TEXT NOT NULL DEFAULT '',
    status_id         BIGINT REFERENCES contact_statuses (id),
    traffic_source_id BIGINT REFERENCES traffic_sources (id),
    owner_id          BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_by        BIGINT REFERENCES users (id) ON DELETE SET NULL,
    updated_by        BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    version           BIGINT NOT NULL DEFAULT 1,
    extra_fields      TEXT NOT NULL DEFAULT '{}',
    search_text       TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX contacts_email_key ON contacts (email);
CREATE INDEX contacts_status_id ON contacts (status_id);
CREATE INDEX contacts_owner_id ON contacts (owner_id);
CREATE INDEX contacts_traffic_source_id ON contacts (traffic_source_id);
CREATE INDEX contacts_last_name ON contacts (last_name, first_name);

CREATE TABLE contact_tags (
    contact_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    tag_id     BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    PRIMARY KEY (contact_id, tag_id)
);
CREATE INDEX contact_tags_tag_id ON contact_tags (tag_id);

CREATE TABLE contact_services (
    contact_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    service_id BIGINT NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    PRIMARY KEY (contact_id, service_id)
);
CREATE INDEX contact_services_service_id ON contact_services (service_id);

INSERT INTO contact_statuses (name, color, position) VALUES
    ('Lead', '#2563eb', 1), ('Prospect', '#d97706', 2), ('Customer', '#16a34a', 3), ('Inactive', '#64748b', 4);
INSERT INTO services (name, position) VALUES
    ('Consulting', 1), ('Installation', 2), ('Maintenance', 3), ('Support', 4);
INSERT INTO traffic_sources (name, position) VALUES
    ('Website', 1), ('Referral', 2), ('Social media', 3), ('Advertising', 4), ('Event', 5), ('Other', 6);
