-- 0004: emergency reads (docs/AUTHORIZATION.md). Each must be covered by an
-- authorization registered before its deadline; otherwise the objects read
-- are erased and a breach entry is logged.
CREATE TABLE emergencies (
	log_index    INTEGER PRIMARY KEY,     -- the access entry of the read
	object_id    TEXT NOT NULL,
	principal    TEXT NOT NULL,
	purpose      TEXT NOT NULL,
	reason       TEXT NOT NULL,
	at           INTEGER NOT NULL,
	deadline     INTEGER NOT NULL,
	covered_by   TEXT,                    -- authorization id
	breach_index INTEGER                  -- the breach entry, if uncovered
);
CREATE INDEX emergencies_open ON emergencies (deadline) WHERE covered_by IS NULL AND breach_index IS NULL;
