-- Accounts for staff and clients; emails are stored trimmed and lower-cased, so the unique index
-- compares them case-insensitively.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    email         TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('staff', 'client')),
    is_active     BOOLEAN NOT NULL DEFAULT FALSE,
    is_admin      BOOLEAN NOT NULL DEFAULT FALSE,
    contact_id    BIGINT,
    created_at    TIMESTAMP NOT NULL,
    last_login_at TIMESTAMP
);
CREATE UNIQUE INDEX users_email_key ON users (email);

-- tower-sessions records (MessagePack), shared by every app server.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    data       BLOB NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Failed sign-ins of the last hour, for throttling per account and per client address.
CREATE TABLE login_failures (
    id        INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    email     TEXT NOT NULL,
    ip        TEXT NOT NULL,
    failed_at TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (email, failed_at);
CREATE INDEX login_failures_ip ON login_failures (ip, failed_at);
