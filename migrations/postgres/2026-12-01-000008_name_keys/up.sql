-- Names are looked up and kept unique by a key the application folds (Rust's Unicode lower
-- case, app/src/db/sql.rs `fold`): SQLite's lower() folds only ASCII and PostgreSQL's depends on
-- the collation, so neither decides. The keys of existing rows are folded again by the
-- application after migrating (db::keys), which fixes what SQL's lower() could not.
ALTER TABLE tags ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE tags SET name_key = lower(trim(name));
DROP INDEX tags_name_key;
CREATE UNIQUE INDEX tags_name_key ON tags (name_key);

ALTER TABLE contact_statuses ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE contact_statuses SET name_key = lower(trim(name));
DROP INDEX contact_statuses_name_key;
CREATE UNIQUE INDEX contact_statuses_name_key ON contact_statuses (name_key);

ALTER TABLE services ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE services SET name_key = lower(trim(name));
DROP INDEX services_name_key;
CREATE UNIQUE INDEX services_name_key ON services (name_key);

ALTER TABLE traffic_sources ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE traffic_sources SET name_key = lower(trim(name));
DROP INDEX traffic_sources_name_key;
CREATE UNIQUE INDEX traffic_sources_name_key ON traffic_sources (name_key);

ALTER TABLE staff_groups ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE staff_groups SET name_key = lower(trim(name));
DROP INDEX staff_groups_name_key;
CREATE UNIQUE INDEX staff_groups_name_key ON staff_groups (name_key);

