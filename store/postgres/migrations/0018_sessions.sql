-- 0018: the reviewer pages' sessions and the public pages' rate windows,
-- kept in the store so that every gateway sees them alike. A session's id
-- is kept only as its SHA-256; a client address only as its SHA-256.
CREATE TABLE sessions (
	id_hash   BYTEA PRIMARY KEY,
	principal TEXT NOT NULL,
	csrf      TEXT NOT NULL,
	created   BIGINT NOT NULL,           -- Unix ms
	expires   BIGINT NOT NULL            -- Unix ms
);
CREATE INDEX sessions_expires ON sessions (expires);
CREATE TABLE rate_windows (
	key   BYTEA PRIMARY KEY,               -- SHA-256 of the limit and the client
	start BIGINT NOT NULL,               -- Unix ms
	n     BIGINT NOT NULL
);
CREATE INDEX rate_windows_start ON rate_windows (start);
