-- Take, without waiting, the session-level drain locks of several streams
-- (pg_try_advisory_lock(PERIODIC_JOB, job_lock_key('commitments.stream_commit:<tenant>:<store>:<kind>')),
-- commitments/services/sealing.py): the one automatic sealer of each stream that seals range after
-- range. Returns the keys taken; a key held by another session (a stream_commit task draining that
-- stream) is left out. Held until unlock_commitment_drains.sql or the session's end, across
-- transactions. Locks: the advisory locks only.
SELECT k.key
FROM unnest(%(keys)b::integer[]) AS k(key)
WHERE pg_try_advisory_lock(%(namespace)s, k.key)
