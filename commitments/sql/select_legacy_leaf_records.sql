-- The legacy leaf inputs of a range packed into one bytea, in sequence order: per event
-- U32(len(tail)) || tail, tail = U64(sequence_number) || payload_hash || STR(entity_type) ||
-- STR(entity_id) with STR(s) = U32(octet length) || UTF-8 bytes: the tail of its
-- STATESET_COMMITMENT_LEAF_V1 preimage (ves.leaf_records hashes them and checks every sequence
-- number, see select_ves_leaf_records.sql for the sorted subquery).
-- Index: events primary key range scan, one partition. Locks: none. Rows: 1.
SELECT coalesce(string_agg(int4send(octet_length(tail)) || tail, ''::bytea), ''::bytea)
FROM (
    SELECT int8send(sequence_number) || payload_hash
           || int4send(octet_length(convert_to(entity_type, 'UTF8'))) || convert_to(entity_type, 'UTF8')
           || int4send(octet_length(convert_to(entity_id, 'UTF8'))) || convert_to(entity_id, 'UTF8') AS tail
    FROM events
    WHERE tenant_id = %(tenant_id)s AND store_id = %(store_id)s
      AND sequence_number BETWEEN %(sequence_start)s AND %(sequence_end)s
    ORDER BY sequence_number
) AS records
