-- A counter that moves whenever anything the contact list shows, filters or sorts by changes,
-- however it changes (the app, an import, a person at the SQL prompt). App servers keep the ids
-- of lists they have computed and reuse them while the counter stands still; `instance` tells
-- databases apart for servers (and tests) that talk to several. Statement-level triggers: a
-- bulk change moves it once. Every transaction that changes contacts holds the counter's row
-- lock until it commits, so such transactions run one after the other; the app takes the lock
-- first thing in each of them (`contacts_tx!`), so two cannot wait on each other.
CREATE TABLE data_versions (
    name     TEXT PRIMARY KEY NOT NULL,
    instance TEXT NOT NULL,
    version  BIGINT NOT NULL DEFAULT 0
);
INSERT INTO data_versions (name, instance, version) VALUES ('contacts', md5(random()::text || clock_timestamp()::text), 0);

-- The function finds `data_versions` in the schema it was created in, whatever the caller's
-- search_path.
CREATE FUNCTION bump_contacts_version() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'contacts';
    RETURN NULL;
END
$$;
CREATE TRIGGER contacts_version BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON contacts
    FOR EACH STATEMENT EXECUTE FUNCTION bump_contacts_version();
CREATE TRIGGER contact_tags_version BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON contact_tags
    FOR EACH STATEMENT EXECUTE FUNCTION bump_contacts_version();
CREATE TRIGGER contact_services_version BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON contact_services
    FOR EACH STATEMENT EXECUTE FUNCTION bump_contacts_version();
-- The list sorts by status position.
CREATE TRIGGER contact_statuses_version BEFORE UPDATE ON contact_statuses
    FOR EACH STATEMENT EXECUTE FUNCTION bump_contacts_version();
