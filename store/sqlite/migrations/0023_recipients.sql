-- 0023: the registry of recipients: bodies outside the deployment that
-- exports may go to. The name is private; the log names a recipient by a
-- keyed pseudonym of its id, its category and its jurisdiction.
CREATE TABLE recipients (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE,
	category      TEXT NOT NULL,
	jurisdiction  TEXT NOT NULL,
	age_key       TEXT NOT NULL UNIQUE,
	registered    INTEGER NOT NULL, -- Unix ms
	registered_by TEXT NOT NULL,
	log_index     INTEGER NOT NULL,
	retired       INTEGER,          -- Unix ms
	retire_index  INTEGER,
	pending       INTEGER NOT NULL DEFAULT 0
);
