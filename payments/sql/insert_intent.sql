-- Check that the agent holds the payer account (holding an account no agent holds yet), reserve
-- the payer's nonce, insert the intent as sequenced with the next number, and advance the x402
-- counter, all in one statement. Caller holds the counter row lock (lock_counter.sql,
-- stream_kind 3) and passes head + 1. Nothing is written anywhere when the agent does not hold
-- the account (allowed = false) or the nonce is used (nonce_rows = 0).
-- Payer accounts (ADR 0006, "Payer accounts"): the account's row is share-locked to commit (an
-- operator's grant or revoke waits for the intent, and the intent for theirs); holders = 0 when
-- another transaction held the account after this statement's snapshot: the caller reads the
-- holders again (select_payer_account.sql) and, when the agent is one, runs this again.
-- The nonce is reserved under the payer's account (payer_key: payments/addresses.py) in the
-- tenant, whichever store (the pkey is (tenant_id, payer_address, nonce): migration 0006); the
-- intent keeps the address as submitted (it is what the client signed).
-- Index: x402_payer_accounts pkey, x402_nonce_tracking pkey, sequence_counters pkey.
-- Locks: the account row (shared), inserted rows, counter row.
-- Rows: exactly 1: (holders, allowed, nonce_rows, intent_rows, counter_rows).
WITH held AS (
    SELECT agent_ids
    FROM x402_payer_accounts
    WHERE tenant_id = %(tenant_id)s
      AND payer_account = %(payer_key)s
    FOR SHARE
), claimed AS (
    INSERT INTO x402_payer_accounts (tenant_id, payer_account, agent_ids, bound_at, bound_by, updated_at)
    SELECT %(tenant_id)s, %(payer_key)s, ARRAY[%(source_agent_id)s::uuid], %(now)s, %(bound_by)s, %(now)s
    WHERE NOT EXISTS (SELECT 1 FROM held)
    ON CONFLICT DO NOTHING
    RETURNING agent_ids
), holders AS (
    SELECT agent_ids FROM held
    UNION ALL
    SELECT agent_ids FROM claimed
), allowed AS (
    SELECT 1 FROM holders WHERE %(source_agent_id)s::uuid = ANY (agent_ids)
), nonce AS (
    INSERT INTO x402_nonce_tracking (tenant_id, store_id, payer_address, nonce, intent_id, created_at)
    SELECT %(tenant_id)s, %(store_id)s, %(payer_key)s, %(nonce)s, %(intent_id)s, %(now)s
    WHERE EXISTS (SELECT 1 FROM allowed)
    ON CONFLICT DO NOTHING
    RETURNING intent_id
), intent AS (
    INSERT INTO x402_payment_intents (
        intent_id, x402_version, status, tenant_id, store_id, source_agent_id, agent_key_id,
        payer_address, payee_address, amount, asset, network, chain_id, token_address,
        created_at_unix, valid_until, nonce, idempotency_key, request_hash, resource_uri,
        description, order_id, merchant_id, signing_hash, payer_signature, payer_public_key,
        sequence_number, sequenced_at, batch_id, metadata, created_at, updated_at
    )
    SELECT
        nonce.intent_id, 1, 'sequenced', %(tenant_id)s, %(store_id)s, %(source_agent_id)s,
        %(agent_key_id)s, %(payer_address)s, %(payee_address)s, %(amount)s, %(asset)s, %(network)s,
        %(chain_id)s, %(token_address)s, %(created_at_unix)s, %(valid_until)s, %(nonce)s,
        %(idempotency_key)s, %(request_hash)s, %(resource_uri)s, %(description)s, %(order_id)s,
        %(merchant_id)s, %(signing_hash)s, %(payer_signature)s, %(payer_public_key)s,
        %(sequence_number)s, %(now)s, NULL, %(metadata)s::jsonb, %(now)s, %(now)s
    FROM nonce
    RETURNING intent_id
), counter AS (
    UPDATE sequence_counters
    SET current_sequence = %(sequence_number)s, updated_at = %(now)s
    WHERE tenant_id = %(tenant_id)s
      AND store_id = %(store_id)s
      AND stream_kind = %(stream_kind)s
      AND EXISTS (SELECT 1 FROM intent)
    RETURNING 1
)
SELECT
    (SELECT count(*) FROM holders),
    EXISTS (SELECT 1 FROM allowed),
    (SELECT count(*) FROM nonce),
    (SELECT count(*) FROM intent),
    (SELECT count(*) FROM counter)
