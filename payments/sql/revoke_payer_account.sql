-- An operator takes an agent's right to pay from a payer account of a tenant (ADR 0006, "Payer
-- accounts"). The row goes with its last agent: the account's next intent holds it anew.
-- Index: x402_payer_accounts pkey. Locks: the account row (waits for intents that share-lock it).
-- Rows: 1 (agent_ids after; empty when the row went), 0 when the agent did not hold the account.
WITH kept AS (
    UPDATE x402_payer_accounts
    SET agent_ids = array_remove(agent_ids, %(agent_id)s::uuid), updated_at = %(now)s
    WHERE (tenant_id, payer_account) = (%(tenant_id)s, %(payer_key)s)
      AND %(agent_id)s::uuid = ANY (agent_ids)
      AND cardinality(agent_ids) > 1
    RETURNING agent_ids
), dropped AS (
    DELETE FROM x402_payer_accounts
    WHERE (tenant_id, payer_account) = (%(tenant_id)s, %(payer_key)s)
      AND agent_ids = ARRAY[%(agent_id)s::uuid]
    RETURNING '{}'::uuid[] AS agent_ids
)
SELECT agent_ids FROM kept
UNION ALL
SELECT agent_ids FROM dropped
