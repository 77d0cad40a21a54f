-- 0022: uses in flight. A read's use of an authorization is committed
-- before its permit is logged; until the permit is, the use is recorded
-- here, with a lower bound of the index its entry will have. A crash in
-- between leaves the row: recovery looks for the permit in the log from
-- log_from on, and keeps the use if it is there or gives it back if not,
-- so that no use is spent without its logged decision.
CREATE TABLE uses_in_flight (
	authorization_id TEXT NOT NULL,
	use_number       INTEGER NOT NULL,
	log_from         INTEGER NOT NULL,
	created          INTEGER NOT NULL, -- Unix ms
	PRIMARY KEY (authorization_id, use_number)
);
CREATE INDEX uses_in_flight_created ON uses_in_flight (created);
