"""Rotating the sequencer key (``docs/proofs.md``, "Rotating the sequencer key"), end to end.

VES events go through the real ingest API, the real ``commitments.stream_commit`` task seals
them and grows the log, and the bundle API serves them; the key changes between steps as a
restart with a new ``.env`` would change it (``override_settings``). A receipt keeps the key
that signed it while a bundle carries the stream's newest checkpoint, so after a rotation an old
event's bundle needs the old and the new key; with ``VES_SEQUENCER_PREVIOUS_SIGNING_KEYS`` the
old key alone still verifies it.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import run_checks
from django.test import override_settings
from rest_framework.test import APIClient

from commitments.tasks import stream_commit
from streams.kinds import StreamKind
from tests.events.ves_helpers import Agent, post_ves, register_key
from tests.sequencer_project.ops_helpers import ROOT
from ves.bundle import CheckResult, verify_bundle
from ves.checkpoint import parse_checkpoint
from ves.cli import main as cli_main
from ves.signing import public_key_from_seed

pytestmark = pytest.mark.django_db

OLD_SEED, NEW_SEED, WRONG_SEED = (bytes([n]) * 32 for n in (0x51, 0x52, 0x53))
OLD, NEW, WRONG = (public_key_from_seed(seed) for seed in (OLD_SEED, NEW_SEED, WRONG_SEED))
SIGNATURE_CHECKS = ("receipt_signature", "log_checkpoint")


def _append_and_commit(admin: APIClient, agent: Agent, count: int) -> list[str]:
    """Ingest ``count`` signed events and seal them with the commitment task; their ids."""
    events = [agent.event() for _ in range(count)]
    response = post_ves(admin, agent.agent_id, events)
    assert response.status_code == 200, response.content
    assert response.json()["eventsAccepted"] == count
    assert stream_commit(str(agent.tenant_id), str(agent.store_id), int(StreamKind.VES)) is not None
    return [str(event["event_id"]) for event in events]


def _bundle(admin: APIClient, agent: Agent, event_id: str) -> dict[str, Any]:
    response = admin.get(f"/api/v1/ves/events/{event_id}/bundle?tenant_id={agent.tenant_id}")
    assert response.status_code == 200, response.content
    return dict(json.loads(response.content))


def _failed(results: list[CheckResult]) -> set[str]:
    """The failed checks that are root causes (not failed only because an earlier one did)."""
    return {r.name for r in results if not r.ok and not r.detail.startswith("depends on")}


def _signed_by(results: list[CheckResult]) -> dict[str, tuple[bytes, ...]]:
    return {r.name: r.keys for r in results if r.name in SIGNATURE_CHECKS and r.ok}


def _cli(path: Path, *keys: bytes) -> tuple[int, str]:
    out = io.StringIO()
    status = cli_main(["verify", str(path), *(arg for key in keys for arg in ("--sequencer-key", key.hex()))], out=out)
    return status, out.getvalue()


def _python_m_ves(path: Path, *keys: bytes) -> subprocess.CompletedProcess[str]:
    """``python -m ves verify`` in a fresh process, without the Django environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE"))}
    arguments = [arg for key in keys for arg in ("--sequencer-key", key.hex())]
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "ves", "verify", str(path), *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def agent(admin_client: APIClient) -> Agent:
    agent = Agent(uuid.uuid4(), uuid.uuid4())
    response = register_key(admin_client, agent.tenant_id, agent.agent_id, 1, agent.public_key)
    assert response.status_code == 200, response.content
    return agent


def test_an_old_events_bundle_verifies_with_the_old_and_new_keys_after_a_rotation(
    admin_client: APIClient, agent: Agent, tmp_path: Path
) -> None:
    with override_settings(VES_SEQUENCER_SIGNING_KEY=OLD_SEED.hex()):
        old_event = _append_and_commit(admin_client, agent, 3)[0]
        before = _bundle(admin_client, agent, old_event)
    assert _failed(verify_bundle(before, OLD)) == set()

    with override_settings(VES_SEQUENCER_SIGNING_KEY=NEW_SEED.hex()):  # the rotation: a new seed, a restart
        new_event = _append_and_commit(admin_client, agent, 1)[0]
        after = _bundle(admin_client, agent, old_event)
        fresh = _bundle(admin_client, agent, new_event)

    # The audit's failure: the receipt is the old key's, the newest checkpoint the new key's.
    assert after["event"]["receipt"] == before["event"]["receipt"]
    assert after["log"]["tree_size"] == 4
    assert len(parse_checkpoint(after["log"]["checkpoint"]).signatures) == 1
    old_only = verify_bundle(after, OLD)
    assert _failed(old_only) == {"log_checkpoint"}
    assert "no signature by this key" in next(r.detail for r in old_only if r.name == "log_checkpoint")
    assert _failed(verify_bundle(after, NEW)) == {"receipt_signature"}

    # Trusting both keys verifies it, in either order, from a set, a list or a tuple; each
    # signature check names the key that verified it.
    for keys in ({OLD, NEW}, [NEW, OLD], (OLD, NEW, OLD)):
        results = verify_bundle(after, keys)
        assert _failed(results) == set(), results
        assert _signed_by(results) == {"receipt_signature": (OLD,), "log_checkpoint": (NEW,)}
    assert _signed_by(verify_bundle(fresh, [OLD, NEW])) == {"receipt_signature": (NEW,), "log_checkpoint": (NEW,)}

    # A wrong key verifies nothing, and adding it to the trusted set changes nothing.
    assert _failed(verify_bundle(after, WRONG)) == set(SIGNATURE_CHECKS)
    assert _failed(verify_bundle(after, [WRONG, OLD])) == {"log_checkpoint"}
    assert _failed(verify_bundle(after, [WRONG, OLD, NEW])) == set()
    with pytest.raises(ValueError, match="no trusted public key"):
        verify_bundle(after, [])

    # The CLI: --sequencer-key repeated, and still once.
    path = tmp_path / "old-event.json"
    path.write_text(json.dumps(after))
    status, printed = _cli(path, OLD, NEW)
    assert status == 0, printed
    assert f"PASS receipt_signature: by key {OLD.hex()}\n" in printed
    assert f"PASS log_checkpoint: by key {NEW.hex()}\n" in printed
    assert printed.endswith("bundle verified\n")
    status, printed = _cli(path, OLD)
    assert status == 1
    assert "FAIL log_checkpoint: the checkpoint does not verify: no signature by this key" in printed
    assert printed.endswith("bundle REJECTED: log_checkpoint, log_inclusion\n")
    status, printed = _cli(path, NEW)
    assert status == 1
    assert printed.endswith("bundle REJECTED: receipt_signature\n")
    status, printed = _cli(path, WRONG, NEW)
    assert status == 1
    assert "FAIL receipt_signature: the receipt signature verifies with none of the 2 trusted sequencer keys" in printed

    both = _python_m_ves(path, OLD, NEW)
    assert both.returncode == 0, both.stdout + both.stderr
    assert f"PASS receipt_signature: by key {OLD.hex()}" in both.stdout
    assert both.stdout.endswith("bundle verified\n")
    wrong = _python_m_ves(path, WRONG)
    assert wrong.returncode == 1
    assert wrong.stdout.endswith("bundle REJECTED: receipt_signature, log_checkpoint, log_inclusion\n")


def test_with_the_previous_key_set_the_old_key_alone_still_verifies(
    admin_client: APIClient, agent: Agent, tmp_path: Path
) -> None:
    with override_settings(VES_SEQUENCER_SIGNING_KEY=OLD_SEED.hex()):
        old_event = _append_and_commit(admin_client, agent, 2)[1]

    rotated = {"VES_SEQUENCER_SIGNING_KEY": NEW_SEED.hex(), "VES_SEQUENCER_PREVIOUS_SIGNING_KEYS": OLD_SEED.hex()}
    with override_settings(**rotated):
        assert not [m for m in run_checks() if m.id == "sequencer.E017"]
        new_event = _append_and_commit(admin_client, agent, 2)[0]
        old_bundle = _bundle(admin_client, agent, old_event)
        new_bundle = _bundle(admin_client, agent, new_event)

    # The newest checkpoint carries a line by each key, under the same key name.
    note = parse_checkpoint(old_bundle["log"]["checkpoint"])
    assert [s.key_name for s in note.signatures] == ["sequencer.local"] * 2
    assert old_bundle["log"]["checkpoint"] == new_bundle["log"]["checkpoint"]

    # A verifier holding only the old key is not stranded for events signed before the rotation.
    results = verify_bundle(old_bundle, OLD)
    assert _failed(results) == set(), results
    assert _signed_by(results) == {"receipt_signature": (OLD,), "log_checkpoint": (OLD,)}
    # Events after it carry the new key's receipt: the new key alone verifies them, the old does not.
    assert _signed_by(verify_bundle(new_bundle, NEW)) == {"receipt_signature": (NEW,), "log_checkpoint": (NEW,)}
    assert _failed(verify_bundle(new_bundle, OLD)) == {"receipt_signature"}
    assert _signed_by(verify_bundle(old_bundle, [NEW, OLD]))["log_checkpoint"] == (NEW, OLD)

    path = tmp_path / "old-event.json"
    path.write_text(json.dumps(old_bundle))
    status, printed = _cli(path, OLD)
    assert status == 0, printed
    assert f"PASS log_checkpoint: by key {OLD.hex()}\n" in printed
    status, printed = _cli(path, NEW, OLD)
    assert status == 0, printed
    assert f"PASS log_checkpoint: by keys {NEW.hex()}, {OLD.hex()}\n" in printed
    status, printed = _cli(path, WRONG)
    assert status == 1
    assert "no signature by this key (the note is signed by sequencer.local+" in printed

    # Once the previous key is dropped, new checkpoints carry no line by it: the old key alone
    # fails the checkpoint again (every verifier must trust the new key by then).
    with override_settings(VES_SEQUENCER_SIGNING_KEY=NEW_SEED.hex()):
        _append_and_commit(admin_client, agent, 1)
        dropped = _bundle(admin_client, agent, old_event)
    assert _failed(verify_bundle(dropped, OLD)) == {"log_checkpoint"}
    assert _failed(verify_bundle(dropped, {OLD, NEW})) == set()


@pytest.mark.parametrize(
    ("current", "previous"),
    [
        (NEW_SEED.hex(), "zz" * 32),
        (NEW_SEED.hex(), OLD_SEED.hex()[:-2]),
        (NEW_SEED.hex(), f"{OLD_SEED.hex()},{WRONG_SEED.hex()[:10]}"),
        (NEW_SEED.hex(), ",".join((bytes([n]) * 32).hex() for n in range(8))),
        ("", OLD_SEED.hex()),
    ],
    ids=["not-hex", "short", "one-of-two-short", "too-many", "without-a-current-key"],
)
def test_a_malformed_previous_keys_setting_is_refused(current: str, previous: str) -> None:
    with override_settings(VES_SEQUENCER_SIGNING_KEY=current, VES_SEQUENCER_PREVIOUS_SIGNING_KEYS=previous):
        messages = [m for m in run_checks() if m.id == "sequencer.E017"]
    assert len(messages) == 1
    assert previous not in messages[0].msg  # seeds are secrets: never echoed


@pytest.mark.parametrize(
    "previous",
    ["", f"0x{OLD_SEED.hex()}", f" {OLD_SEED.hex()} , {WRONG_SEED.hex()} ,", f"{NEW_SEED.hex()},{OLD_SEED.hex()}"],
)
def test_a_well_formed_previous_keys_setting_passes(previous: str) -> None:
    with override_settings(VES_SEQUENCER_SIGNING_KEY=NEW_SEED.hex(), VES_SEQUENCER_PREVIOUS_SIGNING_KEYS=previous):
        assert not [m for m in run_checks() if m.id == "sequencer.E017"]
