-- Instance-wide settings (organization name and the like), one row per key.
CREATE TABLE app_settings (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO app_settings (key, value) VALUES ('organization_name', 'Your company');
