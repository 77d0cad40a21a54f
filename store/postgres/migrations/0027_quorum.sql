-- 0027: multi-party approval. The quorum in force is the latest row of
-- quorum_settings (none: the set-up mode of a new deployment). A proposal
-- is reserved as a pending row and published when its entry is logged;
-- its votes are recorded as they are logged. A privileged change made on a
-- proposal names it (changes.proposal): its reservation takes the
-- proposal (state executing), checked open, unexpired and approved by the
-- quorum, its commit marks it executed, its undo gives it back.
CREATE TABLE quorum_settings (
	version   BIGINT PRIMARY KEY,
	enabled   BIGINT NOT NULL,
	required  TEXT NOT NULL,    -- JSON: operation → admins
	set_at    BIGINT NOT NULL,      -- Unix ms
	log_index BIGINT NOT NULL
);
CREATE TABLE proposals (
	id            TEXT PRIMARY KEY,
	operation     TEXT NOT NULL,
	target        TEXT NOT NULL,
	params        BYTEA NOT NULL,  -- JSON: the direct request's body
	params_sha256 TEXT NOT NULL,
	proposer      TEXT NOT NULL,
	created       BIGINT NOT NULL,  -- Unix ms
	expires       BIGINT NOT NULL,  -- Unix ms
	state         TEXT NOT NULL, -- open, executing, executed, refused, expired
	log_index     BIGINT NOT NULL,
	exec_index    BIGINT,
	pending       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX proposals_state ON proposals (state, created);
CREATE TABLE proposal_votes (
	proposal_id TEXT NOT NULL REFERENCES proposals (id),
	admin       TEXT NOT NULL,
	approve     BIGINT NOT NULL,
	at          BIGINT NOT NULL,    -- Unix ms
	log_index   BIGINT NOT NULL,
	PRIMARY KEY (proposal_id, admin)
);
ALTER TABLE changes ADD COLUMN proposal TEXT;
