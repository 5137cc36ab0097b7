"""Anchoring heals itself and says nothing of the RPC endpoint (docs/commitments.md, "Anchoring").

On the real in-process chain (eth-tester + py-evm) and an unreachable endpoint: the anchor task
retries an unavailable chain, a failed attempt is noted on the row, the sweep hands commitments
still unanchored after the grace period back to the task, a transaction sent but not seen mined is
waited for instead of sent again, and a 503 never carries the RPC URL or the exception's text.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from commitments.anchor_chain import CHAIN_DOWN, _account, _fund_in_process, _web3
from commitments.errors import AnchorUnavailableError, CommitmentNotFoundError
from commitments.services.anchoring import AnchorSwept, commitment_anchor, commitment_anchor_sweep
from commitments.sql import CLAIM_UNANCHORED_COMMITMENTS
from commitments.tasks import (
    ANCHOR_SWEEP_GRACE_SECONDS,
    ANCHOR_TASK_MAX_RETRIES,
    anchor_retry_countdown,
    anchor_sweep,
    commitment_anchor_task,
)
from sequencer_project.resilience import get_breaker
from tests.commitments.anchor_helpers import CHAIN, anchor_state, insert_commitments
from tests.commitments.helpers import create, ingest_legacy_case, ingest_ves_case, post_json
from tests.sequencer_project.broker_helpers import take_task_messages
from tests.sequencer_project.ops_helpers import closed_port
from tests.ves.ves_case_vectors import CASES

pytestmark = pytest.mark.django_db

SECRET = "k3y-in-the-path"


def _down() -> dict[str, Any]:
    """Settings naming a closed port with an API key in the path, as a hosted endpoint's URL has."""
    return {
        **CHAIN,
        "ANCHOR_RPC_URL": f"http://127.0.0.1:{closed_port()}/v3/{SECRET}",
        "ANCHOR_RETRY_ATTEMPTS": 1,
        "ANCHOR_RPC_TIMEOUT_SECONDS": 1,
    }


@pytest.fixture(autouse=True)
def _closed_breaker() -> Iterator[None]:
    get_breaker("anchor", failure_threshold=5, reset_timeout=60.0).reset()
    yield
    get_breaker("anchor", failure_threshold=5, reset_timeout=60.0).reset()


def _assert_no_endpoint(text: str, url: str) -> None:
    port = url.split(":")[2].split("/")[0]
    for leaked in (SECRET, "127.0.0.1", port, "HTTPConnectionPool", "url:", "Errno", "ConnectionError"):
        assert leaked not in text, (leaked, text)


def _sweep_messages(swept: list[AnchorSwept]) -> list[tuple[str, ...]]:
    wanted = {str(s.batch_id) for s in swept}
    return take_task_messages(
        "commitments", "commitments.commitment_anchor", wanted=lambda args: args[-1] in wanted, count=len(wanted)
    )


def test_a_503_never_carries_the_rpc_url_or_the_exception_text(
    admin_client: APIClient, caplog: pytest.LogCaptureFixture
) -> None:
    ves, legacy = CASES[3], CASES[0]
    ingest_ves_case(admin_client, ves)
    ingest_legacy_case(admin_client, legacy)
    t, s = ves["tenant_id"], ves["store_id"]
    with override_settings(**CHAIN):
        anchored = post_json(
            admin_client, "/api/v1/ves/commitments/anchor", {"tenant_id": t, "store_id": s, "max_events": 4}
        )
        assert anchored.status_code == 200, anchored.content
        sealed = create(admin_client, "", legacy["tenant_id"], legacy["store_id"], 1, len(legacy["events"]))
        legacy_batch = sealed.json()["batch_id"]
        assert post_json(admin_client, "/api/v1/anchor", {"batch_id": legacy_batch}).status_code == 200
    unanchored = create(admin_client, "ves/", t, s, 5, 9).json()["batch_id"]
    down = _down()
    caplog.set_level(logging.WARNING, logger="commitments.anchor_chain")

    with override_settings(**down):
        answers = [
            admin_client.get(f"/api/v1/anchor/{legacy_batch}/verify"),
            admin_client.get(f"/api/v1/ves/anchor/{anchored.json()['batch_id']}/verify"),
            post_json(admin_client, "/api/v1/ves/anchor", {"batch_id": unanchored}),
        ]

    for answer in answers:
        assert (answer.status_code, answer.json()["code"]) == (503, "anchor_unavailable"), answer.content
        assert answer.json()["detail"] == CHAIN_DOWN
        _assert_no_endpoint(answer.content.decode(), down["ANCHOR_RPC_URL"])
    assert SECRET in caplog.text  # the exception went to the server's log instead


@override_settings(**CHAIN)
def test_an_open_breakers_503_is_fixed_too(admin_client: APIClient) -> None:
    (_, batch_id), *_ = insert_commitments(1)
    down = _down()
    with override_settings(**down):
        for _ in range(6):  # five failures open the breaker; then it refuses at once
            answer = post_json(admin_client, "/api/v1/ves/anchor", {"batch_id": str(batch_id)})
    assert (answer.status_code, answer.json()["code"]) == (503, "anchor_unavailable")
    assert "Retry-After" in answer
    assert answer.json()["detail"] == "The anchoring circuit breaker is open after repeated chain failures."
    _assert_no_endpoint(answer.content.decode(), down["ANCHOR_RPC_URL"])


def test_the_anchor_task_retries_an_unavailable_chain_a_bounded_number_of_times(
    caplog: pytest.LogCaptureFixture,
) -> None:
    (tenant_id, batch_id), *_ = insert_commitments(1)
    caplog.set_level(logging.INFO, logger="commitments.services.anchoring")

    with override_settings(**_down()):
        result = commitment_anchor_task.apply(args=(str(tenant_id), str(batch_id)))  # eager: retries at once

    assert isinstance(result.result, AnchorUnavailableError)
    attempts = [r for r in caplog.records if r.getMessage().startswith(f"commitment {batch_id} not anchored")]
    assert len(attempts) == 1 + ANCHOR_TASK_MAX_RETRIES
    state = anchor_state(tenant_id, batch_id)
    assert (state.chain_tx_hash, state.pending_tx_hash) == (None, None)
    assert state.error_at is not None  # the failure is noted on the row


def test_retries_back_off_with_jitter_and_never_at_once() -> None:
    for retries in range(ANCHOR_TASK_MAX_RETRIES):
        ceiling = 5.0 * 2**retries
        for _ in range(50):
            assert ceiling / 2 <= anchor_retry_countdown(retries) <= ceiling
    # The retries' waits alone end within the sweep's grace period; each attempt's own time (a lock
    # wait, a receipt wait) comes on top, so the sweep may still enqueue a task beside a live one:
    # harmless, since a pending transaction on the row is waited for, never sent again.
    assert sum(5.0 * 2**r for r in range(ANCHOR_TASK_MAX_RETRIES)) < ANCHOR_SWEEP_GRACE_SECONDS


def test_a_commitment_whose_anchoring_failed_while_the_chain_was_down_is_anchored_by_the_sweep(
    admin_client: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    case = CASES[0]
    ingest_ves_case(admin_client, case)
    with override_settings(**_down()), django_capture_on_commit_callbacks(execute=True):
        batch_id = create(admin_client, "ves/", case["tenant_id"], case["store_id"], 1, 1).json()["batch_id"]
    [message] = take_task_messages(
        "commitments", "commitments.commitment_anchor", wanted=lambda args: args[-1] == batch_id, count=1
    )
    with override_settings(**_down()):
        failed = commitment_anchor_task.apply(args=message)
    assert isinstance(failed.result, AnchorUnavailableError)  # retries exhausted: the task gave up
    assert anchor_state(case["tenant_id"], batch_id).error_at is not None
    get_breaker("anchor").reset()  # the chain is back: what the breaker's half-open probe finds

    with override_settings(**CHAIN):
        with django_capture_on_commit_callbacks(execute=True):
            assert anchor_sweep.apply().get() == 0  # within the grace period: left to the task
        _backdate(batch_id, seconds=ANCHOR_SWEEP_GRACE_SECONDS + 1)
        with django_capture_on_commit_callbacks(execute=True):
            assert anchor_sweep.apply().get() == 1
        [again] = take_task_messages(
            "commitments", "commitments.commitment_anchor", wanted=lambda args: args[-1] == batch_id, count=1
        )
        tx_hash = commitment_anchor_task.apply(args=again).get()

    assert tx_hash is not None
    state = anchor_state(case["tenant_id"], batch_id)
    assert state.chain_tx_hash is not None
    assert state.chain_tx_hash.hex() == tx_hash
    assert state.swept_at is not None
    detail = admin_client.get(f"/api/v1/ves/commitments/{batch_id}").json()
    assert (detail["is_anchored"], detail["chain_tx_hash"]) == (True, tx_hash)


def _backdate(batch_id: Any, *, seconds: float) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE commitments SET committed_at = committed_at - make_interval(secs => %s) WHERE batch_id = %s",
            [seconds, batch_id],
        )


@override_settings(**CHAIN)
def test_the_sweep_takes_unanchored_commitments_past_the_grace_period_oldest_first_bounded(
    django_capture_on_commit_callbacks: Any,
) -> None:
    old = [insert_commitments(1, committed_seconds_ago=3600 - i)[0] for i in range(3)]  # oldest first
    fresh = insert_commitments(1, committed_seconds_ago=10)
    anchored = insert_commitments(1, committed_seconds_ago=7200)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE commitments SET chain_tx_hash = %s WHERE batch_id = %s", [os.urandom(32), anchored[0][1]]
        )
    mine = {b for _, b in old + fresh + anchored}

    with django_capture_on_commit_callbacks(execute=True):
        first = [s for s in commitment_anchor_sweep(grace_seconds=60, limit=2) if s.batch_id in mine]
    with django_capture_on_commit_callbacks(execute=True):
        second = [s for s in commitment_anchor_sweep(grace_seconds=60, limit=2) if s.batch_id in mine]
    with django_capture_on_commit_callbacks(execute=True):
        third = [s for s in commitment_anchor_sweep(grace_seconds=60, limit=2) if s.batch_id in mine]

    assert [s.batch_id for s in first + second] == [b for _, b in old]  # two a run, oldest first
    assert third == []  # each swept once per grace period; fresh and anchored ones never
    assert sorted(_sweep_messages(first + second)) == sorted((str(t), str(b)) for t, b in old)
    for tenant_id, batch_id in old:
        assert anchor_state(tenant_id, batch_id).swept_at is not None
    with connection.cursor() as cursor:  # a grace period after its last sweep, it is due again
        cursor.execute(
            "UPDATE commitments SET anchor_swept_at = anchor_swept_at - interval '61 seconds' WHERE batch_id = %s",
            [old[1][1]],
        )
    with django_capture_on_commit_callbacks(execute=True):
        fourth = [s for s in commitment_anchor_sweep(grace_seconds=60, limit=10) if s.batch_id in mine]
    assert [s.batch_id for s in fourth] == [old[1][1]]
    _sweep_messages(fourth)


def test_the_sweep_does_nothing_without_anchoring_configured() -> None:
    insert_commitments(1, committed_seconds_ago=7200)
    assert anchor_sweep.apply().get() == 0


def test_the_sweep_reads_its_partial_index() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + CLAIM_UNANCHORED_COMMITMENTS, {"grace_seconds": 600.0, "limit": 200})
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "commitments_anchor_due_idx" in plan, plan


@override_settings(**CHAIN, ANCHOR_RECEIPT_TIMEOUT_SECONDS=0.5)
def test_a_transaction_not_mined_in_time_is_waited_for_never_sent_twice(admin_client: APIClient) -> None:
    (tenant_id, batch_id), *_ = insert_commitments(1)
    w3 = _web3()
    address = _account().address
    _fund_in_process(w3, address)
    tester = w3.provider.ethereum_tester  # type: ignore[attr-defined]
    nonce_before = w3.eth.get_transaction_count(address)
    tester.disable_auto_mine_transactions()
    try:
        first = post_json(admin_client, "/api/v1/ves/anchor", {"batch_id": str(batch_id)})
        assert (first.status_code, first.json()["code"]) == (503, "anchor_unavailable")
        assert "not mined within ANCHOR_RECEIPT_TIMEOUT_SECONDS" in first.json()["detail"]
        pending = anchor_state(tenant_id, batch_id).pending_tx_hash
        assert pending is not None

        second = post_json(admin_client, "/api/v1/ves/anchor", {"batch_id": str(batch_id)})
        assert second.status_code == 503
        assert anchor_state(tenant_id, batch_id).pending_tx_hash == pending  # waited for, not replaced
        tester.mine_blocks(1)
    finally:
        tester.enable_auto_mine_transactions()

    third = post_json(admin_client, "/api/v1/ves/anchor", {"batch_id": str(batch_id)})

    assert (third.status_code, third.json()["chain_tx_hash"]) == (200, pending.hex())
    assert w3.eth.get_transaction_count(address) == nonce_before + 1  # one transaction in all
    state = anchor_state(tenant_id, batch_id)
    assert (state.chain_tx_hash, state.pending_tx_hash) == (pending, None)


@override_settings(**CHAIN)
def test_a_pending_transaction_the_chain_forgot_is_sent_anew() -> None:
    (tenant_id, batch_id), *_ = insert_commitments(1)
    dropped = os.urandom(32)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE commitments SET anchor_pending_tx_hash = %s WHERE batch_id = %s", [dropped, batch_id])

    result = commitment_anchor(tenant_id=tenant_id, batch_id=batch_id)

    assert result.commitment.chain_tx_hash not in (None, dropped)
    assert anchor_state(tenant_id, batch_id).pending_tx_hash is None


def test_an_unknown_commitment_is_still_not_found() -> None:
    with override_settings(**CHAIN), pytest.raises(CommitmentNotFoundError):
        commitment_anchor(tenant_id=uuid.uuid4(), batch_id=uuid.uuid4())
