-- Facts about this installation rather than its records: the identity of the
-- photo store the database was started with (a process pointed at another
-- photo directory refuses to start).
CREATE TABLE service_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Background jobs (compaction, upload expiry, stalled uploads, the photo
-- pipeline after a restart, scheduled backups) run on one server process at a
-- time: the holder of the lease renews it; when it dies, the lease runs out
-- and another process takes it over.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
