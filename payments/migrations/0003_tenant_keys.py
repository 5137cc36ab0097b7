"""x402 tables keyed by ``tenant_id`` first (docs/scaling.md, "When one primary is not enough").

A distributed PostgreSQL (Citus, distributed by ``tenant_id``) needs the distribution column in
every primary and unique key, and foreign keys between distributed tables that include it:

- primary keys become ``(tenant_id, <id>)``; a plain index on the id serves reads by id (the
  admin, the settlement task, the bootstrap admin's API calls);
- settlement attempts gain the ``tenant_id`` of their batch;
- the foreign keys to batches and intents become ``(tenant_id, batch_id)`` and
  ``(tenant_id, intent_id)``, declared here in SQL (the Django fields: ``db_constraint=False``);
- "one open dead letter per batch" is keyed ``(tenant_id, batch_id)``.

Django's state keeps each single-column id as the model's primary key (ids are unique in
practice). Not atomic, so writes are never blocked for long (STYLE rule 26): the indexes are
built concurrently, one statement block adopts them (``PRIMARY KEY USING INDEX``, foreign keys
``NOT VALID``), and the foreign keys are validated afterwards under a lock that lets writes
through. Reversible.
"""

from django.db import migrations, models

BACKFILL_ATTEMPT_TENANTS = """
UPDATE x402_settlement_attempts a SET tenant_id = b.tenant_id
  FROM x402_payment_batches b
 WHERE b.batch_id = a.batch_id AND a.tenant_id IS NULL
"""

_TABLES = {  # table: its id column
    "x402_payment_batches": "batch_id",
    "x402_payment_intents": "intent_id",
    "x402_settlement_attempts": "id",
    "x402_settlement_dead_letters": "id",
}

BUILD_INDEXES = [
    *(
        f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {table}_tenant_pkey ON {table} (tenant_id, {column})"
        for table, column in _TABLES.items()
    ),
    *(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {table}_id_idx ON {table} ({column})"
        for table, column in _TABLES.items()
    ),
    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS x402_dead_letter_one_open_tenant"
    " ON x402_settlement_dead_letters (tenant_id, batch_id) WHERE status = 'open'",
]
DROP_INDEXES = [f"DROP INDEX CONCURRENTLY IF EXISTS {table}_id_idx" for table in _TABLES]

# One statement (a DO block), so the swap is all or nothing; the single-column foreign keys carry
# the names Django gave them in 0001/0002 (deterministic).
SWAP_KEYS = """
DO $$ BEGIN
    ALTER TABLE x402_payment_intents DROP CONSTRAINT x402_payment_intents_batch_id_9f64ceee_fk_x402_paym;
    ALTER TABLE x402_nonce_tracking DROP CONSTRAINT x402_nonce_tracking_intent_id_89cc3c7f_fk_x402_paym;
    ALTER TABLE x402_settlement_attempts DROP CONSTRAINT x402_settlement_atte_batch_id_3868de4c_fk_x402_paym;
    ALTER TABLE x402_settlement_dead_letters DROP CONSTRAINT x402_settlement_dead_batch_id_babfcdd3_fk_x402_paym;

    ALTER TABLE x402_payment_batches DROP CONSTRAINT x402_payment_batches_pkey,
        ADD CONSTRAINT x402_payment_batches_pkey PRIMARY KEY USING INDEX x402_payment_batches_tenant_pkey;
    ALTER TABLE x402_payment_intents DROP CONSTRAINT x402_payment_intents_pkey,
        ADD CONSTRAINT x402_payment_intents_pkey PRIMARY KEY USING INDEX x402_payment_intents_tenant_pkey;
    ALTER TABLE x402_settlement_attempts DROP CONSTRAINT x402_settlement_attempts_pkey,
        ADD CONSTRAINT x402_settlement_attempts_pkey PRIMARY KEY USING INDEX x402_settlement_attempts_tenant_pkey;
    ALTER TABLE x402_settlement_dead_letters DROP CONSTRAINT x402_settlement_dead_letters_pkey,
        ADD CONSTRAINT x402_settlement_dead_letters_pkey
            PRIMARY KEY USING INDEX x402_settlement_dead_letters_tenant_pkey;
    DROP INDEX x402_dead_letter_one_open;
    ALTER INDEX x402_dead_letter_one_open_tenant RENAME TO x402_dead_letter_one_open;

    ALTER TABLE x402_payment_intents ADD CONSTRAINT x402_intents_batch_fkey
        FOREIGN KEY (tenant_id, batch_id) REFERENCES x402_payment_batches (tenant_id, batch_id)
        DEFERRABLE INITIALLY DEFERRED NOT VALID;
    ALTER TABLE x402_nonce_tracking ADD CONSTRAINT x402_nonce_tracking_intent_fkey
        FOREIGN KEY (tenant_id, intent_id) REFERENCES x402_payment_intents (tenant_id, intent_id)
        DEFERRABLE INITIALLY DEFERRED NOT VALID;
    ALTER TABLE x402_settlement_attempts ADD CONSTRAINT x402_attempts_batch_fkey
        FOREIGN KEY (tenant_id, batch_id) REFERENCES x402_payment_batches (tenant_id, batch_id)
        DEFERRABLE INITIALLY DEFERRED NOT VALID;
    ALTER TABLE x402_settlement_dead_letters ADD CONSTRAINT x402_dead_letters_batch_fkey
        FOREIGN KEY (tenant_id, batch_id) REFERENCES x402_payment_batches (tenant_id, batch_id)
        DEFERRABLE INITIALLY DEFERRED NOT VALID;
END $$
"""

UNSWAP_KEYS = """
DO $$ BEGIN
    ALTER TABLE x402_payment_intents DROP CONSTRAINT x402_intents_batch_fkey;
    ALTER TABLE x402_nonce_tracking DROP CONSTRAINT x402_nonce_tracking_intent_fkey;
    ALTER TABLE x402_settlement_attempts DROP CONSTRAINT x402_attempts_batch_fkey;
    ALTER TABLE x402_settlement_dead_letters DROP CONSTRAINT x402_dead_letters_batch_fkey;

    ALTER TABLE x402_payment_batches DROP CONSTRAINT x402_payment_batches_pkey,
        ADD CONSTRAINT x402_payment_batches_pkey PRIMARY KEY (batch_id);
    ALTER TABLE x402_payment_intents DROP CONSTRAINT x402_payment_intents_pkey,
        ADD CONSTRAINT x402_payment_intents_pkey PRIMARY KEY (intent_id);
    ALTER TABLE x402_settlement_attempts DROP CONSTRAINT x402_settlement_attempts_pkey,
        ADD CONSTRAINT x402_settlement_attempts_pkey PRIMARY KEY (id);
    ALTER TABLE x402_settlement_dead_letters DROP CONSTRAINT x402_settlement_dead_letters_pkey,
        ADD CONSTRAINT x402_settlement_dead_letters_pkey PRIMARY KEY (id);
    DROP INDEX x402_dead_letter_one_open;
    CREATE UNIQUE INDEX x402_dead_letter_one_open ON x402_settlement_dead_letters (batch_id) WHERE status = 'open';

    ALTER TABLE x402_payment_intents ADD CONSTRAINT x402_payment_intents_batch_id_9f64ceee_fk_x402_paym
        FOREIGN KEY (batch_id) REFERENCES x402_payment_batches (batch_id) DEFERRABLE INITIALLY DEFERRED;
    ALTER TABLE x402_nonce_tracking ADD CONSTRAINT x402_nonce_tracking_intent_id_89cc3c7f_fk_x402_paym
        FOREIGN KEY (intent_id) REFERENCES x402_payment_intents (intent_id) DEFERRABLE INITIALLY DEFERRED;
    ALTER TABLE x402_settlement_attempts ADD CONSTRAINT x402_settlement_atte_batch_id_3868de4c_fk_x402_paym
        FOREIGN KEY (batch_id) REFERENCES x402_payment_batches (batch_id) DEFERRABLE INITIALLY DEFERRED;
    ALTER TABLE x402_settlement_dead_letters ADD CONSTRAINT x402_settlement_dead_batch_id_babfcdd3_fk_x402_paym
        FOREIGN KEY (batch_id) REFERENCES x402_payment_batches (batch_id) DEFERRABLE INITIALLY DEFERRED;
END $$
"""

VALIDATE = [
    "ALTER TABLE x402_payment_intents VALIDATE CONSTRAINT x402_intents_batch_fkey",
    "ALTER TABLE x402_nonce_tracking VALIDATE CONSTRAINT x402_nonce_tracking_intent_fkey",
    "ALTER TABLE x402_settlement_attempts VALIDATE CONSTRAINT x402_attempts_batch_fkey",
    "ALTER TABLE x402_settlement_dead_letters VALIDATE CONSTRAINT x402_dead_letters_batch_fkey",
]


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("payments", "0002_x402_settlement_dead_letters")]

    operations = [
        migrations.AddField(model_name="settlementattempt", name="tenant_id", field=models.UUIDField(null=True)),
        migrations.RunSQL(BACKFILL_ATTEMPT_TENANTS, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="settlementattempt",
            name="tenant_id",
            field=models.UUIDField(help_text="The batch's tenant (the distribution key; docs/scaling.md)."),
        ),
        migrations.RunSQL(BUILD_INDEXES, DROP_INDEXES),
        # Django's state learns of the unconstrained foreign keys and the re-keyed unique index;
        # the database changes in SWAP_KEYS.
        migrations.RunSQL(
            [SWAP_KEYS],
            [UNSWAP_KEYS],
            state_operations=[
                migrations.AlterField(
                    model_name="paymentintent",
                    name="batch",
                    field=models.ForeignKey(
                        blank=True,
                        db_column="batch_id",
                        db_constraint=False,
                        null=True,
                        on_delete=models.deletion.PROTECT,
                        related_name="intents",
                        to="payments.paymentbatch",
                    ),
                ),
                migrations.AlterField(
                    model_name="noncereservation",
                    name="intent",
                    field=models.ForeignKey(
                        db_column="intent_id",
                        db_constraint=False,
                        on_delete=models.deletion.CASCADE,
                        to="payments.paymentintent",
                    ),
                ),
                *(
                    migrations.AlterField(
                        model_name=model_name,
                        name="batch",
                        field=models.ForeignKey(
                            db_column="batch_id",
                            db_constraint=False,
                            on_delete=models.deletion.PROTECT,
                            related_name=related_name,
                            to="payments.paymentbatch",
                        ),
                    )
                    for model_name, related_name in (
                        ("settlementattempt", "attempts"),
                        ("settlementdeadletter", "dead_letters"),
                    )
                ),
                migrations.RemoveConstraint(model_name="settlementdeadletter", name="x402_dead_letter_one_open"),
                migrations.AddConstraint(
                    model_name="settlementdeadletter",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("status", "open")),
                        fields=("tenant_id", "batch"),
                        name="x402_dead_letter_one_open",
                    ),
                ),
            ],
        ),
        migrations.RunSQL(VALIDATE, migrations.RunSQL.noop),
    ]
