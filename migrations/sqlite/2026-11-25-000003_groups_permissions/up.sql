-- Groups carry permissions from the catalogue in app/src/users/permissions.rs; a staff member's
-- permissions are the union of their groups' (administrators have all of them).
CREATE TABLE staff_groups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX staff_groups_name_key ON staff_groups (lower(name));

CREATE TABLE group_permissions (
    group_id   BIGINT NOT NULL REFERENCES staff_groups (id) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    PRIMARY KEY (group_id, permission)
);

CREATE TABLE group_members (
    user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES staff_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX group_members_group_id ON group_members (group_id);

-- Who did what to users and groups, with the state before and after (JSON text).
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    actor_id     BIGINT,
    actor_name   TEXT NOT NULL,
    action       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    before_state TEXT,
    after_state  TEXT,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX audit_log_created_at ON audit_log (created_at);

-- Sessions remember whose they are, so deactivating a user can end all of them at once.
ALTER TABLE sessions ADD COLUMN user_id BIGINT;
CREATE INDEX sessions_user_id ON sessions (user_id);

-- One-time set-password links an administrator hands out; only a SHA-256 of the token is kept.
CREATE TABLE password_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);

INSERT INTO staff_groups (name, description) VALUES
    ('Staff', 'Day-to-day contact work: no deletes, no administration.'),
    ('Managers', 'Everything except managing users and groups.');
INSERT INTO group_permissions (group_id, permission)
    SELECT g.id, p.permission FROM staff_groups g,
        (SELECT 'contacts.view' AS permission UNION ALL SELECT 'contacts.create'
         UNION ALL SELECT 'contacts.edit' UNION ALL SELECT 'activities.create') p
    WHERE g.name = 'Staff';
INSERT INTO group_permissions (group_id, permission)
    SELECT g.id, p.permission FROM staff_groups g,
        (SELECT 'contacts.view' AS permission UNION ALL SELECT 'contacts.create'
         UNION ALL SELECT 'contacts.edit' UNION ALL SELECT 'contacts.delete'
         UNION ALL SELECT 'contacts.export' UNION ALL SELECT 'contacts.import'
         UNION ALL SELECT 'activities.create' UNION ALL SELECT 'activities.manage_all'
         UNION ALL SELECT 'tags_segments.manage' UNION ALL SELECT 'settings.manage') p
    WHERE g.name = 'Managers';
