-- 0009: analytic runs and their object lists. A run is reserved (pending)
-- until its start entry is logged; its list is stored with it, in order.
CREATE TABLE runs (
	id             TEXT PRIMARY KEY,
	system_id      TEXT NOT NULL REFERENCES analytic_systems (id),
	version        TEXT NOT NULL,
	purpose        TEXT NOT NULL,
	authorization  TEXT,
	principal      TEXT NOT NULL,
	objects        INTEGER NOT NULL,
	classes        TEXT NOT NULL,           -- codes, comma-separated
	started        INTEGER NOT NULL,
	deadline       INTEGER NOT NULL,
	log_index      INTEGER NOT NULL,
	closed         INTEGER,
	close_index    INTEGER,
	close_reason   TEXT,
	read_objects   INTEGER NOT NULL DEFAULT 0,
	read_bytes     INTEGER NOT NULL DEFAULT 0,
	pending        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_system ON runs (system_id, started);
CREATE INDEX runs_open ON runs (deadline) WHERE closed IS NULL;

CREATE TABLE run_objects (
	run_id    TEXT NOT NULL REFERENCES runs (id),
	position  INTEGER NOT NULL,
	object_id TEXT NOT NULL,
	PRIMARY KEY (run_id, position)
) WITHOUT ROWID;
