-- 0002: stored objects. Bytes live encrypted in the blob store; the data
-- key lives here only wrapped by the KEK. NULL wrapped_keyset = shredded.
CREATE TABLE objects (
	id             TEXT PRIMARY KEY,
	class          TEXT NOT NULL,
	subjects       TEXT NOT NULL,        -- comma-separated keyed pseudonyms
	source         TEXT NOT NULL,
	region         TEXT NOT NULL,
	collected_at   INTEGER NOT NULL,     -- Unix ms
	created        INTEGER NOT NULL,     -- Unix ms
	retain_until   INTEGER NOT NULL,     -- Unix ms
	size           INTEGER NOT NULL,
	cipher_size    INTEGER NOT NULL,
	cipher_sha256  BLOB NOT NULL,
	wrapped_keyset BLOB,                 -- NULL once shredded
	kek_version    INTEGER NOT NULL,
	ingest_index   INTEGER,              -- NULL until the ingest entry is logged
	hold_reason    TEXT,
	hold_auth      TEXT,
	hold_since     INTEGER,
	hold_by        TEXT,
	erased_reason  TEXT,
	erased_at      INTEGER,
	erase_index    INTEGER
);
CREATE INDEX objects_retain ON objects (retain_until) WHERE erased_at IS NULL;
CREATE INDEX objects_kek ON objects (kek_version) WHERE wrapped_keyset IS NOT NULL;
