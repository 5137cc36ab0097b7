"""``manage.py reencrypt_payloads --tenant UUID [--batch-size N]``: rotate a tenant's payloads,
the entity states projected from them and its rejected event bodies to the newest key.

Put the new key first in the tenant's ring (keeping the old ones), deploy, then run this.
Resumable: interrupt it and run it again; progress goes to stdout. Remove an old key only
after a run reports 0 payloads, 0 states and 0 bodies left.
"""

import functools
import uuid
from argparse import ArgumentParser
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from events.payload_crypto import PayloadDecryptionError, PayloadEncryptionUnavailableError, keyring_for
from events.services.payload_rotation import (
    payload_reencrypt_batch,
    payloads_to_reencrypt_count,
    rejected_bodies_to_reencrypt_count,
    rejected_body_reencrypt_batch,
    state_reencrypt_batch,
    states_to_reencrypt_count,
)
from tenants.selectors import tenant_get


class Command(BaseCommand):
    help = (
        "Re-encrypt a tenant's stored legacy payloads, projected entity states and rejected event bodies"
        " with its newest payload key."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--tenant", type=uuid.UUID, required=True)
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        tenant_id: uuid.UUID = options["tenant"]
        batch_size: int = options["batch_size"]
        if not 1 <= batch_size <= 10_000:
            raise CommandError("--batch-size must be 1..10000.")
        if tenant_get(tenant_id=tenant_id) is None:  # a mistyped id must not look like a finished rotation
            raise CommandError(f"Tenant {tenant_id} does not exist.")
        try:
            payloads = payloads_to_reencrypt_count(tenant_id=tenant_id)
            newest = keyring_for(tenant_id).newest
            assert newest is not None  # checked by the count
            self.stdout.write(f"tenant {tenant_id}: {payloads} payloads to re-encrypt with key {newest.key_id}")
            done = self._walk(functools.partial(payload_reencrypt_batch, tenant_id=tenant_id), batch_size, "", payloads)
            left = payloads_to_reencrypt_count(tenant_id=tenant_id)
            states = states_to_reencrypt_count(tenant_id=tenant_id)
            self.stdout.write(f"tenant {tenant_id}: {states} entity states to re-encrypt with key {newest.key_id}")
            states_done = self._walk(
                functools.partial(state_reencrypt_batch, tenant_id=tenant_id), batch_size, "states ", states
            )
            states_left = states_to_reencrypt_count(tenant_id=tenant_id)
            bodies = rejected_bodies_to_reencrypt_count(tenant_id=tenant_id)
            self.stdout.write(
                f"tenant {tenant_id}: {bodies} rejected event bodies to re-encrypt with key {newest.key_id}"
            )
            bodies_done = self._walk(
                functools.partial(rejected_body_reencrypt_batch, tenant_id=tenant_id), batch_size, "bodies ", bodies
            )
            bodies_left = rejected_bodies_to_reencrypt_count(tenant_id=tenant_id)
        except (PayloadEncryptionUnavailableError, PayloadDecryptionError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"done: {done} re-encrypted, {left} left; {states_done} entity states re-encrypted, {states_left} left;"
            f" {bodies_done} rejected event bodies re-encrypted, {bodies_left} left"
        )

    def _walk(self, reencrypt_batch: Callable[..., Any], batch_size: int, what: str, total: int) -> int:
        """Run ``reencrypt_batch`` from the start to the end of the keyset, printing progress."""
        done = 0
        batch = reencrypt_batch(batch_size=batch_size)
        while True:
            done += int(batch.rewritten)
            self.stdout.write(f"re-encrypted {what}{done}/{total}")
            if batch.position is None:
                return done
            batch = reencrypt_batch(after=batch.position, batch_size=batch_size)
