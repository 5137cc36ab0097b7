"""SQL statements of the payments app, loaded once at import (one statement per file)."""

from sequencer_project.db.sql import load_sql

SELECT_INTENT_BY_IDEMPOTENCY = load_sql(__file__, "select_intent_by_idempotency.sql")
INSERT_INTENT = load_sql(__file__, "insert_intent.sql")
SELECT_NONCE_HOLDER = load_sql(__file__, "select_nonce_holder.sql")
SELECT_STALE_SETTLEMENTS = load_sql(__file__, "select_stale_settlements.sql")
SELECT_PAYER_ACCOUNT = load_sql(__file__, "select_payer_account.sql")
GRANT_PAYER_ACCOUNT = load_sql(__file__, "grant_payer_account.sql")
REVOKE_PAYER_ACCOUNT = load_sql(__file__, "revoke_payer_account.sql")
HOLD_PAYER_ACCOUNTS_FROM_INTENTS = load_sql(__file__, "hold_payer_accounts_from_intents.sql")
