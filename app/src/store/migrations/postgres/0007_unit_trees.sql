-- A unit's identity becomes (tree, code): codes are reused across trees ("24"
-- is Bắc Giang in 2020 and Bắc Ninh in 2025). Every record naming a unit keeps
-- the tree it was made under, and paths start with the tree
-- ("bac-giang-2020/24/213/07210/") so a scope in one tree never prefix-matches
-- the other. Same shape as the SQLite migration, which rebuilds the tables.

CREATE TABLE unit_trees (
    name           TEXT PRIMARY KEY,
    effective_from TEXT NOT NULL,
    effective_to   TEXT,
    loaded_at      BIGINT NOT NULL
);
INSERT INTO unit_trees (name, effective_from, effective_to, loaded_at)
    SELECT tree, MIN(effective_from), MAX(effective_to), 0 FROM admin_units GROUP BY tree;

-- Scopes and change-log paths first, while the old paths still match.
CREATE INDEX admin_units_path ON admin_units(path);
UPDATE visits SET unit_path = COALESCE(
    (SELECT a.tree || '/' || a.path FROM admin_units a WHERE a.path = visits.unit_path), unit_path)
    WHERE unit_path IS NOT NULL;
UPDATE change_log SET unit_path = COALESCE(
    (SELECT a.tree || '/' || a.path FROM admin_units a WHERE a.path = change_log.unit_path), unit_path)
    WHERE unit_path IS NOT NULL;

ALTER TABLE user_units DROP CONSTRAINT user_units_unit_code_fkey;
ALTER TABLE facilities DROP CONSTRAINT facilities_commune_code_fkey;
ALTER TABLE facilities DROP CONSTRAINT facilities_district_code_fkey;
ALTER TABLE proposals DROP CONSTRAINT proposals_district_code_fkey;
ALTER TABLE visits DROP CONSTRAINT visits_district_code_fkey;
ALTER TABLE admin_units DROP CONSTRAINT admin_units_parent_code_fkey;
ALTER TABLE admin_units DROP CONSTRAINT admin_units_pkey;

UPDATE admin_units SET path = tree || '/' || path;
ALTER TABLE admin_units ADD PRIMARY KEY (tree, code);
ALTER TABLE admin_units ADD FOREIGN KEY (tree) REFERENCES unit_trees(name);
ALTER TABLE admin_units ADD FOREIGN KEY (tree, parent_code) REFERENCES admin_units(tree, code);
DROP INDEX admin_units_parent;
CREATE INDEX admin_units_parent ON admin_units(tree, parent_code);
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

ALTER TABLE user_units ADD COLUMN unit_tree TEXT;
UPDATE user_units SET unit_tree = (SELECT a.tree FROM admin_units a WHERE a.code = user_units.unit_code LIMIT 1);
ALTER TABLE user_units ALTER COLUMN unit_tree SET NOT NULL;
ALTER TABLE user_units DROP CONSTRAINT user_units_pkey;
ALTER TABLE user_units ADD PRIMARY KEY (user_id, unit_tree, unit_code);
ALTER TABLE user_units ADD FOREIGN KEY (unit_tree, unit_code) REFERENCES admin_units(tree, code);

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

ALTER TABLE facilities ADD COLUMN unit_tree TEXT;
UPDATE facilities SET unit_tree = (SELECT a.tree FROM admin_units a WHERE a.code = facilities.district_code LIMIT 1);
ALTER TABLE facilities ALTER COLUMN unit_tree SET NOT NULL;
ALTER TABLE facilities ALTER COLUMN district_code DROP NOT NULL;
ALTER TABLE facilities ADD FOREIGN KEY (unit_tree) REFERENCES unit_trees(name);
ALTER TABLE facilities ADD FOREIGN KEY (unit_tree, commune_code) REFERENCES admin_units(tree, code);
ALTER TABLE facilities ADD FOREIGN KEY (unit_tree, district_code) REFERENCES admin_units(tree, code);
ALTER TABLE facilities ADD CHECK (commune_code IS NOT NULL OR district_code IS NOT NULL);
DROP INDEX facilities_district;
CREATE INDEX facilities_district ON facilities(unit_tree, district_code);
CREATE INDEX facilities_commune ON facilities(unit_tree, commune_code);

ALTER TABLE proposals ADD COLUMN unit_tree TEXT;
ALTER TABLE proposals ADD COLUMN commune_code TEXT;
UPDATE proposals SET unit_tree = (SELECT a.tree FROM admin_units a WHERE a.code = proposals.district_code LIMIT 1);
ALTER TABLE proposals ALTER COLUMN unit_tree SET NOT NULL;
ALTER TABLE proposals ALTER COLUMN district_code DROP NOT NULL;
ALTER TABLE proposals ADD FOREIGN KEY (unit_tree) REFERENCES unit_trees(name);
ALTER TABLE proposals ADD FOREIGN KEY (unit_tree, district_code) REFERENCES admin_units(tree, code);
ALTER TABLE proposals ADD FOREIGN KEY (unit_tree, commune_code) REFERENCES admin_units(tree, code);
ALTER TABLE proposals ADD CHECK (commune_code IS NOT NULL OR district_code IS NOT NULL);
DROP INDEX proposals_district_year;
CREATE INDEX proposals_district_year ON proposals(unit_tree, district_code, year);
CREATE INDEX proposals_commune_year ON proposals(unit_tree, commune_code, year);
CREATE INDEX proposals_facility ON proposals(facility_id);

ALTER TABLE visits ADD COLUMN unit_tree TEXT;
UPDATE visits SET unit_tree = (SELECT a.tree FROM admin_units a WHERE a.code = visits.district_code LIMIT 1);
ALTER TABLE visits ADD FOREIGN KEY (unit_tree, district_code) REFERENCES admin_units(tree, code);
DROP INDEX visits_district;
CREATE INDEX visits_district ON visits(unit_tree, district_code);

-- Phones keyed units by bare code; each unit is sent again with its tree.
INSERT INTO change_log (entity, record_id, unit_path, owner_id, created_at)
    SELECT 'unit', tree || '/' || code, NULL, NULL, CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT) FROM admin_units ORDER BY path;
