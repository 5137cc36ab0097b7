"""Helpers of the anchoring tests: commitment rows to anchor, and reading their anchoring state.

The anchoring code reads a commitment's stored fields only (the calldata encodes them), so the
concurrency and sweep tests write rows directly: many of them, fast, without events behind them
and without the ``commitments.commitment_anchor`` message a sealed commitment enqueues.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

ANCHOR_KEY = "0x" + bytes(range(1, 33)).hex()
CHAIN = {
    "ANCHOR_RPC_URL": "eth-tester://",
    "ANCHOR_PRIVATE_KEY": ANCHOR_KEY,
    "VES_SEQUENCER_SIGNING_KEY": bytes(range(32)).hex(),
}


@dataclass(frozen=True, slots=True)
class AnchorState:
    chain_tx_hash: bytes | None
    chain_block_number: int | None
    pending_tx_hash: bytes | None
    error_at: datetime | None
    swept_at: datetime | None
    signed_tx: bytes | None = None
    tx_nonce: int | None = None
    attempts: int | None = None
    given_up_at: datetime | None = None


def insert_commitments(count: int, *, committed_seconds_ago: float = 0.0) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """``count`` sealed VES commitments of one event each, each of its own tenant and store;
    their ``(tenant_id, batch_id)``."""
    keys = [(uuid.uuid4(), uuid.uuid4()) for _ in range(count)]
    with connection.cursor() as cursor:
        for tenant_id, batch_id in keys:
            cursor.execute(
                "INSERT INTO commitments (batch_id, tenant_id, store_id, stream_kind, ves_version, tree_depth,"
                " leaf_count, padded_leaf_count, merkle_root, prev_state_root, new_state_root, sequence_start,"
                " sequence_end, committed_at, on_request)"
                " VALUES (%s, %s, %s, 2, 1, 0, 1, 1, %s, %s, %s, 1, 1,"
                " clock_timestamp() - make_interval(secs => %s), false)",
                [batch_id, tenant_id, uuid.uuid4(), os.urandom(32), b"\0" * 32, os.urandom(32), committed_seconds_ago],
            )
    return keys


def anchor_state(tenant_id: Any, batch_id: Any) -> AnchorState:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT chain_tx_hash, chain_block_number, anchor_pending_tx_hash, anchor_error_at, anchor_swept_at,"
            " anchor_signed_tx, anchor_tx_nonce, anchor_attempts, anchor_given_up_at"
            " FROM commitments WHERE tenant_id = %s AND batch_id = %s",
            [tenant_id, batch_id],
        )
        row = cursor.fetchone()
    assert row is not None
    tx, block, pending, error_at, swept_at, signed, nonce, attempts, given_up_at = row
    return AnchorState(
        bytes(tx) if tx is not None else None,
        block,
        bytes(pending) if pending is not None else None,
        error_at,
        swept_at,
        bytes(signed) if signed is not None else None,
        nonce,
        attempts,
        given_up_at,
    )


def keep_signed(tenant_id: Any, batch_id: Any, *, tx_hash: bytes, raw_transaction: bytes, nonce: int) -> None:
    """Leave a signed anchor transaction on the row, as an attempt that died before sending it does."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE commitments SET anchor_pending_tx_hash = %s, anchor_signed_tx = %s, anchor_tx_nonce = %s"
            " WHERE tenant_id = %s AND batch_id = %s",
            [tx_hash, raw_transaction, nonce, tenant_id, batch_id],
        )


# Runtime code of a contract that reverts every call (PUSH1 0, PUSH1 0, REVERT), and init code
# returning it: deployed at ANCHOR_TO_ADDRESS, every anchor transaction reverts.
REVERTING_RUNTIME = bytes.fromhex("60006000fd")
REVERTING_INIT = bytes([0x60, len(REVERTING_RUNTIME), 0x80, 0x60, 0x09, 0x3D, 0x39, 0x3D, 0xF3]) + REVERTING_RUNTIME


def deploy_reverting_contract(w3: Any) -> str:
    """The address of a new contract on ``w3``'s chain that reverts every call."""
    tx_hash = w3.eth.send_transaction({"from": w3.eth.accounts[0], "data": REVERTING_INIT})
    return str(w3.eth.wait_for_transaction_receipt(tx_hash)["contractAddress"])


def anchored_count(keys: list[tuple[uuid.UUID, uuid.UUID]]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM commitments WHERE batch_id = ANY(%s) AND chain_tx_hash IS NOT NULL",
            [[batch_id for _, batch_id in keys]],
        )
        return int(cursor.fetchone()[0])


def child_told_to_go(code: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """A Python process running ``code`` (with ``args``) from the repository root, once it has
    printed ``ready`` (set up, connected) and been told ``go``: the caller races it from there and
    reaps it. Without a metrics directory of its own (the child's counters stay in memory)."""
    from tests.sequencer_project.ops_helpers import ROOT

    env = {name: value for name, value in env.items() if name != "PROMETHEUS_MULTIPROC_DIR"}
    child = subprocess.Popen(  # noqa: S603  (this interpreter and our own code)
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdin is not None
    if child.stdout.readline().strip() != "ready":
        child.kill()
        _, err = child.communicate(timeout=30)
        raise AssertionError(f"the child never got ready: {err[-3000:]}")
    child.stdin.write("go\n")
    child.stdin.flush()
    return child
