-- Indexes the contact list needs at 100,000 contacts (see bench/).
--
-- Search: "contains" on the lower-cased search_text. A trigram full-text index answers
-- LIKE '%term%' without reading every row; `contacts_search` is the name both backends give it
-- (here an FTS5 table over contacts' own column, kept in step by triggers).
CREATE VIRTUAL TABLE contacts_search USING fts5(
    search_text, content = 'contacts', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO contacts_search (contacts_search) VALUES ('rebuild');
CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_search (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_search (contacts_search, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER contacts_search_update AFTER UPDATE OF search_text ON contacts BEGIN
    INSERT INTO contacts_search (contacts_search, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO contacts_search (rowid, search_text) VALUES (new.id, new.search_text);
END;

-- The list's default order (case-insensitive name), and a filter with a sort on one index.
DROP INDEX contacts_last_name;
CREATE INDEX contacts_name_order ON contacts (lower(last_name), lower(first_name), id);
CREATE INDEX contacts_status_updated ON contacts (status_id, updated_at, id);
CREATE INDEX contacts_updated ON contacts (updated_at, id);
