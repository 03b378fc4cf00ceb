-- khaosat schema v2 (SQLite): the sync engine. Never edit once applied.

-- Facilities found on site are created by inspectors; office imports leave
-- created_by empty. A deleted facility is a tombstone until compaction.
ALTER TABLE facilities ADD COLUMN created_by TEXT REFERENCES users(id);
ALTER TABLE facilities ADD COLUMN deleted_at INTEGER;

-- Repeat-group rows (each machine at a facility…) are child records with IDs
-- made on the phone, so two phones adding rows never collide. Their values are
-- field_values rows with entity 'visit_row'.
CREATE TABLE visit_rows (
    id         TEXT PRIMARY KEY,
    visit_id   TEXT NOT NULL REFERENCES visits(id),
    group_key  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    deleted_at INTEGER
);
CREATE INDEX visit_rows_visit ON visit_rows(visit_id);

-- Every version every field ever had: what a supervisor compares when a visit
-- comes back, and what proves no saved value vanished without a conflict row.
CREATE TABLE field_history (
    entity       TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    field        TEXT NOT NULL,
    version      INTEGER NOT NULL,
    value        TEXT NOT NULL,
    hlc          TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    mutation_id  TEXT NOT NULL,
    base_version INTEGER NOT NULL,
    PRIMARY KEY (entity, record_id, field, version)
);

-- Review transitions are commands checked against the current state, each with
-- who, when and the comment (optionally pinned to a field).
CREATE TABLE review_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    visit_id   TEXT NOT NULL REFERENCES visits(id),
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    comment    TEXT,
    field      TEXT,
    user_id    TEXT NOT NULL REFERENCES users(id),
    at         INTEGER NOT NULL
);
CREATE INDEX review_events_visit ON review_events(visit_id);
ALTER TABLE visits ADD COLUMN submitted_at INTEGER;

-- Photo metadata; the bytes live behind the storage interface.
CREATE TABLE photos (
    id              TEXT PRIMARY KEY,
    visit_id        TEXT NOT NULL REFERENCES visits(id),
    field           TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    size            INTEGER NOT NULL,
    content_type    TEXT NOT NULL,
    caption         TEXT,
    taken_at        INTEGER,
    lat             REAL,
    lon             REAL,
    location_source TEXT,
    status          TEXT NOT NULL DEFAULT 'pending',
    status_detail   TEXT,
    created_at      INTEGER NOT NULL,
    deleted_at      INTEGER
);
CREATE INDEX photos_visit ON photos(visit_id);

-- Server-wide counters: 'compacted_through' is the change_log seq below which
-- tombstones were removed; an older cursor must resync from zero (410).
CREATE TABLE sync_state (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO sync_state (key, value) VALUES ('compacted_through', 0);

-- The writing device's seq of each field value: a device's own edits are
-- ordered by seq, so a late older one (an import) cannot undo a newer one.
ALTER TABLE field_values ADD COLUMN device_seq INTEGER NOT NULL DEFAULT 0;

CREATE INDEX change_log_created ON change_log(created_at);
CREATE INDEX mutations_record ON mutations(entity, record_id);
