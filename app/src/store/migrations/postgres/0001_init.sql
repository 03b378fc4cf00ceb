-- khaosat schema v1 (PostgreSQL). Never edit once applied; add a new file instead.
-- Integers are 64-bit everywhere (the Any driver decodes i64), times are UTC
-- milliseconds, JSON is TEXT, booleans are 0/1: the same shapes as PostgreSQL so
-- that one store module serves both engines.

-- Administrative units are data with effective dates: the 2025 reform replaced
-- the tree, so a tree name and validity travel with each unit. `path` is the
-- chain of codes from the root ("24/213/07210/") so "everything under a unit"
-- is a prefix match, whatever the depth.
CREATE TABLE admin_units (
    code           TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    level          TEXT NOT NULL CHECK (level IN ('province', 'district', 'commune')),
    parent_code    TEXT REFERENCES admin_units(code),
    path           TEXT NOT NULL,
    tree           TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    effective_to   TEXT,
    search         TEXT NOT NULL
);
CREATE INDEX admin_units_parent ON admin_units(parent_code);

CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    display_name         TEXT NOT NULL,
    password_hash        TEXT NOT NULL,
    active               BIGINT NOT NULL DEFAULT 1,
    must_change_password BIGINT NOT NULL DEFAULT 0,
    created_at           BIGINT NOT NULL
);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users(id),
    role    TEXT NOT NULL CHECK (role IN ('inspector', 'supervisor', 'administrator')),
    PRIMARY KEY (user_id, role)
);

CREATE TABLE user_units (
    user_id   TEXT NOT NULL REFERENCES users(id),
    unit_code TEXT NOT NULL REFERENCES admin_units(code),
    PRIMARY KEY (user_id, unit_code)
);

-- A phone (browser profile) bound to one user. last_seq is the highest mutation
-- seq applied or refused: the exactly-once boundary of push.
CREATE TABLE devices (
    device_id    TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    last_seq     BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT,
    revoked_at   BIGINT
);

-- Only a hash of the session token is stored: a leaked database is not a login.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    device_id  TEXT REFERENCES devices(device_id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE facilities (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    owner_name     TEXT,
    address        TEXT,
    commune_code   TEXT REFERENCES admin_units(code),
    district_code  TEXT NOT NULL REFERENCES admin_units(code),
    industry_group TEXT NOT NULL,
    phone          TEXT,
    lat            DOUBLE PRECISION,
    lon            DOUBLE PRECISION,
    workforce      BIGINT,
    main_products  TEXT,
    search         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX facilities_district ON facilities(district_code);
CREATE INDEX facilities_search ON facilities(search);

CREATE TABLE proposals (
    id                  TEXT PRIMARY KEY,
    year                BIGINT NOT NULL,
    district_code       TEXT NOT NULL REFERENCES admin_units(code),
    facility_id         TEXT NOT NULL REFERENCES facilities(id),
    title               TEXT NOT NULL,
    support_kind        TEXT NOT NULL,
    requested_amount    BIGINT NOT NULL CHECK (requested_amount >= 0),
    status              TEXT NOT NULL DEFAULT 'registered',
    recommendation      TEXT CHECK (recommendation IN ('provincial', 'national', 'not_supported')),
    recommended_amount  BIGINT CHECK (recommended_amount >= 0),
    recommendation_note TEXT,
    search              TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX proposals_district_year ON proposals(district_code, year);
CREATE INDEX proposals_search ON proposals(search);

-- Form versions are immutable once stored: visits point at (form_id, version).
CREATE TABLE forms (
    form_id    TEXT NOT NULL,
    version    BIGINT NOT NULL,
    definition TEXT NOT NULL,
    is_current BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (form_id, version)
);

-- A visit's header. Its answers are rows of field_values (entity 'visit').
CREATE TABLE visits (
    id            TEXT PRIMARY KEY,
    form_id       TEXT NOT NULL,
    form_version  BIGINT NOT NULL,
    proposal_id   TEXT REFERENCES proposals(id),
    facility_id   TEXT REFERENCES facilities(id),
    owner_id      TEXT NOT NULL REFERENCES users(id),
    device_id     TEXT NOT NULL REFERENCES devices(device_id),
    district_code TEXT REFERENCES admin_units(code),
    unit_path     TEXT,
    review_state  TEXT NOT NULL DEFAULT 'in_progress'
        CHECK (review_state IN ('in_progress', 'submitted', 'needs_changes', 'approved', 'rejected')),
    created_at    BIGINT NOT NULL,
    received_at   BIGINT NOT NULL,
    deleted_at    BIGINT,
    FOREIGN KEY (form_id, form_version) REFERENCES forms(form_id, version)
);
CREATE INDEX visits_owner ON visits(owner_id);
CREATE INDEX visits_proposal ON visits(proposal_id);

-- Field-level last-writer-wins: each stored field keeps (version, hlc, device).
CREATE TABLE field_values (
    entity      TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    field       TEXT NOT NULL,
    value       TEXT NOT NULL,
    version     BIGINT NOT NULL,
    hlc         TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    mutation_id TEXT NOT NULL,
    PRIMARY KEY (entity, record_id, field)
);

-- Every mutation received, applied or refused, once. (device_id, seq) is unique:
-- the second line of defence behind devices.last_seq.
CREATE TABLE mutations (
    mutation_id  TEXT PRIMARY KEY,
    device_id    TEXT NOT NULL REFERENCES devices(device_id),
    seq          BIGINT NOT NULL,
    entity       TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    fields       TEXT NOT NULL,
    hlc          TEXT NOT NULL,
    original_hlc TEXT,
    base_version BIGINT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('applied', 'refused')),
    error        TEXT,
    received_at  BIGINT NOT NULL,
    UNIQUE (device_id, seq)
);

-- The loser of a concurrent edit of one field, kept for a supervisor.
CREATE TABLE conflicts (
    id                BIGSERIAL PRIMARY KEY,
    entity            TEXT NOT NULL,
    record_id         TEXT NOT NULL,
    field             TEXT NOT NULL,
    base_version      BIGINT NOT NULL,
    winner_value      TEXT NOT NULL,
    winner_hlc        TEXT NOT NULL,
    winner_device     TEXT NOT NULL,
    loser_value       TEXT NOT NULL,
    loser_hlc         TEXT NOT NULL,
    loser_device      TEXT NOT NULL,
    loser_mutation_id TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    resolved_at       BIGINT,
    resolved_by       TEXT REFERENCES users(id)
);
CREATE INDEX conflicts_record ON conflicts(entity, record_id);

-- The pull cursor. Every write appends the record's (entity, id) with the scope
-- a pager filters on: unit_path for unit-scoped data, owner_id for own visits,
-- neither for data everyone receives (units, forms).
CREATE TABLE change_log (
    seq        BIGSERIAL PRIMARY KEY,
    entity     TEXT NOT NULL,
    record_id  TEXT NOT NULL,
    unit_path  TEXT,
    owner_id   TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX change_log_record ON change_log(entity, record_id);

CREATE TABLE audit_log (
    id        BIGSERIAL PRIMARY KEY,
    at        BIGINT NOT NULL,
    user_id   TEXT,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    record_id TEXT NOT NULL,
    detail    TEXT NOT NULL
);
CREATE INDEX audit_log_record ON audit_log(entity, record_id);
