"""``manage.py reencrypt_payloads --tenant UUID [--batch-size N] [--dry-run] [--key-deployed]``:
rotate a tenant's payloads, the entity states projected from them and its rejected event bodies
to the newest key.

Put the new key first in the tenant's ring (keeping the old ones), deploy, then run this. The
command re-seals only once a payload sealed under the newest key opens with the key it was given
(proof that the service which wrote it holds the same key): a key given only to this command,
by a shell variable or a mistyped ring, would otherwise leave every row sealed under a key the
service cannot open. A tenant with nothing sealed under the new key yet (a quiet tenant, or
sealing just switched on) needs ``--key-deployed``, the operator's word that the service has it.
``--dry-run`` says what a run would re-seal and whether it would start, and changes nothing.
Resumable: interrupt it and run it again; progress goes to stdout. A row no key of the ring
opens (altered at rest, or its key missing) is skipped and left on its old key: each is named on
stderr as met and again in the summary, and the command then fails (exit status 1) so scripts
notice; a run again re-tries only what is still on an older key. Remove an old key only after a
run reports 0 payloads, 0 states and 0 bodies left (docs/encryption.md, "Rotation"). Each run that
reaches its end writes a ``payload.reencrypt`` audit row.
"""

import uuid
from argparse import ArgumentParser
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from audit.services import cli_actor
from events.payload_crypto import PayloadEncryptionUnavailableError
from events.services.payload_rotation import (
    NEWEST_KEY_SAMPLE,
    NewestKeyCheck,
    RotationResult,
    RotationTable,
    SkippedRow,
    newest_key_check,
    payload_rotate,
    rotation_pending,
)
from sequencer_project.command_arguments import ascii_integer, ascii_uuid
from tenants.selectors import tenant_get

_NOUNS = {
    RotationTable.EVENTS: "payloads",
    RotationTable.ENTITY_STATES: "entity states",
    RotationTable.REJECTED_BODIES: "rejected event bodies",
}
_PROGRESS = {RotationTable.EVENTS: "", RotationTable.ENTITY_STATES: "states ", RotationTable.REJECTED_BODIES: "bodies "}


@dataclass(frozen=True, slots=True)
class _Progress:
    """The run's progress on stdout, each skipped row on stderr as met (a ``RotationObserver``)."""

    stdout: OutputWrapper
    stderr: OutputWrapper
    tenant_id: uuid.UUID

    def started(self, table: RotationTable, total: int, key_id: int) -> None:
        self.stdout.write(f"tenant {self.tenant_id}: {total} {_NOUNS[table]} to re-encrypt with key {key_id}")

    def progressed(self, table: RotationTable, done: int, skipped: int, total: int) -> None:
        self.stdout.write(
            f"re-encrypted {_PROGRESS[table]}{done}/{total}" + (f", {skipped} skipped" if skipped else "")
        )

    def skipped(self, row: SkippedRow) -> None:
        self.stderr.write(f"skipped, left on its old key: {row}")


class Command(BaseCommand):
    help = (
        "Re-encrypt a tenant's stored legacy payloads, projected entity states and rejected event bodies"
        " with its newest payload key; rows no key opens are skipped, listed, and make the command fail."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--tenant", type=ascii_uuid, required=True)
        parser.add_argument("--batch-size", type=ascii_integer, default=500)
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="say what a run would re-seal and whether it would start; change nothing",
        )
        parser.add_argument(
            "--key-deployed",
            action="store_true",
            help="re-seal with no payload sealed under the newest key yet: you checked the service holds it",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant_id = uuid.UUID(str(options["tenant"]))  # call_command(tenant="…") passes it unparsed
        batch_size: int = options["batch_size"]
        if not 1 <= batch_size <= 10_000:
            raise CommandError("--batch-size must be 1..10000.")
        if tenant_get(tenant_id=tenant_id) is None:  # a mistyped id must not look like a finished rotation
            raise CommandError(f"Tenant {tenant_id} does not exist.")
        try:
            check = newest_key_check(tenant_id=tenant_id)
            if options["dry_run"]:
                self._dry_run(tenant_id, check, key_deployed=options["key_deployed"])
                return
            # Counted only when the answer depends on it (a rotation counts each table as it starts).
            refusal = _refusal(
                tenant_id,
                check,
                key_deployed=options["key_deployed"],
                anything_pending=lambda: any(rotation_pending(tenant_id=tenant_id).values()),
            )
            if refusal is not None:
                raise CommandError(refusal)
            result = payload_rotate(
                tenant_id=tenant_id,
                batch_size=batch_size,
                actor=cli_actor("reencrypt_payloads"),
                observer=_Progress(self.stdout, self.stderr, tenant_id),
            )
        except PayloadEncryptionUnavailableError as exc:
            raise CommandError(str(exc)) from exc
        self._summary(result)

    def _dry_run(self, tenant_id: uuid.UUID, check: NewestKeyCheck, *, key_deployed: bool) -> None:
        pending = rotation_pending(tenant_id=tenant_id)
        counts = ", ".join(f"{pending[table]} {noun}" for table, noun in _NOUNS.items())
        self.stdout.write(f"tenant {tenant_id}: {counts} to re-encrypt with key {check.key_id}")
        refusal = _refusal(tenant_id, check, key_deployed=key_deployed, anything_pending=lambda: any(pending.values()))
        self.stdout.write(
            "a run would start; dry run, nothing was changed" if refusal is None else f"a run would refuse: {refusal}"
        )

    def _summary(self, result: RotationResult) -> None:
        events, states, bodies = result.parts
        self.stdout.write(
            f"done: {events.resealed} re-encrypted, {events.left} left;"
            f" {states.resealed} entity states re-encrypted, {states.left} left;"
            f" {bodies.resealed} rejected event bodies re-encrypted, {bodies.left} left"
        )
        count, kept = result.skipped_count, result.skipped
        if not count:
            return
        rows = "row" if count == 1 else "rows"
        self.stdout.write(f"skipped {count} {rows} that no key opens, left on their old key:")
        for row in kept:
            self.stdout.write(f"  {row}")
        if count > len(kept):
            self.stdout.write(f"  … and {count - len(kept)} more (each was named on stderr as met)")
        raise CommandError(
            f"{count} {rows} of tenant {result.tenant_id} could not be re-encrypted and stay on an older key"
            f" (listed above); everything else is on key {result.key_id}."
            ' See docs/encryption.md, "Rotation", for what to do with them before removing the old key.'
        )


def _refusal(
    tenant_id: uuid.UUID, check: NewestKeyCheck, *, key_deployed: bool, anything_pending: Callable[[], bool]
) -> str | None:
    """Why a run must not start, or ``None``: the newest key id names other material than its rows
    were sealed with, or rows would be re-sealed and nothing shows the service holds the key."""
    if check.mismatch is not None:
        return (
            f"The newest key of tenant {tenant_id}'s ring, id {check.key_id}, opens none of the"
            f" {NEWEST_KEY_SAMPLE} or fewer payloads already sealed under that id that were tried"
            f" (first: {check.mismatch}). The id names other material than they were sealed with: a key id"
            " must never be given a new key. Put the old key back under its id and give the new key"
            ' an id of its own (docs/encryption.md, "Rotation"); nothing was changed.'
        )
    if check.opened or key_deployed or not anything_pending():
        return None
    return (
        f"No payload of tenant {tenant_id} is sealed under its newest key, id {check.key_id}, yet, so nothing"
        " shows that the running service holds that key: rows re-sealed now would be unreadable to a"
        ' service without it. Deploy the key first (docs/encryption.md, "Rotation", step 1) and run this'
        " again once the service has written a payload with it, or pass --key-deployed if you have checked"
        " that the service holds this key. Nothing was changed."
    )
