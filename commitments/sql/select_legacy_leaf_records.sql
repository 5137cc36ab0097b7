-- The legacy leaf inputs of ranges of several streams, one row per range (in the arrays' order),
-- each packed into one bytea in sequence order: per event U32(len(tail)) || tail, tail =
-- U64(sequence_number) || payload_hash || STR(entity_type) || STR(entity_id) with STR(s) =
-- U32(octet length) || UTF-8 bytes: the tail of its STATESET_COMMITMENT_LEAF_V1 preimage
-- (ves.leaf_records hashes them and checks every sequence number, see
-- select_ves_leaf_records.sql for the sorted subquery).
-- Index: per range the events primary key range scan, one partition. Locks: none.
SELECT (SELECT coalesce(string_agg(int4send(octet_length(tail)) || tail, ''::bytea), ''::bytea)
        FROM (
            SELECT int8send(e.sequence_number) || e.payload_hash
                   || int4send(octet_length(convert_to(e.entity_type, 'UTF8'))) || convert_to(e.entity_type, 'UTF8')
                   || int4send(octet_length(convert_to(e.entity_id, 'UTF8'))) || convert_to(e.entity_id, 'UTF8') AS tail
            FROM events e
            WHERE e.tenant_id = r.tenant_id AND e.store_id = r.store_id
              AND e.sequence_number BETWEEN r.sequence_start AND r.sequence_end
            ORDER BY e.sequence_number
        ) AS records)
FROM unnest(%(tenant_ids)b::uuid[], %(store_ids)b::uuid[], %(sequence_starts)b::bigint[],
            %(sequence_ends)b::bigint[]) WITH ORDINALITY AS r(tenant_id, store_id, sequence_start, sequence_end, position)
ORDER BY r.position
