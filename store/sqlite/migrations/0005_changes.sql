-- 0005: the one pattern of every state change (docs/ARCHITECTURE.md):
-- check, reserve, log, commit. A change is reserved here, atomically with
-- its preconditions, before its entry is logged; only one change per target
-- is in flight (UNIQUE target), so a conflicting change cannot pass its own
-- checks. Recovery commits or undoes what a crash left here, by looking
-- for the entry's leaf hash in the log from from_size on.
CREATE TABLE changes (
	token     TEXT PRIMARY KEY,
	op        TEXT NOT NULL,
	target    TEXT NOT NULL UNIQUE,
	leaf      BLOB NOT NULL,           -- SHA-256 of the entry
	from_size INTEGER NOT NULL,        -- log size before the append
	created   INTEGER NOT NULL,        -- Unix ms
	payload   BLOB                     -- JSON; private
);
CREATE INDEX changes_created ON changes (created);

-- Registrations are reserved as rows no reader sees until committed: the
-- row takes the name or id, so a second registration is refused before it
-- logs anything.
ALTER TABLE principals ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE principals ADD COLUMN log_index INTEGER;
-- The breach entry that suspended this principal's emergency access.
ALTER TABLE principals ADD COLUMN emergency_suspended INTEGER;
ALTER TABLE issuers ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE authorizations ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;

-- The detail record of the object's ingest entry, erased with the object.
ALTER TABLE objects ADD COLUMN ingest_detail_ms INTEGER;
ALTER TABLE objects ADD COLUMN ingest_detail TEXT;

-- The attestation entry in which the controller recorded the deletion of
-- data derived from an uncovered emergency read.
ALTER TABLE emergencies ADD COLUMN attest_index INTEGER;
