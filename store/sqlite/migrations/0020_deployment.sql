-- 0020: the deployment a shared store belongs to: its log's origin and
-- verifier key, and where its log is, so that a gateway given this store
-- with another log, or another deployment's keys, does not start.
CREATE TABLE deployment (
	id        INTEGER PRIMARY KEY CHECK (id = 0),
	origin    TEXT NOT NULL,
	log_key   TEXT NOT NULL,              -- the log's note verifier key
	log_place TEXT NOT NULL               -- "files", or the shared log's server and database
);
