-- A survey round: the year's unit tree and the form version phones start its
-- visits on. Phones hold proposals of open years only; a closed year's visits
-- stay, read-only. Years that already have proposals open as they were, on
-- their proposals' tree and the current form.
CREATE TABLE survey_years (
    year         INTEGER PRIMARY KEY,
    unit_tree    TEXT NOT NULL REFERENCES unit_trees(name),
    form_id      TEXT NOT NULL,
    form_version INTEGER NOT NULL,
    is_open      INTEGER NOT NULL DEFAULT 1 CHECK (is_open IN (0, 1)),
    opened_by    TEXT REFERENCES users(id),
    opened_at    BIGINT NOT NULL,
    closed_at    BIGINT,
    FOREIGN KEY (form_id, form_version) REFERENCES forms(form_id, version)
);
INSERT INTO survey_years (year, unit_tree, form_id, form_version, is_open, opened_at)
    SELECT p.year, MIN(p.unit_tree),
        (SELECT f.form_id FROM forms f WHERE f.is_current = 1 ORDER BY f.form_id LIMIT 1),
        (SELECT f.version FROM forms f WHERE f.is_current = 1 ORDER BY f.form_id LIMIT 1),
        1, 0
    FROM proposals p GROUP BY p.year;
