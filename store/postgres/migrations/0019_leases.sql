-- 0019: leases of background work (the sweep), so that it runs on one
-- gateway of a deployment at a time.
CREATE TABLE leases (
	name    TEXT PRIMARY KEY,
	holder  TEXT NOT NULL,                -- a gateway's random instance id
	expires BIGINT NOT NULL              -- Unix ms
);
