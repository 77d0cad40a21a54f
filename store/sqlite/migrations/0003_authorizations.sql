-- 0003: issuers and authorizations (docs/AUTHORIZATION.md). The signed note is kept
-- (it names subjects and the case, so it stays here, never in the log) so
-- that auditors can re-verify every signature.
CREATE TABLE issuers (
	name         TEXT PRIMARY KEY,
	kind         TEXT NOT NULL,
	jurisdiction TEXT NOT NULL,
	key          TEXT NOT NULL,
	registered   INTEGER NOT NULL,
	log_index    INTEGER NOT NULL
);

CREATE TABLE authorizations (
	id            TEXT PRIMARY KEY,
	issuer        TEXT NOT NULL REFERENCES issuers (name),
	note          TEXT NOT NULL,
	subjects_ps   TEXT NOT NULL,          -- keyed pseudonyms, comma-separated
	max_uses      INTEGER NOT NULL,
	uses          INTEGER NOT NULL DEFAULT 0 CHECK (uses <= max_uses),
	registered    INTEGER NOT NULL,
	log_index     INTEGER NOT NULL,
	revoked       INTEGER,
	revoke_reason TEXT,
	revoke_index  INTEGER
);

-- Every loaded policy version, with the index of its log entry.
CREATE TABLE policy_versions (
	version   INTEGER PRIMARY KEY,
	sha256    TEXT NOT NULL,
	loaded    INTEGER NOT NULL,
	log_index INTEGER NOT NULL
);
