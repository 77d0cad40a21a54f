-- 0014: an erasure also clears the ingest's source, which is free text
-- about where the record came from; this clears it for the objects
-- erased before that.
UPDATE objects SET source = '' WHERE erased_at IS NOT NULL;
