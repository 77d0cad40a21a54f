-- 0011: which objects of a run were read (the permit's entry), and the
-- flags runs raise. A flag is reserved (pending) until its entry is logged.
ALTER TABLE run_objects ADD COLUMN read_index INTEGER;

CREATE TABLE flags (
	id           TEXT PRIMARY KEY,
	run_id       TEXT NOT NULL REFERENCES runs (id),
	system_id    TEXT NOT NULL,
	version      TEXT NOT NULL,
	inputs       TEXT NOT NULL,           -- object ids, comma-separated
	candidates   TEXT NOT NULL,           -- keyed pseudonyms, comma-separated
	rank         INTEGER NOT NULL,
	score        REAL NOT NULL,
	threshold    REAL NOT NULL,
	reference_db TEXT NOT NULL,
	gallery_size INTEGER NOT NULL,
	matched      INTEGER NOT NULL,
	created      INTEGER NOT NULL,
	created_by   TEXT NOT NULL,
	log_index    INTEGER NOT NULL,
	pending      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX flags_run ON flags (run_id);

-- A reviewer's verdict on a flag: one per reviewer and flag.
CREATE TABLE reviews (
	flag_id   TEXT NOT NULL REFERENCES flags (id),
	reviewer  TEXT NOT NULL,
	verdict   TEXT NOT NULL,
	created   INTEGER NOT NULL,
	log_index INTEGER NOT NULL,
	pending   INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (flag_id, reviewer)
);

-- An action taken on a flag after its reviews; the notice code given to
-- the person affected is kept only as its SHA-256.
CREATE TABLE actions (
	id          TEXT PRIMARY KEY,
	flag_id     TEXT NOT NULL REFERENCES flags (id),
	kind        TEXT NOT NULL,
	notice_hash BLOB,
	reviewers   TEXT NOT NULL,             -- principal ids, comma-separated
	created     INTEGER NOT NULL,
	created_by  TEXT NOT NULL,
	log_index   INTEGER NOT NULL,
	pending     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX actions_flag ON actions (flag_id);
