-- The intent an idempotency key already names in a stream (read under the x402 counter lock,
-- so no concurrent submission of the same key can be in flight).
-- Index: x402_intents_idempotency_key (partial unique). Locks: none. Rows: 0 or 1.
SELECT intent_id, status, sequence_number, sequenced_at, batch_id, request_hash
FROM x402_payment_intents
WHERE tenant_id = %(tenant_id)s
  AND store_id = %(store_id)s
  AND idempotency_key = %(idempotency_key)s
