-- 0013: the keys of a contest's detail records: the person's statement
-- (shown to the reviewer who resolves it) and the resolution's rationale
-- (shown to the person). Erased with their retention like any detail.
ALTER TABLE contests ADD COLUMN statement_ms INTEGER;
ALTER TABLE contests ADD COLUMN statement TEXT;
ALTER TABLE contests ADD COLUMN resolution_ms INTEGER;
ALTER TABLE contests ADD COLUMN resolution TEXT;
