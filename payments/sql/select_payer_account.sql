-- The agents that may pay from a payer account in a tenant, share-locked to commit: read when
-- insert_intent.sql found the account held by a transaction that committed after its
-- snapshot (ADR 0006, "Payer accounts").
-- Index: x402_payer_accounts pkey (tenant_id, payer_account). Locks: the account row, FOR SHARE.
-- Rows: 0 or 1.
SELECT agent_ids
FROM x402_payer_accounts
WHERE tenant_id = %(tenant_id)s
  AND payer_account = %(payer_key)s
FOR SHARE
