-- The VES leaf inputs of a range packed into one bytea, in sequence order: per event the 104-byte
-- record U64(sequence_number) || event_signing_hash || agent_signature, which is the tail of its
-- VES_LEAF_V1 preimage (ves.leaf_records hashes them). One value crosses the wire instead of
-- 10,000 rows. The sorted subquery feeds string_agg in index order (PostgreSQL 15 would sort again
-- for an ORDER BY inside the aggregate); ves.leaf_records checks every record's sequence number,
-- so an out-of-order or missing event can never yield a wrong leaf, only a short count.
-- Index: ves_events primary key range scan, one partition. Locks: none. Rows: 1.
SELECT coalesce(string_agg(record, ''::bytea), ''::bytea)
FROM (
    SELECT int8send(sequence_number) || event_signing_hash || agent_signature AS record
    FROM ves_events
    WHERE tenant_id = %(tenant_id)s AND store_id = %(store_id)s
      AND sequence_number BETWEEN %(sequence_start)s AND %(sequence_end)s
    ORDER BY sequence_number
) AS records
