-- Take the COMMITMENT_STREAM advisory locks of several streams (pg_advisory_xact_lock(namespace,
-- key), sequencer_project.db.locks), waiting for each, in the order of the keys array, which the
-- caller sorts ascending and deduplicates: two transactions whose sets overlap then wait for each
-- other but never deadlock. The aggregate consumes unnest's rows in array order. Held until
-- commit or rollback. Locks: the advisory locks only.
SELECT count(pg_advisory_xact_lock(%(namespace)s, k.key))
FROM unnest(%(keys)b::integer[]) AS k(key)
