-- 0029: the whistleblower intake. A tip is found by the slow hash of its
-- codename (lookup), never by the codename, and holds no time of day:
-- every day is a date (YYYY-MM-DD, UTC), and no row says when it was
-- written. Its messages are sealed with age before they reach the store:
-- the source's to the oversight body's keys, the oversight body's to the
-- key only the codename opens (reply_key).
CREATE TABLE tips (
	id           TEXT PRIMARY KEY,
	lookup       BYTEA NOT NULL UNIQUE,
	reply_key    TEXT NOT NULL,
	commitment   TEXT NOT NULL UNIQUE, -- its first submission's
	filed        TEXT NOT NULL         -- the day; when it was acknowledged and
	                                   -- answered, its messages say
);
CREATE INDEX tips_filed ON tips (filed, id);

-- A tip's messages in order: the source's submissions (filed,
-- followed_up), logged in the day's batch (logged_index NULL until then),
-- and the oversight body's (acknowledged, answered, replied), logged at
-- once, with the principal who sent it.
CREATE TABLE tip_messages (
	tip_id       TEXT NOT NULL REFERENCES tips (id),
	n            BIGINT NOT NULL,
	op           TEXT NOT NULL,
	day          TEXT NOT NULL,
	commitment   TEXT NOT NULL UNIQUE,
	size         BIGINT NOT NULL,
	sealed       BYTEA NOT NULL,
	logged_index BIGINT,
	sent_by      TEXT,
	PRIMARY KEY (tip_id, n)
);
CREATE INDEX tip_messages_unlogged ON tip_messages (day) WHERE logged_index IS NULL;

-- The moment of each day's batch, drawn once by whichever gateway asks
-- first, so that every gateway of the deployment keeps the same one.
CREATE TABLE tip_batches (
	day TEXT PRIMARY KEY,
	due BIGINT NOT NULL -- Unix ms
);
