-- The supervisor's console: who made a proposal's recommendation and when, the
-- province's extension budget per year, and indexes for the visit list's filters
-- and counts at tens of thousands of visits.
ALTER TABLE proposals ADD COLUMN recommended_by TEXT REFERENCES users(id);
ALTER TABLE proposals ADD COLUMN recommended_at BIGINT;

CREATE TABLE budgets (
    year       BIGINT PRIMARY KEY,
    amount     BIGINT NOT NULL CHECK (amount >= 0),
    updated_by TEXT REFERENCES users(id),
    updated_at BIGINT NOT NULL
);

CREATE INDEX visits_received ON visits(received_at);
CREATE INDEX visits_district ON visits(district_code);
CREATE INDEX visits_state ON visits(review_state);
CREATE INDEX conflicts_open ON conflicts(record_id, resolved_at);
