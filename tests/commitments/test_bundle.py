"""Offline proof bundles: served by the API, verified by ``python -m ves verify`` without Django."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from tests.commitments.helpers import create, ingest_legacy_case, ingest_ves_case
from tests.sequencer_project.ops_helpers import ROOT
from tests.ves.ves_case_vectors import CASES
from ves.bundle import verify_bundle
from ves.signing import public_key_from_seed

pytestmark = pytest.mark.django_db

SEED = bytes(range(32))
KEY = public_key_from_seed(SEED)


# Runs ``python -m ves`` and fails (exit 1 from the assertion) if anything imported Django.
CLI_WITHOUT_DJANGO = """
import runpy, sys
sys.argv = ["ves", *sys.argv[1:]]
try:
    runpy.run_module("ves", run_name="__main__")
finally:
    assert "django" not in sys.modules
"""


def _failed(bundle: Any, key: bytes = KEY) -> list[str]:
    """The failed checks that are root causes (not failed only because an earlier check failed)."""
    return [r.name for r in verify_bundle(bundle, key) if not r.ok and not r.detail.startswith("depends on")]


def _ves_bundles(admin: APIClient, case: dict[str, Any], split: int) -> list[dict[str, Any]]:
    ingest_ves_case(admin, case)
    n = len(case["events"])
    create(admin, "ves/", case["tenant_id"], case["store_id"], 1, split)
    if split < n:
        create(admin, "ves/", case["tenant_id"], case["store_id"], split + 1, n)
    bundles = []
    for event in case["events"]:
        response = admin.get(f"/api/v1/ves/events/{event['event_id']}/bundle?tenant_id={case['tenant_id']}")
        assert response.status_code == 200, response.content
        bundles.append(json.loads(response.content))
    return bundles


@override_settings(VES_SEQUENCER_SIGNING_KEY=SEED.hex())
@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_every_event_of_every_case_has_a_valid_bundle(admin_client: APIClient, case: dict[str, Any]) -> None:
    bundles = _ves_bundles(admin_client, case, split=max(1, len(case["events"]) // 2))
    for bundle in bundles:
        assert _failed(bundle) == []
        assert bundle["anchor"] is None
        assert bundle["inclusion_proof"]["merkle_root"] == bundle["commitment"]["merkle_root"]


TAMPERS: list[tuple[str, Callable[[dict[str, Any]], None], set[str]]] = [
    ("payload", lambda b: b["event"]["envelope"]["payload"].update(extra=1), {"payload_plain_hash"}),
    ("entity", lambda b: b["event"]["envelope"].update(entity_id="other"), {"event_signing_hash", "receipt_hash"}),
    (
        "receipt hash",
        lambda b: b["event"]["receipt"].update(receiptHash="00" * 32),
        {"receipt_hash", "receipt_signature"},
    ),
    (
        "proof path",
        lambda b: b["inclusion_proof"]["proof_path"].__setitem__(0, "11" * 32),
        {"commitment_inclusion"},
    ),
    (
        "merkle root",
        lambda b: b["commitment"].update(merkle_root="22" * 32),
        {"commitment_leaf", "commitment_inclusion", "commitment_state_root"},
    ),
    ("state root", lambda b: b["commitment"].update(new_state_root="33" * 32), {"commitment_state_root"}),
    ("log proof", lambda b: b["log"]["proof"].__setitem__(0, "44" * 32), {"log_inclusion"}),
    (
        "checkpoint",
        lambda b: b["log"].update(checkpoint=b["log"]["checkpoint"].replace("\n9\n", "\n8\n", 1)),
        {"log_checkpoint"},
    ),
    ("log size", lambda b: b["log"].update(tree_size=8), {"log_checkpoint"}),
    ("format", lambda b: b.update(format="other"), {"format"}),
]


@override_settings(VES_SEQUENCER_SIGNING_KEY=SEED.hex())
def test_tampering_names_the_failing_check(admin_client: APIClient) -> None:
    case = CASES[3]  # 9 plaintext-and-encrypted events; use a plaintext one
    bundles = _ves_bundles(admin_client, case, split=4)
    bundle = next(b for b in bundles if b["event"]["envelope"]["payload_kind"] == 0 and b["log"]["proof"])
    assert _failed(bundle) == []
    for label, tamper, expected in TAMPERS:
        changed = copy.deepcopy(bundle)
        tamper(changed)
        assert set(_failed(changed)) == expected, label
    assert set(_failed(bundle, key=public_key_from_seed(bytes(32)))) == {
        "receipt_signature",
        "log_checkpoint",
    }


@override_settings(VES_SEQUENCER_SIGNING_KEY=SEED.hex())
def test_cli_verifies_without_django(admin_client: APIClient, tmp_path: Path) -> None:
    bundle = _ves_bundles(admin_client, CASES[1], split=8)[5]
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(bundle))
    bundle["inclusion_proof"]["proof_path"][1] = "55" * 32
    bad.write_text(json.dumps(bundle))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE"))}

    def run(path: Path, key: bytes) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603
            [
                sys.executable,
                "-c",
                CLI_WITHOUT_DJANGO,
                "verify",
                str(path),
                "--sequencer-key",
                key.hex(),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    ok = run(good, KEY)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.strip().endswith("bundle verified")
    rejected = run(bad, KEY)
    assert rejected.returncode == 1
    assert (
        "FAIL commitment_inclusion: the inclusion proof does not lead to the commitment's merkle_root"
        in rejected.stdout
    )
    assert rejected.stdout.strip().endswith("bundle REJECTED: commitment_inclusion")
    unreadable = run(tmp_path / "missing.json", KEY)
    assert unreadable.returncode == 2


@override_settings(VES_SEQUENCER_SIGNING_KEY=SEED.hex())
def test_legacy_bundle(admin_client: APIClient) -> None:
    case = CASES[5]
    ingest_legacy_case(admin_client, case)
    create(admin_client, "", case["tenant_id"], case["store_id"], 1, len(case["events"]))
    for event in case["events"]:
        response = admin_client.get(f"/api/v1/events/{event['event_id']}/bundle?tenant_id={case['tenant_id']}")
        assert response.status_code == 200, response.content
        bundle = json.loads(response.content)
        assert _failed(bundle) == []
        bundle["event"]["envelope"]["entity_type"] = "changed"
        assert set(_failed(bundle)) == {"commitment_leaf", "log_inclusion"}


def test_uncommitted_or_unknown_events(admin_client: APIClient) -> None:
    case = CASES[0]
    ingest_ves_case(admin_client, case)
    url = f"/api/v1/ves/events/{case['events'][0]['event_id']}/bundle?tenant_id={case['tenant_id']}"
    response = admin_client.get(url)
    assert response.status_code == 409
    assert response.json()["code"] == "event_not_committed"
    other = admin_client.get(
        f"/api/v1/ves/events/{CASES[1]['events'][0]['event_id']}/bundle?tenant_id={case['tenant_id']}"
    )
    assert other.status_code == 404
