"""Anchors that revert are given up after ANCHOR_MAX_ATTEMPTS failed sends, until re-armed
(docs/commitments.md, "Anchoring"; docs/operations.md, ``anchor_rearm``).

On the real in-process chain (eth-tester + py-evm) with a contract at ``ANCHOR_TO_ADDRESS`` that
reverts every call: each failed send counts, waiting for a pending transaction does not; at the cap
the row is given up, a WARNING names it, the sweep leaves it, the task does not retry it,
``/health/detailed`` reports it, and ``manage.py anchor_rearm`` puts it back.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client, override_settings
from rest_framework.test import APIClient

from audit.models import AuditLogEntry
from commitments.anchor_chain import _account, _fund_in_process, _web3
from commitments.errors import AnchorFailedError
from commitments.services.anchoring import commitment_anchor, commitment_anchor_sweep
from commitments.tasks import commitment_anchor_task
from sequencer_project.resilience import get_breaker
from tests.commitments.anchor_helpers import (
    CHAIN,
    anchor_state,
    deploy_reverting_contract,
    insert_commitments,
    keep_signed,
)
from tests.sequencer_project.broker_helpers import take_task_messages

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _closed_breaker() -> Iterator[None]:
    get_breaker("anchor", failure_threshold=5, reset_timeout=60.0).reset()
    yield
    get_breaker("anchor", failure_threshold=5, reset_timeout=60.0).reset()


@pytest.fixture
def reverting() -> Iterator[dict[str, Any]]:
    """Anchoring settings whose anchor transactions all revert, with a cap of 2."""
    with override_settings(**CHAIN):
        address = deploy_reverting_contract(_web3())
    with override_settings(**CHAIN, ANCHOR_TO_ADDRESS=address, ANCHOR_MAX_ATTEMPTS=2):
        yield {"to": address}


def _nonce() -> int:
    w3 = _web3()
    address = _account().address
    _fund_in_process(w3, address)
    return int(w3.eth.get_transaction_count(address))


def _due(batch_id: uuid.UUID) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE commitments SET committed_at = committed_at - interval '2 hours', anchor_swept_at = NULL"
            " WHERE batch_id = %s",
            [batch_id],
        )


def _swept(batch_id: uuid.UUID, django_capture_on_commit_callbacks: Any) -> bool:
    with django_capture_on_commit_callbacks(execute=True):
        swept = [s for s in commitment_anchor_sweep(grace_seconds=600, limit=10_000) if s.batch_id == batch_id]
    if swept:
        take_task_messages(
            "commitments", "commitments.commitment_anchor", wanted=lambda args: args[-1] == str(batch_id), count=1
        )
    return bool(swept)


def test_failed_sends_are_counted_and_the_cap_gives_the_commitment_up(
    reverting: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    admin_client: APIClient,
    django_capture_on_commit_callbacks: Any,
) -> None:
    (tenant_id, batch_id), *_ = insert_commitments(1)
    caplog.set_level(logging.WARNING, logger="commitments.services.anchoring")
    nonce = _nonce()

    with pytest.raises(AnchorFailedError, match="would revert"):
        commitment_anchor(tenant_id=tenant_id, batch_id=batch_id)
    first = anchor_state(tenant_id, batch_id)
    assert (first.attempts, first.given_up_at) == (1, None)
    assert first.error_at is not None
    _due(batch_id)
    assert _swept(batch_id, django_capture_on_commit_callbacks)  # below the cap: the sweep tries again

    result = commitment_anchor_task.apply(args=(str(tenant_id), str(batch_id)))  # the second: the cap

    assert isinstance(result.result, AnchorFailedError)  # 502: not retried
    assert result.state == "FAILURE"
    given_up = anchor_state(tenant_id, batch_id)
    assert given_up.attempts == 2
    assert given_up.given_up_at is not None
    [warning] = [r for r in caplog.records if "given up" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    assert str(batch_id) in warning.getMessage()
    assert str(tenant_id) in warning.getMessage()
    assert _nonce() == nonce  # the estimate said it reverts: no gas was paid

    _due(batch_id)
    assert not _swept(batch_id, django_capture_on_commit_callbacks)  # the sweep leaves it
    with pytest.raises(AnchorFailedError, match="given up"):  # a stale message sends nothing
        commitment_anchor(tenant_id=tenant_id, batch_id=batch_id)
    assert anchor_state(tenant_id, batch_id).attempts == 2
    health = admin_client.get("/health/detailed").json()["components"]["anchor_service"]
    assert health["status"] == "degraded"
    assert "1 commitment given up after ANCHOR_MAX_ATTEMPTS" in health["message"]
    assert _given_up_gauge(admin_client) == 1.0

    out = StringIO()
    call_command("anchor_rearm", "--batch", str(batch_id), stdout=out)

    assert f"{batch_id} (tenant {tenant_id}): re-armed" in out.getvalue()
    audited = AuditLogEntry.objects.get(action="commitment.anchor_rearm", target_id=str(batch_id))
    assert (audited.tenant_id, audited.actor.startswith("cli:")) == (tenant_id, True)
    rearmed = anchor_state(tenant_id, batch_id)
    assert (rearmed.attempts, rearmed.given_up_at, rearmed.swept_at) == (0, None, None)
    assert _swept(batch_id, django_capture_on_commit_callbacks)  # due again at the next sweep
    assert "given up" not in admin_client.get("/health/detailed").json()["components"]["anchor_service"]["message"]
    assert _given_up_gauge(admin_client) == 0.0


def _given_up_gauge(client: APIClient) -> float | None:
    """``sequencer_anchor_given_up_commitments`` on the web's ``/metrics`` (``None``: absent)."""
    found = re.search(
        r"^sequencer_anchor_given_up_commitments (\S+)$", client.get("/metrics").content.decode(), re.MULTILINE
    )
    return float(found.group(1)) if found else None


def test_a_mined_revert_counts_and_drops_the_kept_transaction(reverting: dict[str, Any]) -> None:
    """A kept transaction (signed with its own gas limit, so the chain mines it) reverts on chain:
    sent once as it is, its revert counted, and the next attempt would sign anew."""
    (tenant_id, batch_id), *_ = insert_commitments(1)
    w3 = _web3()
    account = _account()
    nonce = _nonce()
    base_fee = int(w3.eth.get_block("latest")["baseFeePerGas"])
    signed = account.sign_transaction(
        {
            "to": reverting["to"],
            "value": 0,
            "data": b"SSA1",
            "chainId": w3.eth.chain_id,
            "maxPriorityFeePerGas": 1,
            "maxFeePerGas": 2 * base_fee + 1,
            "nonce": nonce,
            "gas": 60_000,
        }
    )
    keep_signed(
        tenant_id, batch_id, tx_hash=bytes(signed.hash), raw_transaction=bytes(signed.raw_transaction), nonce=nonce
    )

    with pytest.raises(AnchorFailedError, match="reverted"):
        commitment_anchor(tenant_id=tenant_id, batch_id=batch_id)

    assert w3.eth.get_transaction_receipt(signed.hash)["status"] == 0  # mined, reverted, once
    assert _nonce() == nonce + 1
    state = anchor_state(tenant_id, batch_id)
    assert (state.attempts, state.given_up_at, state.pending_tx_hash, state.signed_tx) == (1, None, None, None)


@override_settings(**CHAIN, ANCHOR_RECEIPT_TIMEOUT_SECONDS=0.3)
def test_waiting_for_a_pending_transaction_is_not_a_failed_send() -> None:
    (tenant_id, batch_id), *_ = insert_commitments(1)
    w3 = _web3()
    _nonce()
    tester = w3.provider.ethereum_tester  # type: ignore[attr-defined]
    tester.disable_auto_mine_transactions()
    try:
        for _ in range(3):
            with pytest.raises(Exception, match="not mined within"):
                commitment_anchor(tenant_id=tenant_id, batch_id=batch_id)
        assert anchor_state(tenant_id, batch_id).attempts is None
        tester.mine_blocks(1)
    finally:
        tester.enable_auto_mine_transactions()
    assert commitment_anchor(tenant_id=tenant_id, batch_id=batch_id).commitment.chain_tx_hash is not None


def _give_up(keys: list[tuple[uuid.UUID, uuid.UUID]]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE commitments SET anchor_attempts = 5, anchor_given_up_at = now() WHERE batch_id = ANY(%s)",
            [[b for _, b in keys]],
        )


def test_anchor_rearm_by_tenant_and_all_given_up() -> None:
    ours = insert_commitments(2)
    _give_up(ours)
    (tenant_id, batch_id) = ours[0]

    out = StringIO()
    call_command("anchor_rearm", "--tenant", str(tenant_id), stdout=out)
    assert "1 commitment re-armed" in out.getvalue()
    assert anchor_state(tenant_id, batch_id).given_up_at is None
    assert anchor_state(*ours[1]).given_up_at is not None

    out = StringIO()
    call_command("anchor_rearm", "--all-given-up", stdout=out)
    assert f"{ours[1][1]} (tenant {ours[1][0]}): re-armed" in out.getvalue()
    assert anchor_state(*ours[1]).attempts == 0


def test_anchor_rearm_refuses_bad_arguments_and_unknown_ids_changing_nothing() -> None:
    (tenant_id, batch_id), *_ = insert_commitments(1)
    _give_up([(tenant_id, batch_id)])
    unknown = uuid.uuid4()

    with pytest.raises(CommandError, match="Name what to re-arm"):
        call_command("anchor_rearm")
    with pytest.raises(CommandError, match="not both"):
        call_command("anchor_rearm", "--batch", str(batch_id), "--all-given-up")
    with pytest.raises(CommandError, match="not a UUID in ASCII"):
        call_command("anchor_rearm", "--batch", "not-a-uuid")
    with pytest.raises(CommandError, match=f"No commitment has the batch id {unknown}; nothing was re-armed"):
        call_command("anchor_rearm", "--batch", str(batch_id), str(unknown))
    with pytest.raises(CommandError, match=f"No commitment belongs to tenant {unknown}; nothing was re-armed"):
        call_command("anchor_rearm", "--tenant", str(unknown), "--batch", str(batch_id))
    with pytest.raises(CommandError, match=f"No commitment belongs to tenant {unknown}; nothing was re-armed"):
        call_command("anchor_rearm", "--tenant", str(unknown))  # a mistyped id is not "0 re-armed"
    ((other_tenant, _),) = insert_commitments(1)
    with pytest.raises(CommandError, match=f"No commitment of tenant {other_tenant} has the batch id {batch_id}"):
        call_command("anchor_rearm", "--tenant", str(other_tenant), "--batch", str(batch_id))

    assert anchor_state(tenant_id, batch_id).given_up_at is not None  # untouched


def test_anchor_rearm_leaves_an_anchored_commitment_alone() -> None:
    (tenant_id, batch_id), *_ = insert_commitments(1)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE commitments SET chain_tx_hash = %s, anchor_attempts = 3 WHERE batch_id = %s", [b"\1" * 32, batch_id]
        )
    out = StringIO()
    call_command("anchor_rearm", "--batch", str(batch_id), stdout=out)
    assert f"{batch_id}: anchored already" in out.getvalue()
    assert anchor_state(tenant_id, batch_id).attempts == 3


def test_anchor_rearm_leaves_a_commitment_with_no_failed_send_alone_and_says_so() -> None:
    """Nothing to re-arm: no audit row, no claim of a re-arm, its sweep state kept (an anchoring
    may be in flight); the given-up one named beside it is re-armed."""
    (tenant_id, fresh), given_up = insert_commitments(2)
    _give_up([given_up])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE commitments SET anchor_swept_at = now() WHERE batch_id = %s", [fresh])
    before = anchor_state(tenant_id, fresh)
    assert before.swept_at is not None

    out = StringIO()
    call_command("anchor_rearm", "--batch", str(fresh), str(given_up[1]), stdout=out)

    assert f"{fresh}: no failed send to re-arm, left as it is" in out.getvalue()
    assert f"{given_up[1]} (tenant {given_up[0]}): re-armed" in out.getvalue()
    assert "1 commitment re-armed" in out.getvalue()
    assert anchor_state(tenant_id, fresh) == before
    assert not AuditLogEntry.objects.filter(action="commitment.anchor_rearm", target_id=str(fresh)).exists()
    assert AuditLogEntry.objects.filter(action="commitment.anchor_rearm", target_id=str(given_up[1])).count() == 1


def test_the_operator_admin_shows_a_given_up_commitment(staff_client: Client) -> None:
    (tenant_id, batch_id), *_ = insert_commitments(1)
    _give_up([(tenant_id, batch_id)])

    page = staff_client.get(f"/admin/commitments/commitment/{batch_id}/change/")

    assert page.status_code == 200
    assert "5 failed sends; GIVEN UP at" in page.content.decode()
