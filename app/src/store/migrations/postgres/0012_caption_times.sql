-- When each photo's caption was written: the stamp of the change that set it.
-- A caption is last-writer-wins by stamp, like an answer, so two phones of one
-- inspector agree on it, and a restored server's recovery compares the times.
-- NULL for captions written before this column: those keep the old rules.
ALTER TABLE photos ADD COLUMN caption_hlc TEXT;
