-- 0025: exports, each with its object list in the package's order. An
-- export's row is reserved with the one use of its authorization, and
-- published when its export entry is logged. The list names, for each
-- object, the exports that carried it: the recipients an erasure owes a
-- notice.
CREATE TABLE exports (
	id               TEXT PRIMARY KEY,
	recipient_id     TEXT NOT NULL REFERENCES recipients (id),
	authorization_id TEXT NOT NULL,
	principal        TEXT NOT NULL,
	purpose          TEXT NOT NULL,
	objects          BIGINT NOT NULL,
	created          BIGINT NOT NULL, -- Unix ms
	log_index        BIGINT NOT NULL,
	pending          BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE export_objects (
	export_id TEXT NOT NULL REFERENCES exports (id),
	position  BIGINT NOT NULL,
	object_id TEXT NOT NULL,
	PRIMARY KEY (export_id, position)
);
CREATE INDEX export_objects_object ON export_objects (object_id);
