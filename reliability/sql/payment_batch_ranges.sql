-- x402 batches of one tenant in order (ranges must tile the sequenced intents exactly once).
-- Index: x402_batches_stream. Locks: none. Rows: one per batch.
SELECT store_id::text, sequence_start, sequence_end, payment_count
FROM x402_payment_batches
WHERE tenant_id = %(tenant_id)s
ORDER BY store_id, sequence_start
