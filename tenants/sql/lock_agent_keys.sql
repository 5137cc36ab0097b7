-- The signing keys of one agent that a VES batch's accepted events name, read again inside the
-- ingest transaction (the batch checked them against the process's cache before it began) and
-- share-locked to its commit: a revocation (any update of the row: agent_key_revoke's, an
-- operator's in SQL) waits for the batches that read the key here to commit, and a batch that
-- comes after the revocation's lock waits for it and reads the key revoked. So no event signed
-- with a key is sequenced after the key's revocation committed. FOR SHARE, not FOR KEY SHARE:
-- an update that leaves the key columns alone does not wait for a key-share lock.
-- Index: agent_signing_keys primary key (tenant_id, agent_id, key_id).
-- Locks: the rows (FOR SHARE: batches share it; an update of the row waits, and is waited for).
-- Rows: at most one per requested key id.
SELECT key_id, public_key, status, valid_from, valid_to
FROM agent_signing_keys
WHERE tenant_id = %(tenant_id)s
  AND agent_id = %(agent_id)s
  AND key_id = ANY(%(key_ids)b::bigint[])
ORDER BY key_id
FOR SHARE
