-- 0028: at most one proposal of an operation on one target (an object, a
-- principal, a system), or of a change of the deployment's one policy,
-- key or quorum, is open at a time, so that an approved proposal cannot
-- be left over to carry out, alone, a later change of the same thing.
-- Proposals of a new issuer, system or recipient are not limited.
CREATE UNIQUE INDEX proposals_open_target ON proposals (operation, target)
	WHERE (target <> '' OR operation IN ('policy.reload', 'key.rotate', 'quorum.set'))
	AND state IN ('open', 'executing', 'closing');

-- A privileged change in flight names its operation, so that a change of
-- the quorum waits for it, and it for a change of the quorum: each is
-- logged under the quorum that decided it.
ALTER TABLE changes ADD COLUMN privileged TEXT NOT NULL DEFAULT '';
