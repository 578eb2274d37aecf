DROP TABLE contact_services;
DROP TABLE contact_tags;
DROP TABLE contacts;
DROP TABLE tags;
DROP TABLE traffic_sources;
DROP TABLE services;
DROP TABLE contact_statuses;
