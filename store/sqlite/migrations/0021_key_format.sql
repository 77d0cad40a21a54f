-- 0021: the format of an object's key. 0: a Tink keyset, wrapped whole
-- (every object stored before this migration); 1: the bare 32-byte key,
-- wrapped by one AES-GCM under the intermediate key wrapping_key.
ALTER TABLE objects ADD COLUMN key_format INTEGER NOT NULL DEFAULT 0;
