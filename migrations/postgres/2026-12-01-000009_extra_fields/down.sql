DROP TABLE contact_list_columns;
DROP TABLE contact_field_values;
DROP TABLE field_options;
DROP TABLE contact_fields;
DROP TABLE field_sections;
