"""Intent submission: verify outside the lock, then sequence gap-free into stream kind 3.

Same design as the ingest paths (ADR 0001): the signature is verified before any transaction;
one short transaction then locks the stream's x402 counter row, answers an idempotent replay,
checks that the agent holds the payer account (the first intent holds an account for its
agent; another agent is 403 ``payer_account_held``: ``payments.services.payer_accounts``), reserves
the nonce under the payer's account in the tenant (``payments.addresses``: one account
has one nonce space however its address is spelled, and in whichever store; migration 0006),
inserts the intent as ``sequenced`` with ``head + 1`` and advances the counter
(``payments/sql/insert_intent.sql``), and commits. A used
nonce rolls back everything, so a failed submission burns neither a nonce nor a sequence number.

An idempotency key is compared by the request's signed bytes (``PaymentRequest.request_hash``),
so the same payment resent with its address spelled otherwise is another signed request: 409
``idempotency_key_conflict``, never a second intent.

The signing hash covers neither tenant nor store (REFERENCE.md §5.2), so a signed payment sent
to another store of its tenant finds its nonce taken: 409 ``payment_signature_reused`` (one
signature, one charge). The same body resent to its own stream is answered as before: the
original with its idempotency key, else 400 ``nonce_already_used``.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import orjson
from django.db import connection, transaction

from payments import errors
from payments.intent_requests import PaymentRequest
from payments.models import NonceReservation
from payments.services.payer_accounts import payer_account_held, payer_account_holders
from payments.sql import INSERT_INTENT, SELECT_INTENT_BY_IDEMPOTENCY, SELECT_NONCE_HOLDER
from sequencer_project import metrics
from sequencer_project.api.fields import BIGINT_MAX
from streams.counters import stream_counter_lock
from streams.kinds import StreamKind
from tenants.selectors import AgentKeyRecord, agent_signing_key_records_by_id, agent_signing_key_records_locked
from ves.signing import verify


@dataclass(frozen=True, slots=True)
class SubmittedIntent:
    intent_id: uuid.UUID
    status: str
    sequence_number: int
    sequenced_at: datetime
    batch_id: uuid.UUID | None
    replayed: bool


def payment_signature_verify(*, request: PaymentRequest) -> bytes:
    """Verify the payer signature against the registered agent key (ADR 0006).

    A supplied ``payer_public_key`` must be that registered key: it is never trusted alone.
    """
    keys = agent_signing_key_records_by_id(
        tenant_id=request.tenant_id, agent_id=request.source_agent_id, key_ids=[request.agent_key_id]
    )
    key = _usable_key(request, keys)
    if request.payer_public_key is not None and request.payer_public_key != key.public_key:
        raise errors.PayerKeyNotBoundError(
            "payer_public_key differs from the registered key of source_agent_id/agent_key_id."
        )
    if not verify(key.public_key, request.signing_hash, request.payer_signature):
        raise errors.PaymentSignatureError("payer_signature does not verify over signing_hash.")
    return key.public_key


def _usable_key(request: PaymentRequest, keys: dict[int, AgentKeyRecord]) -> AgentKeyRecord:
    """The request's agent key among ``keys``, active and inside its window now; else 404."""
    key = keys.get(request.agent_key_id)
    if key is None:
        raise errors.PaymentAgentKeyNotFoundError(
            f"Agent {request.source_agent_id} has no key {request.agent_key_id} in this tenant."
        )
    problem = key.problem_at(datetime.now(UTC))
    if problem is not None:
        raise errors.PaymentAgentKeyNotFoundError(
            f"{problem} (agent {request.source_agent_id}, key {request.agent_key_id})."
        )
    return key


def _key_still_usable(request: PaymentRequest, keys: dict[int, AgentKeyRecord], verified_with: bytes) -> None:
    """The request's key as read again inside the intent's transaction (``keys``: share-locked to
    commit, as a VES batch reads its keys, docs/auth.md) is still usable and still the one the
    signature was verified with: a revocation that committed after the cached check is seen."""
    if _usable_key(request, keys).public_key != verified_with:  # revoked and registered anew since
        raise errors.PaymentSignatureError("payer_signature does not verify over signing_hash.")


def payment_intent_submit(*, request: PaymentRequest, actor: str) -> SubmittedIntent:
    """Verify and sequence one intent; an idempotent replay returns the original.

    Invariants: the x402 stream's numbers stay exactly ``1..head``; a nonce is used at most once
    per ``(tenant, payer account)`` (:func:`payments.addresses.address_key`, ADR 0006), whatever
    case or ``0x`` the address is spelled with and whichever store takes it, so one signed payment
    is at most one intent in its tenant; an idempotency key names one request's parameters forever;
    only an agent that holds the payer account sequences intents from it (ADR 0006).
    Locks: the stream's x402 counter row, from the idempotency read to commit; the payer
    account's row, shared, to commit.
    """
    public_key = payment_signature_verify(request=request)
    started = time.perf_counter()
    result = _sequence(request, public_key, actor)
    metrics.X402_SEQUENCING_SECONDS.observe(time.perf_counter() - started)
    return result


@transaction.atomic(durable=True)
def _sequence(request: PaymentRequest, verified_with: bytes, actor: str) -> SubmittedIntent:
    stream: dict[str, Any] = {
        "tenant_id": request.tenant_id,
        "store_id": request.store_id,
        "stream_kind": int(StreamKind.X402),
    }
    keys = agent_signing_key_records_locked(  # the key's lock before the counter's, as VES ingest
        tenant_id=request.tenant_id, agent_id=request.source_agent_id, key_ids=[request.agent_key_id]
    )
    with connection.cursor() as cursor:
        head = stream_counter_lock(cursor, stream, actor=actor)
        if request.idempotency_key is not None:
            cursor.execute(SELECT_INTENT_BY_IDEMPOTENCY, {**stream, "idempotency_key": request.idempotency_key})
            existing = cursor.fetchone()
            if existing is not None:
                if bytes(existing[5]) != request.request_hash:
                    raise errors.IdempotencyConflictError(
                        "This idempotency_key was used for a request with different parameters.",
                        intent_id=str(existing[0]),
                    )
                return SubmittedIntent(existing[0], existing[1], existing[2], existing[3], existing[4], True)
        _key_still_usable(request, keys, verified_with)  # after the replay: an intent accepted before stays answerable
        if head >= BIGINT_MAX:  # only a counter set by hand or a restore gets here
            raise errors.PaymentSequenceExhaustedError(
                f"Stream {request.tenant_id}/{request.store_id} has no x402 sequence number left (last: 2^63 - 1)."
            )
        intent_id = uuid.uuid4()
        now = datetime.now(UTC)
        nonce_rows, intent_rows, counter_rows = _insert_held(
            cursor,
            request,
            {
                **stream,
                "intent_id": intent_id,
                "source_agent_id": request.source_agent_id,
                "agent_key_id": request.agent_key_id,
                "payer_address": request.payer_address,
                "payer_key": request.payer_key,
                "payee_address": request.payee_address,
                "amount": request.amount,
                "asset": request.asset,
                "network": request.network,
                "chain_id": request.chain_id,
                "token_address": request.token_address,
                "created_at_unix": min(int(now.timestamp()), request.valid_until),
                "valid_until": request.valid_until,
                "nonce": request.nonce,
                "idempotency_key": request.idempotency_key,
                "request_hash": request.request_hash,
                "resource_uri": request.resource_uri,
                "description": request.description,
                "order_id": request.order_id,
                "merchant_id": request.merchant_id,
                "signing_hash": request.signing_hash,
                "payer_signature": request.payer_signature,
                "payer_public_key": request.payer_public_key,
                "sequence_number": head + 1,
                "metadata": None if request.metadata is None else orjson.dumps(request.metadata).decode(),
                "now": now,
                "bound_by": f"intent:{intent_id}",
            },
        )
        if nonce_rows == 0:
            cursor.execute(SELECT_NONCE_HOLDER, {**stream, "payer_key": request.payer_key, "nonce": request.nonce})
            _refuse_used_nonce(request, cursor.fetchone())
    if intent_rows != 1 or counter_rows != 1:
        raise AssertionError("x402 counter or intent write lost while the counter lock was held")  # defensive
    return SubmittedIntent(intent_id, "sequenced", head + 1, now, None, False)


#: How often insert_intent.sql runs when other transactions keep holding and releasing the payer
#: account between its statements (two runs are the usual race for a new account).
_HOLD_TRIES = 4


def _insert_held(cursor: Any, request: PaymentRequest, params: dict[str, Any]) -> tuple[int, int, int]:
    """Run ``insert_intent.sql``: ``(nonce_rows, intent_rows, counter_rows)`` once the agent holds
    the payer account (an account no agent held is held for it); 403 ``payer_account_held``
    when other agents hold it. An account held by a transaction that committed after the
    statement's snapshot is read again, share-locked, and the statement run again."""
    for _ in range(_HOLD_TRIES):
        cursor.execute(INSERT_INTENT, params)
        holders, allowed, nonce_rows, intent_rows, counter_rows = cursor.fetchone()
        if allowed:
            return nonce_rows, intent_rows, counter_rows
        if holders or request.source_agent_id not in payer_account_holders(
            tenant_id=request.tenant_id, payer_address=request.payer_key
        ):
            raise payer_account_held(request.payer_key)
    raise errors.PayerAccountHeldError(f"Payer account {request.payer_key} kept changing holders; try again.")


def _refuse_used_nonce(request: PaymentRequest, holder: tuple[uuid.UUID, bytes, bytes] | None) -> NoReturn:
    """Raise for a nonce already reserved in the tenant (``holder``: its store, its intent's
    signing hash and signature): this very signed payment (the same hash, signed alike) taken in
    another store is 409 ``payment_signature_reused``; anything else (a resend to the same
    stream, another payment with the nonce, the same terms signed by another agent's key) is 400
    ``nonce_already_used``. Neither names the other intent: it may be in a store the caller
    cannot see."""
    if (
        holder is not None
        and holder[0] != request.store_id
        and bytes(holder[1]) == request.signing_hash
        and bytes(holder[2]) == request.payer_signature
    ):
        raise errors.PaymentSignatureReusedError(
            "This signed payment was already accepted in another store of this tenant; a signature is one charge."
        )
    raise errors.NonceAlreadyUsedError(f"Nonce {request.nonce} was already used by payer {request.payer_key}.")


def nonces_prune(*, older_than: timedelta) -> int:
    """Forget nonce reservations older than ``older_than`` (default 48 h: twice the validity cap,
    so an intent signed with a pruned nonce has expired and is refused by the window check)."""
    cutoff = datetime.now(UTC) - older_than
    deleted, _ = NonceReservation.objects.filter(created_at__lt=cutoff).delete()
    return deleted
