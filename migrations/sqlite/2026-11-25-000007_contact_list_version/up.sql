-- A counter that moves whenever anything the contact list shows, filters or sorts by changes,
-- however it changes (the app, an import, a person at the SQL prompt). App servers keep the ids
-- of lists they have computed and reuse them while the counter stands still; `instance` tells
-- databases apart for servers (and tests) that talk to several.
CREATE TABLE data_versions (
    name     TEXT PRIMARY KEY NOT NULL,
    instance TEXT NOT NULL,
    version  BIGINT NOT NULL DEFAULT 0
);
INSERT INTO data_versions (name, instance, version) VALUES ('contacts', lower(hex(randomblob(16))), 0);

CREATE TRIGGER contacts_version_insert AFTER INSERT ON contacts BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'contacts';
END;
CREATE TRIGGER contacts_version_update AFTER UPDATE ON contacts BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'contacts';
END;
CREATE TRIGGER contacts_version_delete AFTER DELETE ON contacts BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'contacts';
END;
CREATE TRIGGER contact_tags_version_insert AFTER INSERT ON contact_tags BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'contacts';
END;
CREATE TRIGGER contact_tags_version_update AFTER UPDATE ON contact_tags BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'contacts';
END;
CREATE TRIGGER contact_tags_version_delete AFTER DELETE ON contact_tags BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'contacts';
END;
CREATE TRIGGER contact_services_version_insert AFTER INSERT ON contact_services BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'contacts';
END;
CREATE TRIGGER contact_services_version_update AFTER UPDATE ON contact_services BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'contacts';
END;
CREATE TRIGGER contact_services_version_delete AFTER DELETE ON contact_services BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'contacts';
END;
-- The list sorts by status position.
CREATE TRIGGER contact_statuses_version_update AFTER UPDATE ON contact_statuses BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'contacts';
END;
