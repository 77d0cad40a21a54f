-- 0017: intermediate keys. The KEK wraps each; each wraps object keysets
-- locally, so the KMS is not called per object. An object's wrapping_key
-- names the key that wraps its keyset; NULL: the KEK wraps it (objects
-- stored before this migration), at kek_version.
CREATE TABLE intermediate_keys (
	id          TEXT PRIMARY KEY,
	kek_version INTEGER NOT NULL,
	wrapped     BLOB NOT NULL,
	created     INTEGER NOT NULL,         -- Unix ms
	log_index   INTEGER NOT NULL,
	pending     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX intermediate_keys_kek ON intermediate_keys (kek_version);
ALTER TABLE objects ADD COLUMN wrapping_key TEXT REFERENCES intermediate_keys (id);
