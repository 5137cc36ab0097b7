"""Nonce reservations are keyed by the payer's account, not the address as spelled (ADR 0006).

Until now ``x402_nonce_tracking.payer_address`` held the address as submitted, so ``0xABAB…``
and ``abab…`` reserved their nonces apart. The service now reserves under
``payments.addresses.address_key`` (``0x`` + lower-case hex). Rows written before keep their
old spelling for up to 48 h (``nonces_prune``), and an exact resend of such an intent, still
valid, would find no reservation under its key and be sequenced again; so this migration
rewrites them to the key. Where several spellings of one account already hold the same nonce
(the defect this fixes), the earliest reservation stays and the others go: the intents they
reserved for stay as they are, and the nonce stays used.

The table holds only the last 48 h of reservations (``nonces_prune``), so the statements are
short. Writes to it wait for them (``EXCLUSIVE`` lets reads through), so no submission still
served by the previous release inserts a spelling the rewrite would then collide with; after the
commit a CHECK refuses any reservation not under its account's key, so such a process fails
rather than reserve a nonce a second time. The key
expression is ``address_key`` in SQL: addresses were validated as hex on the way in.

Irreversible in effect (the old spellings are gone); rolling it back drops the CHECK, and the
previous code then reserves under the exact spelling again.
"""

from django.db import migrations

HOLD_WRITES = "LOCK TABLE x402_nonce_tracking IN EXCLUSIVE MODE"

DROP_DUPLICATE_SPELLINGS = """
DELETE FROM x402_nonce_tracking
 WHERE ctid IN (
       SELECT ctid
         FROM (SELECT ctid,
                      row_number() OVER (
                          PARTITION BY tenant_id, store_id, nonce,
                                       lower(regexp_replace(payer_address, '^0[xX]', ''))
                          ORDER BY created_at, payer_address
                      ) AS place
                 FROM x402_nonce_tracking) AS spellings
        WHERE place > 1)
"""

KEY_BY_ACCOUNT = """
UPDATE x402_nonce_tracking
   SET payer_address = '0x' || lower(regexp_replace(payer_address, '^0[xX]', ''))
 WHERE payer_address <> '0x' || lower(regexp_replace(payer_address, '^0[xX]', ''))
"""


# Every reservation is under its account's key from now on: a process still on the previous
# release, reserving under an exact spelling after this commits, fails (a 500 for that submission)
# instead of opening a second nonce space for the account while the rollout lasts.
ACCOUNT_KEYS_ONLY = """
ALTER TABLE x402_nonce_tracking ADD CONSTRAINT x402_nonce_payer_is_account_key
    CHECK (payer_address = '0x' || lower(regexp_replace(payer_address, '^0[xX]', '')))
"""
ACCOUNT_KEYS_ONLY_REVERSE = "ALTER TABLE x402_nonce_tracking DROP CONSTRAINT x402_nonce_payer_is_account_key"


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0003_tenant_keys"),
    ]

    operations = [  # one transaction
        migrations.RunSQL(HOLD_WRITES, migrations.RunSQL.noop),
        migrations.RunSQL(DROP_DUPLICATE_SPELLINGS, migrations.RunSQL.noop),
        migrations.RunSQL(KEY_BY_ACCOUNT, migrations.RunSQL.noop),
        migrations.RunSQL(ACCOUNT_KEYS_ONLY, ACCOUNT_KEYS_ONLY_REVERSE),
    ]
