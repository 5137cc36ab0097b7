-- The reservation that already holds a payer's nonce in a tenant, with the signed hash and the
-- signature of its intent: tells a signed payment resent to another store (payment_signature_reused) from another
-- payment reusing the nonce (nonce_already_used). Read after insert_intent.sql reserved nothing.
-- Index: x402_nonce_tracking pkey (tenant_id, payer_address, nonce), x402_payment_intents pkey.
-- Locks: none. Rows: 0 or 1 (0 when the reservation was pruned meanwhile).
SELECT n.store_id, i.signing_hash, i.payer_signature
FROM x402_nonce_tracking AS n
JOIN x402_payment_intents AS i ON i.tenant_id = n.tenant_id AND i.intent_id = n.intent_id
WHERE n.tenant_id = %(tenant_id)s
  AND n.payer_address = %(payer_key)s
  AND n.nonce = %(nonce)s
