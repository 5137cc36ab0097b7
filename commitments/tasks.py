"""Automatic commitments (``docs/commitments.md``): beat ticks that seal the due streams, and an
idempotent task per stream for what a tick leaves.

``commitments.commitment_tick`` runs every ``COMMITMENT_INTERVAL_SECONDS`` on one node at a time
(``@singleton_job``) and seals every stream whose head is past its last commitment up to its
head, itself for up to ``COMMITMENT_TICK_SEAL_SECONDS``, then through ``commitments.stream_commit``
messages, each sealing its stream range after range. A seal derives its range from the committed
state under the stream lock, so a duplicate or redelivered message seals nothing twice; a
stream's drain lock keeps one such sealer per stream (``commitments.services.sealing``).

``commitments.commitment_anchor`` anchors one commitment; when the chain (or the database) is
unavailable it retries with backoff (:data:`ANCHOR_TASK_MAX_RETRIES` times, 5 s doubling, equal
jitter: 2.5 to 5 minutes of waits in all, besides each attempt's own time). ``commitments.anchor_sweep`` runs every
``ANCHOR_SWEEP_INTERVAL_SECONDS`` on one node at a time and enqueues it again for commitments
still unanchored :data:`ANCHOR_SWEEP_GRACE_SECONDS` after they were committed or last swept (an
outage longer than the retries, a lost message), at most :data:`ANCHOR_SWEEP_MAX_PER_RUN` a run;
the rest wait for the next run. A failed send (502 ``anchor_failed``: the transaction reverted or
would) is not retried by the task; the sweep tries again until ``ANCHOR_MAX_ATTEMPTS`` failed sends,
then leaves the commitment given up until ``manage.py anchor_rearm``.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from celery import Task, shared_task
from django.db import OperationalError

from commitments.anchor_chain import anchoring_configured
from commitments.errors import AnchorUnavailableError, CommitmentNotFoundError
from commitments.services.anchoring import commitment_anchor, commitment_anchor_sweep
from commitments.services.sealing import commitment_seal_due, commitment_stream_drain
from commitments.tenant_selectors import commitment_tenant_id
from sequencer_project.db.singleton import singleton_job
from sequencer_project.tenant_keys import task_tenant_and_id
from streams.kinds import StreamKind

# A tick takes at most this many streams; the rest wait for the next tick (most behind first).
MAX_STREAMS_PER_TICK = 1000
# One stream_commit seals for this long at most (a seal started before it ends finishes), well
# under its 60 s soft limit, then sends itself again if the stream is still behind: other streams'
# messages get their turn between.
STREAM_COMMIT_SEAL_SECONDS = 20.0

# Retries of one anchoring whose chain is unavailable: 5, 10, 20, 40, 80, 160 s (each between half
# and all of it). The sweep's grace period is longer, so it does not enqueue a commitment whose
# task is still retrying.
ANCHOR_TASK_MAX_RETRIES = 6
ANCHOR_RETRY_BASE_SECONDS = 5.0
# The sweep enqueues a commitment unanchored this long after it was committed or last swept.
ANCHOR_SWEEP_GRACE_SECONDS = 600.0
# ... and at most this many a run (one UPDATE of that many rows, one message each: well under a
# second), oldest first.
ANCHOR_SWEEP_MAX_PER_RUN = 200


@shared_task(name="commitments.commitment_tick", acks_late=True, soft_time_limit=30, time_limit=60)
@singleton_job("commitments.commitment_tick")
def commitment_tick() -> int:
    """Seal every stream with uncommitted events up to its head (most behind first, a range of
    each a round); returns how many streams were due
    (:func:`commitments.services.sealing.commitment_seal_due`: several streams per transaction for
    up to ``COMMITMENT_TICK_SEAL_SECONDS``, the streams still behind then handed to
    ``stream_commit`` tasks)."""
    return commitment_seal_due(max_streams=MAX_STREAMS_PER_TICK)


@shared_task(
    name="commitments.stream_commit",
    acks_late=True,
    soft_time_limit=60,
    time_limit=90,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def stream_commit(tenant_id: str, store_id: str, stream_kind: int) -> str | None:
    """Seal one stream range after range (each up to ``COMMITMENT_MAX_EVENTS``) until it is caught
    up, for up to :data:`STREAM_COMMIT_SEAL_SECONDS`, then enqueue itself again if it is still
    behind; the last batch id sealed, or ``None`` (nothing new, or another sealer holds the
    stream's drain lock: :func:`commitments.services.sealing.commitment_stream_drain`)."""
    drained = commitment_stream_drain(
        tenant_id=uuid.UUID(tenant_id),
        store_id=uuid.UUID(store_id),
        kind=StreamKind(stream_kind),
        seconds=STREAM_COMMIT_SEAL_SECONDS,
    )
    return str(drained.last.batch_id) if drained.last is not None else None


def anchor_retry_countdown(retries: int) -> float:
    """Seconds before retry ``retries + 1`` of an anchoring: half of ``5 s * 2**retries``, plus up
    to as much again (equal jitter: spread out, never at once)."""
    ceiling = ANCHOR_RETRY_BASE_SECONDS * float(2**retries)
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311  (jitter, not cryptography)


@shared_task(
    bind=True,
    name="commitments.commitment_anchor",
    acks_late=True,
    soft_time_limit=300,
    time_limit=360,
    max_retries=ANCHOR_TASK_MAX_RETRIES,
)
def commitment_anchor_task(self: Task[Any, Any], tenant_id: str, batch_id: str | None = None) -> str | None:
    """Anchor commitment ``(tenant_id, batch_id)`` (no-op when anchoring is not configured or it is
    anchored already). 503 ``anchor_unavailable`` (the chain did not answer, or the transaction
    sent was not seen mined: the retry waits for it) and a database ``OperationalError`` (no
    connection, or the row lock of a concurrent anchoring past ``DB_LOCK_TIMEOUT_MS``) are retried
    with backoff; after the last retry the task fails and ``commitments.anchor_sweep`` enqueues it
    again later. 502 ``anchor_failed`` (a revert, or the commitment given up after
    ``ANCHOR_MAX_ATTEMPTS`` failed sends) is not retried. A message of the previous release
    carries the batch id alone (it arrives as ``tenant_id``): its tenant is looked up once by id
    (:mod:`sequencer_project.tenant_keys`)."""
    if not anchoring_configured():
        return None
    tenant, batch = task_tenant_and_id(tenant_id, batch_id, tenant_of=commitment_tenant_id)
    if tenant is None:
        raise CommitmentNotFoundError(f"No commitment {batch}.")
    try:
        result = commitment_anchor(tenant_id=tenant, batch_id=batch)
    except (AnchorUnavailableError, OperationalError) as exc:
        raise self.retry(exc=exc, countdown=anchor_retry_countdown(self.request.retries or 0)) from exc
    return result.commitment.chain_tx_hash.hex() if result.commitment.chain_tx_hash else None


@shared_task(name="commitments.anchor_sweep", acks_late=True, soft_time_limit=30, time_limit=60)
@singleton_job("commitments.anchor_sweep")
def anchor_sweep() -> int:
    """Enqueue ``commitments.commitment_anchor`` for up to :data:`ANCHOR_SWEEP_MAX_PER_RUN`
    commitments still unanchored :data:`ANCHOR_SWEEP_GRACE_SECONDS` after they were committed or
    last swept (nothing when anchoring is not configured); how many."""
    if not anchoring_configured():
        return 0
    swept = commitment_anchor_sweep(grace_seconds=ANCHOR_SWEEP_GRACE_SECONDS, limit=ANCHOR_SWEEP_MAX_PER_RUN)
    return len(swept)
