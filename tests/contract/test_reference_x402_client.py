"""The Rust reference's own x402 client, unchanged, against our server over real HTTP.

The client (``cli/src/x402/client.js``) is extracted at test time from the reference's git
mirror (``REFERENCE_MIRROR``, default the workplace's bare mirror) into a temporary directory,
its two npm dependencies are installed there, and ``reference_x402_client.mjs`` drives it
against pytest-django's live server: two payments (one ``usdc`` with a number amount, one
``ssusd`` with a BigInt amount and an idempotency key), status, list, batch, batch status,
settlement, both receipts, status and a filtered list afterwards. The only things added are
what our server needs and the reference does not: the credential (an ``Authorization`` header
added around ``fetch``) and the agent's public key registered by a tenant admin (ADR 0006).

Skipped, with the reason, when ``node`` or the mirror is absent. A failing ``npm install`` is a
failure: with node present the client must be runnable.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path
from typing import Any

import pytest

from payments.receipts import receipt_verify
from tests.conftest import Persona
from tests.events.ves_helpers import register_key
from ves.signing import public_key_from_seed

MIRROR = Path(os.environ.get("REFERENCE_MIRROR", "/work/.mirror/stateset+stateset-sequencer/repo"))
HARNESS = Path(__file__).with_name("reference_x402_client.mjs")
NODE = shutil.which("node")
NPM = shutil.which("npm")
GIT = shutil.which("git")


def _mirror_has_client() -> bool:
    if GIT is None or not MIRROR.exists():
        return False
    probe = subprocess.run(  # noqa: S603 - git on the fixed mirror path
        [GIT, "-C", str(MIRROR), "cat-file", "-e", "HEAD:cli/src/x402/client.js"], capture_output=True, check=False
    )
    return probe.returncode == 0


pytestmark = [
    pytest.mark.skipif(
        NODE is None or NPM is None, reason="node/npm not on PATH: the reference's JS client cannot run"
    ),
    pytest.mark.skipif(
        not _mirror_has_client(), reason=f"no reference mirror with cli/ at {MIRROR} (REFERENCE_MIRROR)"
    ),
]


@pytest.fixture(scope="module")
def client_module(tmp_path_factory: pytest.TempPathFactory) -> str:
    """``file://`` URL of the reference's client.js, extracted with its dependencies installed."""
    root = tmp_path_factory.mktemp("reference-x402")
    assert GIT is not None
    archive = subprocess.run(  # noqa: S603 - git on the fixed mirror path
        [GIT, "-C", str(MIRROR), "archive", "HEAD", "cli"], capture_output=True, check=True
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(root, filter="data")
    assert NPM is not None
    installed = subprocess.run(  # noqa: S603 - npm installs the client's own package.json
        [NPM, "install", "--no-audit", "--no-fund", "--prefer-offline"],
        cwd=root / "cli",
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert installed.returncode == 0, f"npm install of the reference client failed:\n{installed.stderr}"
    return (root / "cli" / "src" / "x402" / "client.js").as_uri()


def _run_client(env: dict[str, str]) -> dict[str, Any]:
    assert NODE is not None
    done = subprocess.run(  # noqa: S603 - node runs our harness file
        [NODE, str(HARNESS)], env={**os.environ, **env}, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"the reference client failed:\n{done.stderr}"
    return dict(json.loads(done.stdout))


@pytest.mark.django_db(transaction=True)
def test_the_reference_client_pays_batches_settles_and_reads_receipts(
    owner: Persona, live_server: Any, client_module: str
) -> None:
    seed, agent_id = os.urandom(32), uuid.uuid4()
    public_key = public_key_from_seed(seed)
    registered = register_key(owner.client, owner.tenant_id, agent_id, 1, public_key)
    assert registered.status_code in (200, 201), registered.content

    out = _run_client(
        {
            "X402_CLIENT_MODULE": client_module,
            "X402_API_URL": live_server.url,
            "X402_API_KEY": owner.key,
            "X402_TENANT_ID": str(owner.tenant_id),
            "X402_STORE_ID": str(owner.store_id),
            "X402_AGENT_ID": str(agent_id),
            "X402_PRIVATE_KEY": seed.hex(),
        }
    )

    first, second = out["submitted"]
    assert [(s["status"], s["sequence_number"], s["batch_id"]) for s in (first, second)] == [
        ("sequenced", 1, None),
        ("sequenced", 2, None),
    ]
    assert out["status"] == first
    payer = "0x" + public_key.hex()
    assert [(i["intent_id"], i["payer_address"], i["asset"]) for i in out["listed"]] == [
        (second["intent_id"], payer, "ssusd"),
        (first["intent_id"], payer, "usdc"),
    ]
    assert all("updated_at" in i and i["source_agent_id"] == str(agent_id) for i in out["listed"])
    created = out["batch_created"]
    assert (created["status"], created["payment_count"], created["sequence_range"]) == ("committed", 2, [1, 2])
    batch = out["batch"]["batch"]
    assert "0x" + batch["merkle_root"] == created["merkle_root"]
    assert sorted((t["asset"], t["total_amount"]) for t in batch["total_amounts"]) == [
        ("ssusd", 500_000),
        ("usdc", 1_000_000),
    ]
    assert out["settle_status"] == 200
    assert out["settled"] == {
        "batch_id": created["batch_id"],
        "status": "settled",
        "tx_hash": "0x" + "5e" * 32,
        "block_number": 1234,
        "gas_used": 21000,
        "message": "Batch submitted and settled",
    }
    receipts = [r["receipt"] for r in out["receipts"]]
    assert [(r["intent_id"], r["leaf_index"], r["total_leaves"]) for r in receipts] == [
        (first["intent_id"], 0, 2),
        (second["intent_id"], 1, 2),
    ]
    assert all(r["merkle_root"] == created["merkle_root"] and receipt_verify(r) for r in receipts)
    assert all((r["tx_hash"], r["block_number"]) == ("0x" + "5e" * 32, 1234) for r in receipts)
    assert (out["status_after"]["status"], out["status_after"]["batch_id"]) == ("settled", created["batch_id"])
    assert {i["intent_id"] for i in out["listed_settled"]} == {first["intent_id"], second["intent_id"]}
