-- Segments: static lists kept by hand, dynamic ones defined by rules and always current, and
-- snapshots of rules taken once and refreshed on demand. `kind` is one of `segments::SegmentKind`,
-- `rules` the JSON of `segments::Group` ('' for a static segment). A segment is private to its
-- owner unless `shared`. `generation` is the snapshot's current member list (a refresh adds
-- the next one and keeps the previous ones as history). `synced_key` says which state of the
-- data the stored members of a dynamic segment were computed from (see `segments::repo::sync`).
CREATE TABLE segments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    rules        TEXT NOT NULL DEFAULT '',
    owner_id     BIGINT REFERENCES users (id) ON DELETE SET NULL,
    owner_name   TEXT NOT NULL DEFAULT '',
    shared       BOOLEAN NOT NULL DEFAULT FALSE,
    generation   BIGINT NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    refreshed_at TIMESTAMP,
    synced_key   TEXT NOT NULL DEFAULT '',
    synced_at    TIMESTAMP,
    version      BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX segments_owner ON segments (owner_id);

-- The members: a static segment's (generation 0), a snapshot's per generation, and for a dynamic
-- segment the members as last synced (generation 0), which entries and exits are counted against.
-- Who added a contact by hand, and when, answers "why is this contact here".
CREATE TABLE segment_members (
    segment_id    BIGINT NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    generation    BIGINT NOT NULL,
    contact_id    BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    added_by      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    added_by_name TEXT NOT NULL DEFAULT '',
    added_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (segment_id, generation, contact_id)
);
CREATE INDEX segment_members_contact ON segment_members (contact_id);

-- A snapshot's member lists: when each was taken and how many it held.
CREATE TABLE segment_generations (
    segment_id BIGINT NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    generation BIGINT NOT NULL,
    taken_at   TIMESTAMP NOT NULL,
    size       BIGINT NOT NULL,
    PRIMARY KEY (segment_id, generation)
);

-- Entries and exits of dynamic segments. The contact's name is kept: an exit may be a deletion.
CREATE TABLE segment_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    segment_id   BIGINT NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    contact_id   BIGINT NOT NULL,
    contact_name TEXT NOT NULL,
    entered      BOOLEAN NOT NULL,
    at           TIMESTAMP NOT NULL
);
CREATE INDEX segment_events_latest ON segment_events (segment_id, at);

-- A dynamic segment's size at its last sync of each day (the organisation's day).
CREATE TABLE segment_sizes (
    segment_id BIGINT NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    day        DATE NOT NULL,
    size       BIGINT NOT NULL,
    PRIMARY KEY (segment_id, day)
);

-- Rules read activities, other segments' members and portal accounts: counters that move when
-- they change ('segments' counts the last two), so a dynamic segment knows when its stored
-- members may be stale. Static members are counted by the app, which changes them.
INSERT INTO data_versions (name, instance, version) VALUES ('activities', lower(hex(randomblob(16))), 0);
INSERT INTO data_versions (name, instance, version) VALUES ('segments', lower(hex(randomblob(16))), 0);
CREATE TRIGGER activities_version_insert AFTER INSERT ON activities BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'activities';
END;
CREATE TRIGGER activities_version_update AFTER UPDATE ON activities BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'activities';
END;
CREATE TRIGGER activities_version_delete AFTER DELETE ON activities BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'activities';
END;
CREATE TRIGGER segments_version_update AFTER UPDATE OF rules, generation ON segments BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'segments';
END;
CREATE TRIGGER segments_version_delete AFTER DELETE ON segments BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'segments';
END;
-- "Portal access" reads the client accounts.
CREATE TRIGGER users_segments_version_insert AFTER INSERT ON users BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'segments';
END;
CREATE TRIGGER users_segments_version_update AFTER UPDATE OF contact_id, is_active ON users BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'segments';
END;
CREATE TRIGGER users_segments_version_delete AFTER DELETE ON users BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'segments';
END;

-- Activity facts in rules: "a call in the last 30 days", "no activity in 90 days".
CREATE INDEX activities_kind_time ON activities (kind, happened_at, contact_id);
CREATE INDEX activities_time ON activities (happened_at, contact_id);

-- "Manage segments" is new; the groups that managed tags (whose key always named segments too,
-- the seeded Managers among them) get it.
INSERT INTO group_permissions (group_id, permission)
    SELECT group_id, 'segments.manage' FROM group_permissions WHERE permission = 'tags_segments.manage';
