-- 0001: principals and private detail records.
CREATE TABLE principals (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	roles      TEXT NOT NULL,            -- comma-separated role names
	token_hash BLOB NOT NULL,            -- SHA-256 of the token secret; never the token
	created    TEXT NOT NULL,            -- RFC 3339, UTC
	disabled   INTEGER NOT NULL DEFAULT 0
);

-- A detail is private (invariant I4, docs/INVARIANTS.md). Every decision writes one, so details are
-- stored packed: one row holds up to 1024 records written together, sorted
-- by entry time and spanning at most one second. A row per detail costs
-- several times more CPU than the log append it accompanies
-- (docs/PERFORMANCE.md). Erasure rewrites the row without the record's salt
-- and body; secure_delete zeroes the freed space.
CREATE TABLE detail_batches (
	id    INTEGER PRIMARY KEY,
	t_min INTEGER NOT NULL,              -- earliest entry time, Unix ms
	t_max INTEGER NOT NULL,              -- latest entry time, Unix ms
	n     INTEGER NOT NULL,              -- records in data
	data  BLOB NOT NULL                  -- packed records, see details.go
);
CREATE INDEX detail_batches_t ON detail_batches (t_min, t_max);
