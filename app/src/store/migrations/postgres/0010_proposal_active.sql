-- The office deactivates a proposal (withdrawn, registered by mistake) rather
-- than delete it: its visits and history stay, phones drop it.
ALTER TABLE proposals ADD COLUMN active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1));
