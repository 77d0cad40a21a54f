-- 0024: the SHA-256 of an object's plaintext, sealed under the object's
-- own key (keys.SealDigest), so that only whoever can unwrap the key reads
-- it, and an erasure, which destroys the key, clears it too. NULL for the
-- objects stored before it. An export names each object's digest.
ALTER TABLE objects ADD COLUMN plain_digest BYTEA;
