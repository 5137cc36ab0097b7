-- An operator lets an agent pay from a payer account of a tenant (ADR 0006, "Payer accounts"):
-- a new account is held by that agent alone; an account held already gains it as a holder.
-- Index: x402_payer_accounts pkey. Locks: the account row (waits for intents that share-lock it).
-- Rows: 1 (agent_ids after the grant), 0 when the agent held the account already (unchanged).
INSERT INTO x402_payer_accounts AS a (tenant_id, payer_account, agent_ids, bound_at, bound_by, updated_at)
VALUES (%(tenant_id)s, %(payer_key)s, ARRAY[%(agent_id)s::uuid], %(now)s, %(actor)s, %(now)s)
ON CONFLICT (tenant_id, payer_account) DO UPDATE
SET agent_ids = a.agent_ids || %(agent_id)s::uuid, updated_at = %(now)s
WHERE NOT %(agent_id)s::uuid = ANY (a.agent_ids)
RETURNING a.agent_ids
