DROP INDEX contacts_updated;
DROP INDEX contacts_status_updated;
DROP INDEX contacts_name_order;
CREATE INDEX contacts_last_name ON contacts (last_name, first_name);
DROP TRIGGER contacts_search_update;
DROP TRIGGER contacts_search_delete;
DROP TRIGGER contacts_search_insert;
DROP TABLE contacts_search;
