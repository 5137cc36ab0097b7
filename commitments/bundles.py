"""What an offline proof bundle holds, read in one call (``ves/bundle.py`` has the format).

The bundle of an event is the event, the commitment covering it with its inclusion proof, and
its RFC 6962 inclusion proof under the latest signed checkpoint of its stream.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from commitments import errors
from commitments.proofs import EventProof, commitment_proof
from commitments.selectors import CommitmentRow, commitment_covering
from commitments.transparency import CheckpointRow, checkpoint_get, log_open
from events import errors as event_errors
from events.selectors import (
    StoredEvent,
    StoredVesEvent,
    event_get_for_tenant,
    stream_head_get,
    ves_event_get_for_tenant,
)
from sequencer_project.db.replica import reading_from_primary
from streams.kinds import StreamKind
from ves.hashes import receipt_hash

Visible = Callable[[uuid.UUID, uuid.UUID | None], bool]


@dataclass(frozen=True, slots=True)
class EventBundle:
    event: StoredEvent | StoredVesEvent
    commitment: CommitmentRow
    proof: EventProof
    checkpoint: CheckpointRow
    leaf_hash: bytes  # the event's leaf in the stream's log
    log_proof: tuple[bytes, ...]  # its inclusion proof under ``checkpoint``


def event_bundle_get(*, tenant_id: uuid.UUID, event_id: uuid.UUID, kind: StreamKind, visible: Visible) -> EventBundle:
    """The bundle of event ``event_id`` of ``tenant_id``.

    ``visible(tenant_id, store_id)`` is the caller's scope: an event outside it is 404
    ``event_not_found`` (checked before anything else is read, so nothing tells it apart from an
    absent one); an event no commitment or checkpoint covers yet is 409
    ``event_not_committed``; a stored payload that cannot be read back intact is 500
    ``payload_integrity``; a row that no longer agrees with what was recorded of it (a VES
    receipt naming another sequence number, a sequence number outside its stream or inside the
    log without a commitment, events that no longer hash to their commitment's root) is 500
    ``commitment_integrity`` (:func:`_check_position`). Reads only, all on the primary: the
    commitment and checkpoint are read there, and an event (or head) read from a lagging replica
    (``DATABASE_READ_URL``) would make a just-committed event 404, or a 500 from the head check.
    """
    with reading_from_primary():
        return _event_bundle(tenant_id=tenant_id, event_id=event_id, kind=kind, visible=visible)


def _event_bundle(*, tenant_id: uuid.UUID, event_id: uuid.UUID, kind: StreamKind, visible: Visible) -> EventBundle:
    event: StoredEvent | StoredVesEvent | None = None
    if visible(tenant_id, None):
        if kind is StreamKind.VES:
            event = ves_event_get_for_tenant(tenant_id=tenant_id, event_id=event_id)
        else:
            event = event_get_for_tenant(tenant_id=tenant_id, event_id=event_id)
    if event is None or not visible(event.tenant_id, event.store_id):
        raise event_errors.EventNotFoundError(f"No event {event_id} is visible to this credential.")
    seq = event.sequence_number
    if isinstance(event, StoredVesEvent):
        _check_receipt(event)
    commitment = commitment_covering(tenant_id=event.tenant_id, store_id=event.store_id, kind=kind, sequence_number=seq)
    checkpoint = checkpoint_get(tenant_id=event.tenant_id, store_id=event.store_id, kind=kind, tree_size=None)
    if commitment is None or checkpoint is None:
        _check_position(event, kind, checkpoint)
        raise errors.EventNotCommittedError(f"Event {event_id} (sequence {seq}) is not committed yet.")
    proof = commitment_proof(commitment=commitment, sequence_number=seq)
    log = log_open(
        tenant_id=event.tenant_id, store_id=event.store_id, kind=kind, size=checkpoint.tree_size, proofs_only=True
    )
    return EventBundle(
        event=event,
        commitment=commitment,
        proof=proof,
        checkpoint=checkpoint,
        leaf_hash=log.store.get_nodes([(0, seq - 1)])[0],
        log_proof=tuple(log.inclusion_proof(seq - 1, checkpoint.tree_size)),
    )


def _check_receipt(event: StoredVesEvent) -> None:
    """500 ``commitment_integrity`` unless the VES event's stored receipt still names this row:
    the receipt hash binds the event id, the sequence number and the signing hash, so a row
    renumbered (or moved to another stream) no longer matches it. One SHA-256."""
    expected = receipt_hash(
        event.tenant_id, event.store_id, event.event_id, event.sequence_number, event.event_signing_hash
    )
    if expected != event.receipt_hash:
        raise errors.CommitmentIntegrityError(
            f"Event {event.event_id} is stored at sequence {event.sequence_number}, which its receipt does not name: "
            "the row was moved or altered."
        )


def _check_position(event: StoredEvent | StoredVesEvent, kind: StreamKind, checkpoint: CheckpointRow | None) -> None:
    """500 ``commitment_integrity`` when no commitment covers the event because its row is not
    where it was sequenced: its number is outside ``1 .. head`` of its stream (a renumbered row:
    a gap-free stream has no free number below its head), or inside the signed log, whose every
    entry a chain commitment covers. Otherwise the event is simply not committed yet."""
    seq = event.sequence_number
    head = stream_head_get(tenant_id=event.tenant_id, store_id=event.store_id, kind=kind)
    if not 1 <= seq <= head:
        raise errors.CommitmentIntegrityError(
            f"Event {event.event_id} is stored at sequence {seq}, outside its stream's 1..{head}: the row was moved."
        )
    # The commitment was read before the checkpoint: a seal that committed between the two reads
    # (it writes both at once) shows in the checkpoint only. Read the commitment again.
    if (
        checkpoint is not None
        and seq <= checkpoint.tree_size
        and commitment_covering(tenant_id=event.tenant_id, store_id=event.store_id, kind=kind, sequence_number=seq)
        is None
    ):
        raise errors.CommitmentIntegrityError(
            f"Event {event.event_id} (sequence {seq}) is in the stream's log of {checkpoint.tree_size} entries, "
            "but no commitment covers it."
        )
