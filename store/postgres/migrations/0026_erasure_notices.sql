-- 0026: erasure notices. An erasure of an object that logged exports
-- carried records, in its commit, one notice owed to each of their
-- recipients; marking one sent is logged (a notice entry) and recorded
-- here with its entry.
CREATE TABLE erasure_notices (
	id           TEXT PRIMARY KEY,
	object_id    TEXT NOT NULL,
	recipient_id TEXT NOT NULL REFERENCES recipients (id),
	owed         BIGINT NOT NULL, -- Unix ms, the erasure's time
	erase_index  BIGINT NOT NULL,
	sent         BIGINT,          -- Unix ms
	sent_index   BIGINT,
	sent_by      TEXT,
	UNIQUE (object_id, recipient_id)
);
CREATE INDEX erasure_notices_recipient ON erasure_notices (recipient_id, id);
CREATE INDEX erasure_notices_owed ON erasure_notices (owed) WHERE sent IS NULL;
