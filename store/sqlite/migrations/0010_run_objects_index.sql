-- 0010: an erasure checks for runs over its object being started.
CREATE INDEX run_objects_object ON run_objects (object_id);
