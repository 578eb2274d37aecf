DROP INDEX contacts_updated;
DROP INDEX contacts_status_updated;
DROP INDEX contacts_name_order;
CREATE INDEX contacts_last_name ON contacts (last_name, first_name);
DROP VIEW contacts_search;
DROP INDEX contacts_search_trgm;
