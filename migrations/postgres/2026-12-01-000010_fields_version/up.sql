-- The field definitions' own counter: app servers keep the catalog they read while it stands
-- still (`fields::repo::catalog`), whoever changed a section, field or option.
INSERT INTO data_versions (name, instance, version) SELECT 'fields', instance, 0 FROM data_versions WHERE name = 'contacts';
CREATE FUNCTION bump_fields_version() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'fields';
    RETURN NULL;
END
$$;
CREATE TRIGGER field_sections_fields_version BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON field_sections
    FOR EACH STATEMENT EXECUTE FUNCTION bump_fields_version();
CREATE TRIGGER contact_fields_fields_version BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON contact_fields
    FOR EACH STATEMENT EXECUTE FUNCTION bump_fields_version();
CREATE TRIGGER field_options_fields_version BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON field_options
    FOR EACH STATEMENT EXECUTE FUNCTION bump_fields_version();
