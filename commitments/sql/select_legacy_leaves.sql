-- The STATESET_COMMITMENT_LEAF_V1 leaves of a range, hashed in the database and packed into one
-- bytea (32 bytes a leaf, in sequence order) with the number of events found. The preimage is
-- ves.legacy_merkle.leaf_hash's (docs/proofs.md §2): STR(s) = U32(octet length) || UTF-8 bytes.
-- tests/commitments/test_leaf_hashes_sql.py checks it against ves.legacy_merkle for arbitrary
-- inputs. Index: events primary key range scan, one partition. Locks: none. Rows: 1.
SELECT count(*), coalesce(string_agg(leaf, ''::bytea ORDER BY sequence_number), ''::bytea)
FROM (
    SELECT sequence_number,
           sha256('STATESET_COMMITMENT_LEAF_V1'::bytea || uuid_send(tenant_id) || uuid_send(store_id)
                  || int8send(sequence_number) || payload_hash
                  || int4send(octet_length(convert_to(entity_type, 'UTF8'))) || convert_to(entity_type, 'UTF8')
                  || int4send(octet_length(convert_to(entity_id, 'UTF8'))) || convert_to(entity_id, 'UTF8')) AS leaf
    FROM events
    WHERE tenant_id = %(tenant_id)s AND store_id = %(store_id)s
      AND sequence_number BETWEEN %(sequence_start)s AND %(sequence_end)s
) AS leaves
