-- The field definitions' own counter: app servers keep the catalog they read while it stands
-- still (`fields::repo::catalog`), whoever changed a section, field or option.
INSERT INTO data_versions (name, instance, version) SELECT 'fields', instance, 0 FROM data_versions WHERE name = 'contacts';
CREATE TRIGGER field_sections_fields_version_insert AFTER INSERT ON field_sections BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'fields';
END;
CREATE TRIGGER field_sections_fields_version_update AFTER UPDATE ON field_sections BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'fields';
END;
CREATE TRIGGER field_sections_fields_version_delete AFTER DELETE ON field_sections BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'fields';
END;
CREATE TRIGGER contact_fields_fields_version_insert AFTER INSERT ON contact_fields BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'fields';
END;
CREATE TRIGGER contact_fields_fields_version_update AFTER UPDATE ON contact_fields BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'fields';
END;
CREATE TRIGGER contact_fields_fields_version_delete AFTER DELETE ON contact_fields BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'fields';
END;
CREATE TRIGGER field_options_fields_version_insert AFTER INSERT ON field_options BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'fields';
END;
CREATE TRIGGER field_options_fields_version_update AFTER UPDATE ON field_options BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'fields';
END;
CREATE TRIGGER field_options_fields_version_delete AFTER DELETE ON field_options BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'fields';
END;
