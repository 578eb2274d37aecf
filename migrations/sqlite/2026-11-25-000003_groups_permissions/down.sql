DROP TABLE password_tokens;
DROP INDEX sessions_user_id;
ALTER TABLE sessions DROP COLUMN user_id;
DROP TABLE audit_log;
DROP TABLE group_members;
DROP TABLE group_permissions;
DROP TABLE staff_groups;
