"""Celery tasks of the payments queue (routed by ``payments.*``).

``payments.batches_assemble`` runs from beat every ``X402_BATCH_INTERVAL_SECONDS``; the
singleton lock plus the per-stream ``PAYMENT_BATCH`` advisory lock make concurrent runs safe.
With the ``evm`` backend every committed batch (periodic or manual) enqueues
``payments.batch_settle`` when its transaction commits (``batch_settle_enqueue_if_evm``);
``payments.settlement_sweep`` (beat, every half ``X402_SETTLEMENT_SWEEP_AFTER_SECONDS``) enqueues it
again for batches left ``committed``/``submitted`` longer than
``X402_SETTLEMENT_SWEEP_AFTER_SECONDS`` (a worker killed mid-settlement), at most
:data:`SETTLEMENT_SWEEP_MAX_PER_RUN` a run.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Task, shared_task
from django.conf import settings

from payments import evm
from payments.errors import BatchNotFoundError
from payments.limits import MAX_VALIDITY_SECONDS
from payments.services.batches import batches_assemble_due
from payments.services.intents import nonces_prune
from payments.services.settlement import BACKEND_EVM, batch_settle_evm, batch_settlement_fail, batch_settlement_sweep
from payments.tenant_selectors import payment_batch_tenant_id
from sequencer_project.db.singleton import singleton_job
from sequencer_project.tenant_keys import task_tenant_and_id

# The sweep enqueues at most this many stale batches a run (one SELECT, one message each), oldest
# first; the rest wait for the next run.
SETTLEMENT_SWEEP_MAX_PER_RUN = 200


@shared_task(name="payments.batches_assemble", acks_late=True, soft_time_limit=50, time_limit=60)
@singleton_job("payments.batches_assemble")
def batches_assemble() -> list[str]:
    """Commit every due batch; returns their ids."""
    return [str(b) for b in batches_assemble_due()]


@shared_task(
    bind=True,
    name="payments.batch_settle",
    acks_late=True,
    soft_time_limit=300,
    time_limit=330,
    max_retries=None,
)
def batch_settle(self: Task[Any, Any], tenant_id: str, batch_id: str | None = None) -> str:
    """Settle batch ``(tenant_id, batch_id)`` on chain; retries with exponential backoff, then
    dead-letters it (batch ``failed`` + an open ``x402_settlement_dead_letters`` row). Idempotent:
    a settled batch returns at once, a submitted one first looks for its sent transactions' receipts.

    A message of the previous release carries the batch id alone (it arrives as ``tenant_id``):
    its tenant is looked up once by id (:mod:`sequencer_project.tenant_keys`).
    """
    tenant, batch = task_tenant_and_id(tenant_id, batch_id, tenant_of=payment_batch_tenant_id)
    if tenant is None:
        raise BatchNotFoundError(f"No batch {batch}.")
    try:
        return str(batch_settle_evm(tenant_id=tenant, batch_id=batch).status)
    except (evm.ChainUnavailableError, evm.SettlementRevertedError) as exc:
        retries = self.request.retries or 0
        if retries >= settings.X402_SETTLEMENT_MAX_RETRIES:
            batch_settlement_fail(
                tenant_id=tenant, batch_id=batch, reason=f"after {retries + 1} tries: {exc}", attempts=retries + 1
            )
            return "failed"
        countdown = min(settings.X402_SETTLEMENT_RETRY_BASE_SECONDS * 2**retries, 600)
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(name="payments.nonces_prune", acks_late=True, soft_time_limit=50, time_limit=60)
@singleton_job("payments.nonces_prune")
def nonces_prune_task() -> int:
    """Forget nonce reservations older than twice the 24 h validity cap."""
    return nonces_prune(older_than=timedelta(seconds=2 * MAX_VALIDITY_SECONDS))


@shared_task(name="payments.settlement_sweep", acks_late=True, soft_time_limit=30, time_limit=60)
@singleton_job("payments.settlement_sweep")
def settlement_sweep() -> int:
    """Enqueue ``payments.batch_settle`` for up to :data:`SETTLEMENT_SWEEP_MAX_PER_RUN` batches
    still committed/submitted ``X402_SETTLEMENT_SWEEP_AFTER_SECONDS`` after their last change
    (nothing under the ``record`` backend, where an operator settles); how many."""
    if settings.X402_SETTLEMENT_BACKEND != BACKEND_EVM:
        return 0
    swept = batch_settlement_sweep(
        stale_seconds=float(settings.X402_SETTLEMENT_SWEEP_AFTER_SECONDS), limit=SETTLEMENT_SWEEP_MAX_PER_RUN
    )
    return len(swept)
