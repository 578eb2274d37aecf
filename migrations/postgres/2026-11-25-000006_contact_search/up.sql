-- Indexes the contact list needs at 100,000 contacts (see bench/).
--
-- Search: "contains" on the lower-cased search_text. A pg_trgm GIN index answers LIKE '%term%'
-- without reading every row; `contacts_search` is the name both backends give it (here a view,
-- which the planner folds into the query). The extension lives in `public` so that databases
-- with several schemas (tests, shared servers) share it; the lock keeps two servers migrating at
-- once from both trying to create it.
SELECT pg_advisory_xact_lock(7262865);
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
CREATE INDEX contacts_search_trgm ON contacts USING gin (search_text public.gin_trgm_ops);
CREATE VIEW contacts_search AS SELECT id AS rowid, search_text FROM contacts;

-- The list's default order (case-insensitive name), and a filter with a sort on one index.
DROP INDEX contacts_last_name;
CREATE INDEX contacts_name_order ON contacts (lower(last_name), lower(first_name), id);
CREATE INDEX contacts_status_updated ON contacts (status_id, updated_at, id);
CREATE INDEX contacts_updated ON contacts (updated_at, id);
