-- Photos: the attach_photo record's extra metadata, the image verdict, and the
-- resumable uploads (tus) whose state every server process shares.
ALTER TABLE photos ADD COLUMN time_source TEXT;
ALTER TABLE photos ADD COLUMN accuracy_m REAL;
ALTER TABLE photos ADD COLUMN width INTEGER;
ALTER TABLE photos ADD COLUMN height INTEGER;
-- Where the original's bytes live, by content hash: set once bytes and hash match.
ALTER TABLE photos ADD COLUMN object_key TEXT;
-- What the uploaded file's own EXIF said (the record's values stay authoritative).
ALTER TABLE photos ADD COLUMN exif_taken_at INTEGER;
ALTER TABLE photos ADD COLUMN exif_lat REAL;
ALTER TABLE photos ADD COLUMN exif_lon REAL;
ALTER TABLE photos ADD COLUMN owner_id TEXT;
ALTER TABLE photos ADD COLUMN updated_at INTEGER;

CREATE TABLE uploads (
    id           TEXT PRIMARY KEY,
    photo_id     TEXT NOT NULL REFERENCES photos(id),
    user_id      TEXT NOT NULL,
    length       INTEGER NOT NULL,
    upload_offset INTEGER NOT NULL DEFAULT 0,
    metadata     TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    completed_at INTEGER,
    ended_at     INTEGER
);
CREATE INDEX uploads_photo ON uploads(photo_id);
CREATE INDEX uploads_expires ON uploads(expires_at);
