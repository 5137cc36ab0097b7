-- The agents that may pay from a payer account in a tenant, share-locked to commit; an account
-- no agent holds yet is held for this intent's agent (ADR 0006, "Payer accounts"). Runs in the
-- intent's transaction before insert_intent.sql: a refused intent rolls a new row back too.
-- payer_key is payments.addresses.address_key of the payer address.
-- Index: x402_payer_accounts pkey (tenant_id, payer_account).
-- Locks: the account row, FOR SHARE (an operator's grant or revoke waits for the intent's
-- commit, and the intent for theirs); a new row until commit.
-- Rows: 1 (agent_ids), or 0 when another transaction held the account after this statement's
-- snapshot was taken (select_payer_account.sql reads it then).
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
)
SELECT agent_ids FROM held
UNION ALL
SELECT agent_ids FROM claimed
