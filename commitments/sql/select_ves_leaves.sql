-- The VES_LEAF_V1 leaves of a range, hashed in the database and packed into one bytea (32 bytes a
-- leaf, in sequence order) with the number of events found: one row crosses the wire instead of
-- 10,000, and no Python loop touches the inputs. The preimage is ves.merkle.leaf_hash's (147
-- bytes, docs/proofs.md §1); uuid_send and int8send give the UUID bytes and the big-endian U64.
-- tests/commitments/test_leaf_hashes_sql.py checks it against ves.merkle for arbitrary inputs.
-- Index: ves_events primary key range scan, one partition. Locks: none. Rows: 1.
SELECT count(*), coalesce(string_agg(leaf, ''::bytea ORDER BY sequence_number), ''::bytea)
FROM (
    SELECT sequence_number,
           sha256('VES_LEAF_V1'::bytea || uuid_send(tenant_id) || uuid_send(store_id) || int8send(sequence_number)
                  || event_signing_hash || agent_signature) AS leaf
    FROM ves_events
    WHERE tenant_id = %(tenant_id)s AND store_id = %(store_id)s
      AND sequence_number BETWEEN %(sequence_start)s AND %(sequence_end)s
) AS leaves
