-- x402 intents of one tenant: number, status and batch (every sequenced intent must get a batch).
-- Index: x402_intents_stream_created. Locks: none. Rows: one per intent.
SELECT intent_id::text, store_id::text, sequence_number, status, batch_id::text
FROM x402_payment_intents
WHERE tenant_id = %(tenant_id)s
ORDER BY store_id, sequence_number
