-- A unit's identity becomes (tree, code): codes are reused across trees ("24"
-- is Bắc Giang in 2020 and Bắc Ninh in 2025). Every record naming a unit keeps
-- the tree it was made under, and paths start with the tree
-- ("bac-giang-2020/24/213/07210/") so a scope in one tree never prefix-matches
-- the other. SQLite cannot alter a foreign key, so the tables that reference
-- units are rebuilt; `Db::migrate` runs migrations with foreign keys off and
-- checks them all before it returns.

CREATE TABLE unit_trees (
    name           TEXT PRIMARY KEY,
    effective_from TEXT NOT NULL,
    effective_to   TEXT,
    loaded_at      BIGINT NOT NULL
);
INSERT INTO unit_trees (name, effective_from, effective_to, loaded_at)
    SELECT tree, MIN(effective_from), MAX(effective_to), 0 FROM admin_units GROUP BY tree;

-- Scopes and change-log paths first, while the old paths still match.
UPDATE visits SET unit_path = COALESCE(
    (SELECT a.tree || '/' || a.path FROM admin_units a WHERE a.path = visits.unit_path), unit_path)
    WHERE unit_path IS NOT NULL;
CREATE INDEX admin_units_path_0007 ON admin_units(path);
UPDATE change_log SET unit_path = COALESCE(
    (SELECT a.tree || '/' || a.path FROM admin_units a WHERE a.path = change_log.unit_path), unit_path)
    WHERE unit_path IS NOT NULL;
DROP INDEX admin_units_path_0007;

CREATE TABLE admin_units_0007 (
    tree           TEXT NOT NULL REFERENCES unit_trees(name),
    code           TEXT NOT NULL,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,
    level          TEXT NOT NULL CHECK (level IN ('province', 'district', 'commune')),
    parent_code    TEXT,
    path           TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    effective_to   TEXT,
    search         TEXT NOT NULL,
    PRIMARY KEY (tree, code),
    FOREIGN KEY (tree, parent_code) REFERENCES admin_units(tree, code)
);
INSERT INTO admin_units_0007 (tree, code, name, kind, level, parent_code, path, effective_from, effective_to, search)
    SELECT tree, code, name, kind, level, parent_code, tree || '/' || path, effective_from, effective_to, search
    FROM admin_units;
DROP TABLE admin_units;
ALTER TABLE admin_units_0007 RENAME TO admin_units;
CREATE INDEX admin_units_parent ON admin_units(tree, parent_code);
CREATE INDEX admin_units_path ON admin_units(path);
CREATE INDEX admin_units_code ON admin_units(code);

-- Old code → new code between two trees: a merger maps several old units to
-- one new, a split one old to several new.
CREATE TABLE unit_mappings (
    old_tree TEXT NOT NULL,
    old_code TEXT NOT NULL,
    new_tree TEXT NOT NULL,
    new_code TEXT NOT NULL,
    PRIMARY KEY (old_tree, old_code, new_tree, new_code),
    FOREIGN KEY (old_tree, old_code) REFERENCES admin_units(tree, code),
    FOREIGN KEY (new_tree, new_code) REFERENCES admin_units(tree, code)
);
CREATE INDEX unit_mappings_new ON unit_mappings(new_tree, new_code);

CREATE TABLE user_units_0007 (
    user_id   TEXT NOT NULL REFERENCES users(id),
    unit_tree TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    PRIMARY KEY (user_id, unit_tree, unit_code),
    FOREIGN KEY (unit_tree, unit_code) REFERENCES admin_units(tree, code)
);
INSERT INTO user_units_0007 (user_id, unit_tree, unit_code)
    SELECT uu.user_id, a.tree, uu.unit_code FROM user_units uu JOIN admin_units a ON a.code = uu.unit_code;
DROP TABLE user_units;
ALTER TABLE user_units_0007 RENAME TO user_units;

-- The unit paths each account sees: its units' own, and those the mappings
-- join to them in the other trees. Kept by the store whenever assignments,
-- trees or mappings change, so pull filters with one indexed lookup.
CREATE TABLE user_scope (
    user_id TEXT NOT NULL REFERENCES users(id),
    path    TEXT NOT NULL,
    PRIMARY KEY (user_id, path)
);
INSERT INTO user_scope (user_id, path)
    SELECT uu.user_id, a.path FROM user_units uu
    JOIN admin_units a ON a.tree = uu.unit_tree AND a.code = uu.unit_code;

CREATE TABLE facilities_0007 (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    owner_name     TEXT,
    address        TEXT,
    unit_tree      TEXT NOT NULL REFERENCES unit_trees(name),
    commune_code   TEXT,
    district_code  TEXT,
    industry_group TEXT NOT NULL,
    phone          TEXT,
    lat            REAL,
    lon            REAL,
    workforce      INTEGER,
    main_products  TEXT,
    search         TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    created_by     TEXT REFERENCES users(id),
    deleted_at     INTEGER,
    FOREIGN KEY (unit_tree, commune_code) REFERENCES admin_units(tree, code),
    FOREIGN KEY (unit_tree, district_code) REFERENCES admin_units(tree, code),
    CHECK (commune_code IS NOT NULL OR district_code IS NOT NULL)
);
INSERT INTO facilities_0007 (id, name, owner_name, address, unit_tree, commune_code, district_code, industry_group,
        phone, lat, lon, workforce, main_products, search, created_at, updated_at, created_by, deleted_at)
    SELECT f.id, f.name, f.owner_name, f.address, a.tree, f.commune_code, f.district_code, f.industry_group,
        f.phone, f.lat, f.lon, f.workforce, f.main_products, f.search, f.created_at, f.updated_at, f.created_by, f.deleted_at
    FROM facilities f JOIN admin_units a ON a.code = f.district_code;
DROP TABLE facilities;
ALTER TABLE facilities_0007 RENAME TO facilities;
CREATE INDEX facilities_district ON facilities(unit_tree, district_code);
CREATE INDEX facilities_commune ON facilities(unit_tree, commune_code);
CREATE INDEX facilities_search ON facilities(search);

CREATE TABLE proposals_0007 (
    id                  TEXT PRIMARY KEY,
    year                INTEGER NOT NULL,
    unit_tree           TEXT NOT NULL REFERENCES unit_trees(name),
    district_code       TEXT,
    commune_code        TEXT,
    facility_id         TEXT NOT NULL REFERENCES facilities(id),
    title               TEXT NOT NULL,
    support_kind        TEXT NOT NULL,
    requested_amount    INTEGER NOT NULL CHECK (requested_amount >= 0),
    status              TEXT NOT NULL DEFAULT 'registered',
    recommendation      TEXT CHECK (recommendation IN ('provincial', 'national', 'not_supported')),
    recommended_amount  INTEGER CHECK (recommended_amount >= 0),
    recommendation_note TEXT,
    search              TEXT NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    recommended_by      TEXT REFERENCES users(id),
    recommended_at      BIGINT,
    FOREIGN KEY (unit_tree, district_code) REFERENCES admin_units(tree, code),
    FOREIGN KEY (unit_tree, commune_code) REFERENCES admin_units(tree, code),
    CHECK (commune_code IS NOT NULL OR district_code IS NOT NULL)
);
INSERT INTO proposals_0007 (id, year, unit_tree, district_code, commune_code, facility_id, title, support_kind,
        requested_amount, status, recommendation, recommended_amount, recommendation_note, search, created_at,
        updated_at, recommended_by, recommended_at)
    SELECT p.id, p.year, a.tree, p.district_code, NULL, p.facility_id, p.title, p.support_kind,
        p.requested_amount, p.status, p.recommendation, p.recommended_amount, p.recommendation_note, p.search,
        p.created_at, p.updated_at, p.recommended_by, p.recommended_at
    FROM proposals p JOIN admin_units a ON a.code = p.district_code;
DROP TABLE proposals;
ALTER TABLE proposals_0007 RENAME TO proposals;
CREATE INDEX proposals_district_year ON proposals(unit_tree, district_code, year);
CREATE INDEX proposals_commune_year ON proposals(unit_tree, commune_code, year);
CREATE INDEX proposals_search ON proposals(search);
CREATE INDEX proposals_facility ON proposals(facility_id);

CREATE TABLE visits_0007 (
    id            TEXT PRIMARY KEY,
    form_id       TEXT NOT NULL,
    form_version  INTEGER NOT NULL,
    proposal_id   TEXT REFERENCES proposals(id),
    facility_id   TEXT REFERENCES facilities(id),
    owner_id      TEXT NOT NULL REFERENCES users(id),
    device_id     TEXT NOT NULL REFERENCES devices(device_id),
    unit_tree     TEXT,
    district_code TEXT,
    unit_path     TEXT,
    review_state  TEXT NOT NULL DEFAULT 'in_progress'
        CHECK (review_state IN ('in_progress', 'submitted', 'needs_changes', 'approved', 'rejected')),
    created_at    INTEGER NOT NULL,
    received_at   INTEGER NOT NULL,
    deleted_at    INTEGER,
    submitted_at  INTEGER,
    FOREIGN KEY (form_id, form_version) REFERENCES forms(form_id, version),
    FOREIGN KEY (unit_tree, district_code) REFERENCES admin_units(tree, code)
);
INSERT INTO visits_0007 (id, form_id, form_version, proposal_id, facility_id, owner_id, device_id, unit_tree,
        district_code, unit_path, review_state, created_at, received_at, deleted_at, submitted_at)
    SELECT v.id, v.form_id, v.form_version, v.proposal_id, v.facility_id, v.owner_id, v.device_id,
        (SELECT a.tree FROM admin_units a WHERE a.code = v.district_code LIMIT 1),
        v.district_code, v.unit_path, v.review_state, v.created_at, v.received_at, v.deleted_at, v.submitted_at
    FROM visits v;
DROP TABLE visits;
ALTER TABLE visits_0007 RENAME TO visits;
CREATE INDEX visits_owner ON visits(owner_id);
CREATE INDEX visits_proposal ON visits(proposal_id);
CREATE INDEX visits_received ON visits(received_at);
CREATE INDEX visits_district ON visits(unit_tree, district_code);
CREATE INDEX visits_state ON visits(review_state);

-- Phones keyed units by bare code; each unit is sent again with its tree.
INSERT INTO change_log (entity, record_id, unit_path, owner_id, created_at)
    SELECT 'unit', tree || '/' || code, NULL, NULL, CAST(strftime('%s', 'now') AS INTEGER) * 1000 FROM admin_units ORDER BY path;
