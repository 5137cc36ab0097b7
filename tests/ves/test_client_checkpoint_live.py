"""Signed log checkpoints and consistency proofs through the SDK (sync and async) and ``ves
checkpoint``, end to end against a live server (real PostgreSQL and Redis): a verifier that keeps
the last checkpoint it accepted notices a log that does not extend it (a split view).

Also the redirect of a wrong base URL (``…/admin``, Django's admin login) against the real app."""

from __future__ import annotations

import asyncio
import io
import json
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.tenants.factories import issue_key, make_tenant
from tests.ves.test_client_live import order
from ves.checkpoint import sign_checkpoint
from ves.cli import main as cli_main
from ves.client import AgentSigner, ApiError, AsyncSequencerClient, NotFoundError, SequencerClient
from ves.client_log import LogCheckError, check_checkpoint, check_consistency
from ves.signing import public_key_from_seed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SEED = bytes(range(32))
SEQUENCER_KEY = public_key_from_seed(SEED)
OTHER_KEY = public_key_from_seed(bytes(32))

Stream = tuple[str, str, uuid.UUID, uuid.UUID]


@pytest.fixture
def stream(live_server: Any, settings: Any) -> Stream:
    """(server URL, admin key of a new tenant, tenant id, store id); the server signs checkpoints."""
    settings.VES_SEQUENCER_SIGNING_KEY = SEED.hex()
    tenant = make_tenant()
    return live_server.url, issue_key(tenant, can_write=True, can_admin=True), tenant.id, uuid.uuid4()


def _commit(stream: Stream, start: int, end: int, *, ves: bool = False) -> None:
    url, key, tenant_id, store_id = stream
    body = {"tenant_id": str(tenant_id), "store_id": str(store_id), "sequence_start": start, "sequence_end": end}
    prefix = "ves/" if ves else ""
    response = httpx.post(f"{url}/api/v1/{prefix}commitments", json=body, headers={"Authorization": f"ApiKey {key}"})
    assert response.status_code == 200, response.text


def _legacy_log(stream: Stream, sizes: tuple[int, ...]) -> None:
    """Append ``sizes[-1]`` legacy events and commit them so that the log has a checkpoint at each size."""
    url, key, tenant_id, store_id = stream
    with SequencerClient(url, key) as client:
        client.append([order(tenant_id, store_id, n) for n in range(sizes[-1])])
    start = 1
    for size in sizes:
        _commit(stream, start, size)
        start = size + 1


def test_sdk_checkpoints_and_consistency_proofs(stream: Stream) -> None:
    url, key, tenant_id, store_id = stream
    _legacy_log(stream, (3, 5, 8))
    with SequencerClient(url, key) as client:
        latest_answer = client.checkpoint(tenant_id, store_id, ves=False)
        at3_answer = client.checkpoint(tenant_id, store_id, tree_size=3, ves=False)
        proof = client.consistency_proof(tenant_id, store_id, 3, 8, ves=False)
        to_latest = client.consistency_proof(tenant_id, store_id, 5, ves=False)
        with pytest.raises(NotFoundError) as empty:
            client.checkpoint(tenant_id, store_id)  # the stream's VES log is empty
        with pytest.raises(ValueError, match="first must be an integer >= 0"):
            client.consistency_proof(tenant_id, store_id, -1)
    ids: dict[str, Any] = {"tenant_id": tenant_id, "store_id": store_id, "ves": False}
    latest = check_checkpoint(latest_answer, SEQUENCER_KEY, **ids)
    at3 = check_checkpoint(at3_answer, SEQUENCER_KEY, **ids, tree_size=3)
    assert (latest.checkpoint.tree_size, at3.checkpoint.tree_size, latest.verified_by) == (8, 3, (SEQUENCER_KEY,))
    assert empty.value.code == "checkpoint_not_found"
    check_consistency(at3, latest, proof)
    assert (to_latest["first"], to_latest["second"]) == (5, 8)

    refusals: list[tuple[Any, Any, dict[str, Any], str]] = [
        (latest_answer, SEQUENCER_KEY, {**ids, "tree_size": 5}, "signed at size 8, not 5"),
        (latest_answer, SEQUENCER_KEY, {**ids, "ves": True}, "not of the stream's ves log"),
        (latest_answer, SEQUENCER_KEY, {**ids, "store_id": uuid.uuid4()}, "of another stream"),
        (latest_answer, OTHER_KEY, ids, "no signature by this key"),
        ({**latest_answer, "root_hash": at3_answer["root_hash"]}, SEQUENCER_KEY, ids, "differs from its signed"),
        ({**latest_answer, "checkpoint": None}, SEQUENCER_KEY, ids, "it has no signed note"),
    ]
    for answer, keys, expected, message in refusals:
        with pytest.raises(LogCheckError, match=message):
            check_checkpoint(answer, keys, **expected)
    wrong = {**proof, "proof": list(reversed(proof["proof"]))}
    with pytest.raises(LogCheckError, match="is not consistent with the checkpoint at size 3"):
        check_consistency(at3, latest, wrong)
    with pytest.raises(LogCheckError, match="the proof is from size 5 to 8, not from 3 to 8"):
        check_consistency(at3, latest, to_latest)


def test_async_sdk_checkpoints_and_consistency_proofs(stream: Stream) -> None:
    url, key, tenant_id, store_id = stream
    signer = AgentSigner.generate()
    with SequencerClient(url, key) as client:
        client.register_signing_key(tenant_id, signer.agent_id, signer.key_id, signer.public_key)
        events = [
            {"entity_type": "order", "entity_id": f"o-{n}", "event_type": "order.created", "payload": {"n": n}}
            for n in range(4)
        ]
        client.append_signed(signer, tenant_id, store_id, events)
    _commit(stream, 1, 2, ves=True)
    _commit(stream, 3, 4, ves=True)

    async def run() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        async with AsyncSequencerClient(url, key) as client:
            return (
                await client.checkpoint(tenant_id, store_id, tree_size=2),
                await client.checkpoint(tenant_id, store_id),
                await client.consistency_proof(tenant_id, store_id, 2),
            )

    first, latest, proof = asyncio.run(run())
    ids: dict[str, Any] = {"tenant_id": tenant_id, "store_id": store_id}
    old, new = check_checkpoint(first, SEQUENCER_KEY, **ids), check_checkpoint(latest, SEQUENCER_KEY, **ids)
    check_consistency(old, new, proof)
    assert (old.checkpoint.tree_size, new.checkpoint.tree_size, proof["second"]) == (2, 4, 4)
    assert new.checkpoint.sequencer.endswith("/ves")


# --- the CLI ---------------------------------------------------------------------------------------


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _cli(stream: Stream, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, list[str]]:
    url, key, tenant_id, store_id = stream
    base = ["--url", url, "--api-key", key, "checkpoint", "--tenant", str(tenant_id), "--store", str(store_id)]
    out = io.StringIO()
    status = cli_main([*base, "--sequencer-key", SEQUENCER_KEY.hex(), *args], out=out)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, out.getvalue(), err.splitlines()


def test_cli_saves_a_checkpoint_then_checks_the_next_extends_it(
    stream: Stream, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "cp.json"
    _legacy_log(stream, (3,))
    status, printed, said = _cli(stream, "--out", str(saved), capsys=capsys)
    assert (status, said) == (0, [])
    summary = json.loads(printed)
    assert (summary["treeSize"], summary["consistentWith"], summary["verifiedBy"]) == (3, None, [SEQUENCER_KEY.hex()])
    assert json.loads(saved.read_text())["tree_size"] == 3

    url, key, tenant_id, store_id = stream
    with SequencerClient(url, key) as client:
        client.append([order(tenant_id, store_id, n) for n in range(3, 7)])
    _commit(stream, 4, 7)

    status, printed, said = _cli(stream, "--since", str(saved), "--out", str(saved), capsys=capsys)
    assert (status, said) == (0, [])
    assert (json.loads(printed)["treeSize"], json.loads(printed)["consistentWith"]) == (7, 3)
    assert json.loads(saved.read_text())["tree_size"] == 7
    assert not [p for p in tmp_path.iterdir() if p.name != "cp.json"]  # no temporary file left
    assert saved.stat().st_mode & 0o777 == 0o666 & ~_umask()  # a file as open() creates it, not 0600

    # Without --out the verified checkpoint goes to stdout; --size picks an older one.
    status, printed, _ = _cli(stream, "--size", "3", capsys=capsys)
    assert (status, json.loads(printed)["tree_size"]) == (0, 3)
    # The same size again is consistent with itself.
    assert _cli(stream, "--since", str(saved), capsys=capsys)[0] == 0
    # A saved checkpoint newer than the one asked for: the log would have gone backwards.
    status, printed, said = _cli(stream, "--since", str(saved), "--size", "3", capsys=capsys)
    assert (status, printed) == (1, "")
    assert said == ["ves: the log went backwards: the new checkpoint's size 3 is below the earlier one's 7"]


def test_cli_fails_on_a_split_view(
    stream: Stream, tmp_path: Path, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sequencer's key signed a checkpoint at size 3 whose root is not the log's: the server's
    log at 5 does not extend it. Exit 1, and the saved file is left as it was."""
    _legacy_log(stream, (3, 5))
    _, _, tenant_id, store_id = stream
    forked = bytes(32 * [7])
    note = sign_checkpoint(
        SEED,
        key_name=settings.CHECKPOINT_SEQUENCER_NAME,
        sequencer=f"{settings.CHECKPOINT_SEQUENCER_NAME}/legacy",
        tenant_id=tenant_id,
        store_id=store_id,
        tree_size=3,
        root_hash=forked,
    )
    saved = tmp_path / "cp.json"
    saved.write_text(json.dumps({"tree_size": 3, "root_hash": forked.hex(), "checkpoint": note}))
    before = saved.read_text()

    status, printed, said = _cli(stream, "--since", str(saved), "--out", str(saved), capsys=capsys)

    assert (status, printed, len(said), saved.read_text()) == (1, "", 1, before)
    assert said[0].startswith("ves: the log at size 5 (root ")
    assert f"is not consistent with the checkpoint at size 3 (root {forked.hex()})" in said[0]
    assert "the server's log had root" in said[0]


def test_cli_fails_on_a_saved_checkpoint_whose_root_was_changed(
    stream: Stream, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _legacy_log(stream, (3, 5))
    saved = tmp_path / "cp.json"
    assert _cli(stream, "--size", "3", "--out", str(saved), capsys=capsys)[0] == 0
    answer = json.loads(saved.read_text())
    origin, size, root, rest = answer["checkpoint"].split("\n", 3)
    changed = "A" + root[1:] if root[0] != "A" else "B" + root[1:]
    saved.write_text(json.dumps({**answer, "checkpoint": "\n".join((origin, size, changed, rest))}))

    status, printed, said = _cli(stream, "--since", str(saved), capsys=capsys)

    assert (status, printed) == (1, "")
    assert said == [f"ves: {saved}: the checkpoint does not verify: the signature by 'sequencer.local' does not verify"]


def test_cli_usage_and_refusals(stream: Stream, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _legacy_log(stream, (2,))
    missing = tmp_path / "none.json"
    assert _cli(stream, "--since", str(missing), capsys=capsys) == (
        2,
        "",
        [f"ves: {missing}: No such file or directory"],
    )
    other = tmp_path / "other.json"
    other.write_text("[]")
    said = [f"ves: {other}: not a saved checkpoint (`ves checkpoint --out FILE` writes one)"]
    assert _cli(stream, "--since", str(other), capsys=capsys) == (2, "", said)
    status, _, said = _cli(stream, "--ves", capsys=capsys)  # the stream's VES log is empty
    assert (status, said) == (1, [said[0]])
    assert said[0].startswith("ves: 404 checkpoint_not_found")
    url, key, tenant_id, store_id = stream
    wrong_key = [
        "--url", url, "--api-key", key, "checkpoint", "--tenant", str(tenant_id), "--store", str(store_id),
        "--sequencer-key", OTHER_KEY.hex(),
    ]  # fmt: skip
    assert cli_main(wrong_key, out=io.StringIO()) == 1
    assert capsys.readouterr().err.startswith("ves: the checkpoint does not verify: no signature by this key")


# --- a base URL that redirects (Django's admin login) ----------------------------------------------


def test_a_base_url_that_redirects_is_an_error_not_a_success(
    stream: Stream, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, key, tenant_id, store_id = stream
    with SequencerClient(url + "/admin", key) as client, pytest.raises(ApiError) as raised:
        client.head(tenant_id, store_id)
    assert raised.value.status == 302
    assert raised.value.title.startswith("redirect to /admin/login/")

    out = tmp_path / "x.json"
    argv = ["--url", url + "/admin", "--api-key", key, "bundle", str(uuid.uuid4()), "--legacy", "--out", str(out)]
    assert cli_main(argv, out=io.StringIO()) == 1
    said = capsys.readouterr().err.splitlines()
    assert len(said) == 1
    assert said[0].startswith("ves: 302 http_302: redirect to /admin/login/")
    assert not out.exists()
