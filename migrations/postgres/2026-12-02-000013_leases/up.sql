-- Work that must run once across every app server sharing this database (expired-session
-- clean-up, planner statistics, segment syncing): a server runs such a job only while it holds
-- the job's lease, claimed with one conditional write (`ops::repo::claim`). A lease that has
-- expired (its holder stopped, or its period passed) can be claimed by any server.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY NOT NULL,
    holder     TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
