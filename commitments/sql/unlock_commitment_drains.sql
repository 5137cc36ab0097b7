-- Release session-level drain locks taken by try_lock_commitment_drains.sql (each key once per
-- time it was taken). Locks: releases the advisory locks only.
SELECT count(pg_advisory_unlock(%(namespace)s, k.key))
FROM unnest(%(keys)b::integer[]) AS k(key)
