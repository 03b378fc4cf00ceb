-- The registry intake matches facilities by tax code and updates proposals by
-- the external reference district offices give them (one per year).
ALTER TABLE facilities ADD COLUMN tax_code TEXT;
CREATE INDEX facilities_tax_code ON facilities(tax_code);
ALTER TABLE proposals ADD COLUMN external_ref TEXT;
CREATE UNIQUE INDEX proposals_external_ref ON proposals(year, external_ref) WHERE external_ref IS NOT NULL;
