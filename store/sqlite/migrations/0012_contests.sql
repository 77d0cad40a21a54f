-- 0012: the candidates' reference images a flag names as evidence, the
-- lookup of an action by its notice code's hash, and contests: one per
-- action, filed by the person affected and resolved by a reviewer.
ALTER TABLE flags ADD COLUMN refs TEXT NOT NULL DEFAULT '';  -- object ids, comma-separated
CREATE INDEX actions_notice ON actions (notice_hash) WHERE notice_hash IS NOT NULL;
CREATE INDEX reviews_reviewer ON reviews (reviewer);

CREATE TABLE contests (
	id            TEXT PRIMARY KEY,
	action_id     TEXT NOT NULL UNIQUE REFERENCES actions (id),
	filed         INTEGER NOT NULL,
	log_index     INTEGER NOT NULL,
	pending       INTEGER NOT NULL DEFAULT 0,
	outcome       TEXT,                   -- NULL while open
	resolved      INTEGER,
	resolved_by   TEXT,
	resolve_index INTEGER
);
CREATE INDEX contests_open ON contests (filed) WHERE outcome IS NULL;
