"""``manage.py anchor_rearm (--batch UUID [UUID ...] [--tenant UUID] | --tenant UUID | --all-given-up)``.

Re-arm the anchoring of commitments given up after ``ANCHOR_MAX_ATTEMPTS`` failed sends (their
anchor transaction reverted, or its gas estimate said it would; docs/commitments.md,
"Anchoring"), once the cause is fixed (``ANCHOR_TO_ADDRESS``, the account's funds): their counter
goes back to 0 and the next ``commitments.anchor_sweep`` (within ``ANCHOR_SWEEP_INTERVAL_SECONDS``)
enqueues their anchoring (:func:`commitments.services.anchoring.commitment_anchor_rearm`).

``--batch`` names commitments (given up or not; of ``--tenant`` only when given; a ``--tenant`` no
commitment belongs to is refused, as a mistyped id): an id of no such
commitment is refused and nothing changes; an anchored one, and one with no failed send (nothing
to re-arm), is left as it is and said so. ``--tenant`` alone
re-arms every given-up commitment of that tenant, ``--all-given-up`` every given-up commitment of
every tenant (with ``--tenant``: that tenant's). Each commitment re-armed writes a
``commitment.anchor_rearm`` audit row.
"""

import uuid
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.services import cli_actor
from commitments.anchor_chain import anchoring_configured
from commitments.selectors import tenant_has_commitments
from commitments.services.anchoring import commitment_anchor_attempts, commitment_anchor_rearm
from sequencer_project.command_arguments import ascii_uuid

MAX_BATCH_IDS = 1000


class Command(BaseCommand):
    help = "Re-arm the anchoring of commitments given up after ANCHOR_MAX_ATTEMPTS failed sends."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--tenant", type=ascii_uuid, help="Only this tenant's commitments.")
        parser.add_argument(
            "--batch", type=ascii_uuid, nargs="+", action="extend", help="Commitment batch ids (repeatable)."
        )
        parser.add_argument(
            "--all-given-up", action="store_true", help="Every given-up commitment (of --tenant when given)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant_id: uuid.UUID | None = options["tenant"]
        batch_ids: list[uuid.UUID] | None = options["batch"]
        all_given_up: bool = options["all_given_up"]
        if batch_ids is not None and all_given_up:
            raise CommandError("Give either --batch or --all-given-up, not both.")
        if batch_ids is None and not all_given_up and tenant_id is None:
            raise CommandError("Name what to re-arm: --batch UUID [UUID ...], --tenant UUID or --all-given-up.")
        if tenant_id is not None and not tenant_has_commitments(tenant_id=tenant_id):  # a mistyped id is no re-arm
            raise CommandError(f"No commitment belongs to tenant {tenant_id}; nothing was re-armed.")
        if batch_ids is not None:
            batch_ids = list(dict.fromkeys(batch_ids))
            if len(batch_ids) > MAX_BATCH_IDS:
                raise CommandError(f"At most {MAX_BATCH_IDS} --batch ids at a time.")
            found = {s.batch_id for s in commitment_anchor_attempts(batch_ids=batch_ids, tenant_id=tenant_id)}
            unknown = [str(b) for b in batch_ids if b not in found]
            if unknown:
                whose = f" of tenant {tenant_id}" if tenant_id is not None else ""
                raise CommandError(f"No commitment{whose} has the batch id {', '.join(unknown)}; nothing was re-armed.")
        result = commitment_anchor_rearm(
            tenant_id=tenant_id, batch_ids=batch_ids, all_given_up=all_given_up, actor=cli_actor("anchor_rearm")
        )
        for batch_id in result.anchored:
            self.stdout.write(f"{batch_id}: anchored already, left as it is")
        for batch_id in result.not_failed:
            self.stdout.write(f"{batch_id}: no failed send to re-arm, left as it is")
        for entry in result.rearmed:
            self.stdout.write(f"{entry.batch_id} (tenant {entry.tenant_id}): re-armed")
        self.stdout.write(
            f"{len(result.rearmed)} commitment{'s' if len(result.rearmed) != 1 else ''} re-armed;"
            + (
                " the next anchoring sweep enqueues them."
                if anchoring_configured()
                else " anchoring is not configured (ANCHOR_RPC_URL, ANCHOR_PRIVATE_KEY): nothing is sent until it is."
            )
        )
