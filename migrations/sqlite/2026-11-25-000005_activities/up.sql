-- What happened with a contact: calls, emails, meetings, notes and tasks that staff log, and the
-- automatic history of changes (kind 'change', with `changes` holding a JSON list of
-- {"field", "before", "after"}). The author's name is kept for when their account is deleted.
CREATE TABLE activities (
    id          INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    contact_id  BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL DEFAULT '',
    happened_at TIMESTAMP NOT NULL,
    due_on      DATE,
    done_at     TIMESTAMP,
    author_id   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    author_name TEXT NOT NULL DEFAULT '',
    changes     TEXT,
    created_at  TIMESTAMP NOT NULL,
    edited_at   TIMESTAMP
);
CREATE INDEX activities_timeline ON activities (contact_id, happened_at DESC, id DESC);
CREATE INDEX activities_open_tasks ON activities (author_id, due_on) WHERE kind = 'task' AND done_at IS NULL;
