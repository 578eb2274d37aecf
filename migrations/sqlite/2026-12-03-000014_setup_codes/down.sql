ALTER TABLE users DROP COLUMN deactivated_by_manager;
DROP TABLE setup_codes;
