-- The VES leaf inputs of ranges of several streams, one row per range (in the arrays' order),
-- each packed into one bytea in sequence order: per event the 104-byte record
-- U64(sequence_number) || event_signing_hash || agent_signature, which is the tail of its
-- VES_LEAF_V1 preimage (ves.leaf_records hashes them). One value a range crosses the wire instead
-- of 10,000 rows. The sorted subquery feeds string_agg in index order (PostgreSQL 15 would sort
-- again for an ORDER BY inside the aggregate); ves.leaf_records checks every record's sequence
-- number, so an out-of-order or missing event can never yield a wrong leaf, only a short count.
-- Index: per range the ves_events primary key range scan, one partition. Locks: none.
SELECT (SELECT coalesce(string_agg(record, ''::bytea), ''::bytea)
        FROM (
            SELECT int8send(e.sequence_number) || e.event_signing_hash || e.agent_signature AS record
            FROM ves_events e
            WHERE e.tenant_id = r.tenant_id AND e.store_id = r.store_id
              AND e.sequence_number BETWEEN r.sequence_start AND r.sequence_end
            ORDER BY e.sequence_number
        ) AS records)
FROM unnest(%(tenant_ids)b::uuid[], %(store_ids)b::uuid[], %(sequence_starts)b::bigint[],
            %(sequence_ends)b::bigint[]) WITH ORDINALITY AS r(tenant_id, store_id, sequence_start, sequence_end, position)
ORDER BY r.position
