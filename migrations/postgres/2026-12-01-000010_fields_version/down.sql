DROP TRIGGER field_sections_fields_version ON field_sections;
DROP TRIGGER contact_fields_fields_version ON contact_fields;
DROP TRIGGER field_options_fields_version ON field_options;
DROP FUNCTION bump_fields_version();
DELETE FROM data_versions WHERE name = 'fields';
