-- 0030: the public registry of procurement contracts. Each row is one
-- release of a contract, as registered (n = 1, by an import) or amended
-- (n > 1); the latest committed one is the contract as it stands. body is
-- the release's JSON, compacted, as /contracts/export.json serves it, and
-- sha256 its hash, which its log entry holds. The other columns are what
-- the registry reads of it, for its lists and filters; lists are
-- comma-joined codes. import_id ties the rows of one import (or the one
-- of an amendment) until the change is settled.
CREATE TABLE contract_releases (
	ocid           TEXT NOT NULL,
	n              INTEGER NOT NULL,
	release_id     TEXT NOT NULL,
	body           TEXT NOT NULL,
	sha256         TEXT NOT NULL,
	title          TEXT NOT NULL,
	buyer          TEXT NOT NULL,
	vendor         TEXT NOT NULL,
	intermediaries TEXT NOT NULL,
	flags          TEXT NOT NULL,
	missing        TEXT NOT NULL,
	unexplained    TEXT NOT NULL,
	upstream       TEXT NOT NULL,
	amount         REAL NOT NULL,
	currency       TEXT NOT NULL,
	registered     INTEGER NOT NULL,
	import_id      TEXT NOT NULL,
	log_index      INTEGER NOT NULL,
	import_index   INTEGER NOT NULL,
	pending        INTEGER NOT NULL,
	PRIMARY KEY (ocid, n),
	UNIQUE (ocid, release_id)
);
CREATE INDEX contract_releases_import ON contract_releases (import_id);
