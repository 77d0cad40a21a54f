-- 0001: principals and private detail records.
CREATE TABLE principals (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	roles      TEXT NOT NULL,            -- comma-separated role names
	token_hash BLOB NOT NULL,            -- SHA-256 of the token secret; never the token
	created    TEXT NOT NULL,            -- RFC 3339, UTC
	disabled   INTEGER NOT NULL DEFAULT 0
);

-- A detail is private (BRIEF I4). Erasure nulls salt and body and keeps the
-- commitment, so the log entry stays verifiable and the erasure is visible.
CREATE TABLE details (
	commitment TEXT PRIMARY KEY,
	salt       BLOB,
	body       BLOB,
	erased     TEXT                      -- RFC 3339 time of erasure, or NULL
) WITHOUT ROWID;
