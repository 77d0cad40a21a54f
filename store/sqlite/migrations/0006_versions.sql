-- 0006: KEK rotations and detail erasures in the one pattern. A rotation
-- is reserved only for a version above every recorded one, and an erasure
-- of a kind's details only up to a later day than the last: concurrent
-- rotations or sweeps log one entry, not one each.
CREATE TABLE kek_versions (
	version   INTEGER PRIMARY KEY,
	log_index INTEGER NOT NULL
);

CREATE TABLE detail_erasures (
	kind      TEXT PRIMARY KEY,
	before    INTEGER NOT NULL,           -- Unix ms: details of entries before it are erased
	log_index INTEGER NOT NULL
);
