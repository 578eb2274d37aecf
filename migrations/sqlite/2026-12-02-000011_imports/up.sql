-- Contact imports: the uploaded file (kept in the database, so any app server can run the job),
-- the settings a person chose, the job's state, and one row per line of the file saying what the
-- dry run found and what the run did, which is also what an undo reads.

-- `state` is one of `imports::ImportState`. `settings` is the JSON of `imports::ImportSettings`,
-- `preview` the JSON of the file's first rows as the settings read it (for the mapping page).
-- `worker` and `heartbeat_at` say which server carries a checking, running or undoing job and when
-- it last said so: a job whose heartbeat is old belongs to a server that stopped, and any other
-- server takes it over.
CREATE TABLE imports (
    id               INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    created_by       BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_by_name  TEXT NOT NULL,
    run_by           BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at       TIMESTAMP NOT NULL,
    file_name        TEXT NOT NULL,
    file_size        BIGINT NOT NULL,
    file_sha256      TEXT NOT NULL,
    settings         TEXT NOT NULL,
    preview          TEXT NOT NULL DEFAULT '[]',
    state            TEXT NOT NULL,
    total_rows       BIGINT NOT NULL DEFAULT 0,
    rows_done        BIGINT NOT NULL DEFAULT 0,
    created_count    BIGINT NOT NULL DEFAULT 0,
    updated_count    BIGINT NOT NULL DEFAULT 0,
    unchanged_count  BIGINT NOT NULL DEFAULT 0,
    skipped_count    BIGINT NOT NULL DEFAULT 0,
    error_count      BIGINT NOT NULL DEFAULT 0,
    changed_count    BIGINT NOT NULL DEFAULT 0,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    worker           TEXT,
    heartbeat_at     TIMESTAMP,
    started_at       TIMESTAMP,
    finished_at      TIMESTAMP,
    message          TEXT NOT NULL DEFAULT '',
    version          BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX imports_created_at ON imports (created_at);
CREATE INDEX imports_state ON imports (state);

-- The uploaded file, in pieces of up to a megabyte, in order.
CREATE TABLE import_chunks (
    import_id BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    data      BLOB NOT NULL,
    PRIMARY KEY (import_id, seq)
);

-- One row per data row of the file. `outcome` is what the dry run found (create, update,
-- unchanged, skip, error); `applied` turns true in the transaction that wrote the row, and then
-- `result` says what the run did (created, updated, changed: the contact changed since the dry
-- run and was left alone). `before_input` / `after_input` are the contact's form values (JSON of
-- `contacts::ContactInput`) before and after, `changes` the fields as the history shows them,
-- `after_version` the contact's version the import left: an undo restores what nobody touched
-- since. `cells` keeps the row as the file had it, for error rows (their download).
CREATE TABLE import_rows (
    import_id      BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    row_number     BIGINT NOT NULL,
    outcome        TEXT NOT NULL,
    contact_id     BIGINT,
    contact_version BIGINT,
    column_name    TEXT NOT NULL DEFAULT '',
    message        TEXT NOT NULL DEFAULT '',
    changes        TEXT NOT NULL DEFAULT '[]',
    before_input   TEXT,
    after_input    TEXT,
    cells          TEXT,
    applied        BOOLEAN NOT NULL DEFAULT FALSE,
    result         TEXT NOT NULL DEFAULT '',
    after_version  BIGINT,
    undo_result    TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (import_id, row_number)
);
CREATE INDEX import_rows_outcome ON import_rows (import_id, outcome, row_number);
CREATE INDEX import_rows_contact ON import_rows (contact_id);
