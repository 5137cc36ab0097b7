"""``manage.py reencrypt_payloads --tenant UUID [--batch-size N]``: rotate payloads to the newest key.

Put the new key first in the tenant's ring (keeping the old ones), deploy, then run this.
Resumable: interrupt it and run it again; progress goes to stdout. Remove an old key only
after a run reports 0 rows left.
"""

import uuid
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from events.payload_crypto import PayloadDecryptionError, PayloadEncryptionUnavailableError, keyring_for
from events.services.payload_rotation import payload_reencrypt_batch, payloads_to_reencrypt_count


class Command(BaseCommand):
    help = "Re-encrypt a tenant's stored legacy payloads with its newest payload key."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--tenant", type=uuid.UUID, required=True)
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        tenant_id: uuid.UUID = options["tenant"]
        batch_size: int = options["batch_size"]
        if not 1 <= batch_size <= 10_000:
            raise CommandError("--batch-size must be 1..10000.")
        try:
            total = payloads_to_reencrypt_count(tenant_id=tenant_id)
            newest = keyring_for(tenant_id).newest
            assert newest is not None  # checked by the count
            self.stdout.write(f"tenant {tenant_id}: {total} payloads to re-encrypt with key {newest.key_id}")
            done = 0
            batch = payload_reencrypt_batch(tenant_id=tenant_id, batch_size=batch_size)
            while True:
                done += batch.rewritten
                self.stdout.write(f"re-encrypted {done}/{total}")
                if batch.position is None:
                    break
                batch = payload_reencrypt_batch(tenant_id=tenant_id, after=batch.position, batch_size=batch_size)
            left = payloads_to_reencrypt_count(tenant_id=tenant_id)
        except (PayloadEncryptionUnavailableError, PayloadDecryptionError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"done: {done} re-encrypted, {left} left")
