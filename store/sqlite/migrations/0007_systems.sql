-- 0007: the public registry of analytic systems and their versions. A
-- registration is reserved (pending) until its entry is logged; a name is
-- registered once, and a version of a system once.
CREATE TABLE analytic_systems (
	id                TEXT PRIMARY KEY,
	name              TEXT NOT NULL UNIQUE,
	vendor            TEXT NOT NULL,
	task              TEXT NOT NULL,
	classes           TEXT NOT NULL,      -- codes, comma-separated
	impact_assessment TEXT NOT NULL,
	contract          TEXT NOT NULL,
	registered        INTEGER NOT NULL,
	log_index         INTEGER NOT NULL,
	pending           INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE system_versions (
	system_id    TEXT NOT NULL REFERENCES analytic_systems (id),
	version      TEXT NOT NULL,
	model        TEXT NOT NULL,
	accuracy     TEXT NOT NULL,           -- JSON of ombud.Accuracy
	registered   INTEGER NOT NULL,
	log_index    INTEGER NOT NULL,
	retired      INTEGER,
	retire_index INTEGER,
	pending      INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (system_id, version)
);
