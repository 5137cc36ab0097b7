"""``manage.py projections_rebuild --tenant UUID --store UUID [--projection NAME] [--batch-size N]``.

Rebuild a stream's projections from the event log, for instance after a handler's bug fix is
deployed: each projection is forgotten and replayed in one transaction, under the stream's
projection lock, so the runner cannot interleave and readers see the old state until the
commit (:func:`events.services.projections.projection_rebuild`, ``docs/projections.md``).
Without ``--projection`` every registered projection is rebuilt, one transaction each. A
stream never written is refused; each rebuild writes a ``projection.rebuild`` audit row. A long
replay says how far it is every :data:`PROGRESS_SECONDS`.
"""

import time
import uuid
from argparse import ArgumentParser
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.services import cli_actor
from events.errors import PayloadIntegrityError, StreamNeverWrittenError
from events.projections.registry import projection_get, projections
from events.services.projections import projection_rebuild
from sequencer_project.command_arguments import ascii_integer, ascii_uuid

#: At most one progress line this often (the replay's batches take milliseconds each).
PROGRESS_SECONDS = 5.0


class Command(BaseCommand):
    help = "Rebuild a stream's projections from the event log (one transaction per projection)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--tenant", type=ascii_uuid, required=True)
        parser.add_argument("--store", type=ascii_uuid, required=True)
        parser.add_argument("--projection", action="append", help="A registered projection (repeatable); default: all.")
        parser.add_argument("--batch-size", type=ascii_integer, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        tenant_id: uuid.UUID = options["tenant"]
        store_id: uuid.UUID = options["store"]
        batch_size: int = options["batch_size"]
        if not 1 <= batch_size <= 10_000:
            raise CommandError("--batch-size must be 1..10000.")
        names: list[str] = list(dict.fromkeys(options["projection"] or [handler.name for handler in projections()]))
        unknown = [name for name in names if projection_get(name) is None]
        if unknown:
            raise CommandError(f"No projection named {', '.join(unknown)} is registered.")
        for name in names:
            try:
                result = projection_rebuild(
                    projection=name,
                    tenant_id=tenant_id,
                    store_id=store_id,
                    batch_size=batch_size,
                    actor=cli_actor("projections_rebuild"),
                    progress=self._progress(f"{name} on {tenant_id}/{store_id}"),
                )
            except StreamNeverWrittenError as exc:
                raise CommandError(str(exc)) from exc
            except PayloadIntegrityError as exc:  # a state or payload no key of the ring opens
                raise CommandError(
                    f"{name} on {tenant_id}/{store_id} was not rebuilt (nothing of it changed): {exc}."
                    " A key missing from the tenant's ring opens it once put back; an altered row, see"
                    ' docs/encryption.md, "A row that does not open".'
                ) from exc
            self.stdout.write(
                f"{name} on {tenant_id}/{store_id}: rebuilt to #{result.checkpoint}, "
                f"{result.applied} applied, {result.dead_lettered - result.left_discarded} dead-lettered"
                + (f", {result.left_discarded} failed and left discarded" if result.left_discarded else "")
            )

    def _progress(self, replay: str) -> Callable[[int, int], None]:
        """A line ``<replay>: N of M events replayed (P %)`` at most every :data:`PROGRESS_SECONDS`."""
        said_at = time.monotonic()

        def say(checkpoint: int, head: int) -> None:
            nonlocal said_at
            now = time.monotonic()
            if now - said_at >= PROGRESS_SECONDS and checkpoint < head:
                said_at = now
                self.stdout.write(
                    f"{replay}: {checkpoint:,} of {head:,} events replayed ({checkpoint * 100 // head} %)"
                )

        return say
