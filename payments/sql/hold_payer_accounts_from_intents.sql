-- Every agent that has sequenced an intent from a payer account holds it (ADR 0006, "Payer
-- accounts"), added to the holders it has, in order of first use; for after an upgrade during
-- which the previous release's processes sequenced intents without holding accounts
-- (docs/operations.md, "Upgrades"). Idempotent: holders are only ever added.
-- Index: scans x402_payment_intents (every tenant); x402_payer_accounts pkey.
-- Locks: the account rows it adds holders to. Rows: one per account created or widened.
INSERT INTO x402_payer_accounts AS a (tenant_id, payer_account, agent_ids, bound_at, bound_by, updated_at)
SELECT tenant_id, payer_account,
       array_agg(source_agent_id ORDER BY first_at, source_agent_id),
       min(first_at), %(actor)s, now()
FROM (
    SELECT tenant_id,
           '0x' || lower(regexp_replace(payer_address, '^0[xX]', '')) AS payer_account,
           source_agent_id,
           min(coalesce(sequenced_at, created_at)) AS first_at
    FROM x402_payment_intents
    GROUP BY 1, 2, 3
) AS used
GROUP BY tenant_id, payer_account
ON CONFLICT (tenant_id, payer_account) DO UPDATE
SET agent_ids = a.agent_ids || ARRAY(
        SELECT agent FROM unnest(EXCLUDED.agent_ids) AS agent WHERE NOT agent = ANY (a.agent_ids)
    ),
    updated_at = now()
WHERE NOT EXCLUDED.agent_ids <@ a.agent_ids
RETURNING a.tenant_id, a.payer_account, a.agent_ids
