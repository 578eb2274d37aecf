DROP TRIGGER contact_statuses_version ON contact_statuses;
DROP TRIGGER contact_services_version ON contact_services;
DROP TRIGGER contact_tags_version ON contact_tags;
DROP TRIGGER contacts_version ON contacts;
DROP FUNCTION bump_contacts_version();
DROP TABLE data_versions;
