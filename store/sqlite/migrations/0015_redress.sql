-- 0015: what redress needs. A contest's due time (its filing's time and
-- the deployment's contest deadline, both public in the filing entry), and
-- reviewers' logged viewings of a flag's evidence: a confirmation needs a
-- viewing of every input. An action is withdrawn when a contest of it is
-- overturned: that is read from contests, not stored twice.
ALTER TABLE contests ADD COLUMN due INTEGER;

CREATE TABLE evidence_views (
	flag_id   TEXT NOT NULL,
	reviewer  TEXT NOT NULL,
	object_id TEXT NOT NULL,
	log_index INTEGER NOT NULL,           -- the viewing's permit
	PRIMARY KEY (flag_id, reviewer, object_id)
);
CREATE INDEX actions_by ON actions (created_by, created);
