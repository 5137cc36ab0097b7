"""Commitments, proofs and the anchor service's routes as the reference's clients use them.

Shapes, types and status codes read from the reference's handlers (``src/api/handlers/
commitments.rs``, ``ves/commitments.rs``, ``ves/inclusion_proofs.rs``, ``proofs.rs``,
``anchor_compat_router`` in ``src/api/mod.rs``). The reference has no automatic commitments, so
its clients ask for whatever range they ingested; here the chain may already have sealed it
differently (ADR 0020), and the request must still answer 200 with a commitment of that range.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from commitments.services.commitments import commitment_seal_next
from streams.kinds import StreamKind
from tests.commitments.helpers import create, ingest_ves_case, post_json
from tests.conftest import IngestPoster, Persona, api_client, legacy_event
from tests.ves.ves_case_vectors import CASES
from tests.wsgi import exchange as wsgi_call

pytestmark = pytest.mark.django_db

HEX64 = re.compile(r"[0-9a-f]{64}")
HEX64_0X = re.compile(r"0x[0-9a-f]{64}")
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
PATTERNS = {"hex": HEX64, "0xhex": HEX64_0X, "time": RFC3339}

# The keys of the reference's answers, and their JSON types ("hex": bare lowercase 64-hex).
LEGACY_CREATE = {
    "batch_id": "uuid",
    "tenant_id": "uuid",
    "store_id": "uuid",
    "prev_state_root": "hex",
    "new_state_root": "hex",
    "events_root": "hex",
    "event_count": int,
    "sequence_start": int,
    "sequence_end": int,
    "committed_at": "time",
}
LEGACY_LIST_ITEM = {
    k: LEGACY_CREATE[k]
    for k in ("batch_id", "tenant_id", "store_id", "events_root", "event_count", "sequence_start", "sequence_end")
} | {"committed_at": "time", "is_anchored": bool}
# GET /api/v1/commitments/{batch_id}: the reference serializes its whole ``BatchCommitment``
# (src/domain/commitment.rs), so ``sequence_range: [start, end]`` and ``chain_tx_hash`` too; the
# roots stay hex and ``sequence_start``/``sequence_end`` stay, as the reference's own guide shows.
LEGACY_DETAIL = LEGACY_CREATE | {"sequence_range": list, "chain_tx_hash": (str, type(None)), "is_anchored": bool}
VES_CREATE = {
    "batch_id": "uuid",
    "tenant_id": "uuid",
    "store_id": "uuid",
    "ves_version": int,
    "tree_depth": int,
    "leaf_count": int,
    "padded_leaf_count": int,
    "merkle_root": "hex",
    "prev_state_root": "hex",
    "new_state_root": "hex",
    "sequence_start": int,
    "sequence_end": int,
    "committed_at": "time",
}
VES_LIST_ITEM = VES_CREATE | {"is_anchored": bool}
VES_DETAIL = VES_LIST_ITEM | {
    "chain_id": (int, type(None)),
    "chain_tx_hash": (str, type(None)),
    "chain_block_number": (int, type(None)),
    "anchored_at": (str, type(None)),
    "on_request": bool,  # ours: whether it is a link of the chain (ADR 0020); a reference client ignores it
}
PROOF = {
    "sequence_number": int,
    "batch_id": "uuid",
    "leaf_hash": "hex",
    "leaf_index": int,
    "proof_path": list,
    "directions": list,
}
PENDING_ITEM = {
    "batch_id": "uuid",
    "tenant_id": "uuid",
    "store_id": "uuid",
    "prev_state_root": "0xhex",
    "new_state_root": "0xhex",
    "events_root": "0xhex",
    "sequence_start": int,
    "sequence_end": int,
    "event_count": int,
    "committed_at": "time",
    "chain_tx_hash": type(None),
}


def _conforms(body: dict[str, Any], shape: dict[str, Any], *, exact: bool = False) -> None:
    """Every key of the reference's answer is there with its type (``exact``: and no other)."""
    if exact:
        assert set(body) == set(shape), set(body) ^ set(shape)
    for key, kind in shape.items():
        assert key in body, key
        value = body[key]
        if kind == "uuid":
            assert isinstance(value, str), (key, value)
            assert str(uuid.UUID(value)) == value, (key, value)
        elif kind in PATTERNS:
            assert isinstance(value, str), (key, value)
            assert PATTERNS[kind].fullmatch(value), (key, value)
        else:
            assert isinstance(value, kind), (key, value)
            assert not (kind is int and isinstance(value, bool)), (key, value)


def _problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert (body["code"], body["status"]) == (code, status)


def _ingest_legacy(persona: Persona, post_ingest: IngestPoster, n: int, store_id: uuid.UUID | None = None) -> None:
    events = [legacy_event(persona.tenant.id, store_id or persona.store_id) for _ in range(n)]
    response = post_ingest(persona.client, {"agent_id": str(uuid.uuid4()), "events": events})
    assert response.status_code == 200, response.content


def _seal_chain(tenant_id: Any, store_id: Any, kind: StreamKind, max_events: int) -> list[tuple[int, int]]:
    """What the automatic commitment task does between a client's ingest and its request."""
    ranges = []
    while result := commitment_seal_next(
        tenant_id=uuid.UUID(str(tenant_id)), store_id=uuid.UUID(str(store_id)), kind=kind, max_events=max_events
    ):
        ranges.append((result.commitment.sequence_start, result.commitment.sequence_end))
    return ranges


def test_legacy_commitment_of_a_range_the_chain_already_sealed(owner: Persona, post_ingest: IngestPoster) -> None:
    _ingest_legacy(owner, post_ingest, 8)
    t, s, c = owner.tenant.id, owner.store_id, owner.client
    assert _seal_chain(t, s, StreamKind.LEGACY, 3) == [(1, 3), (4, 6), (7, 8)]

    created = create(c, "", t, s, 2, 5)  # as run_e2e_demo.sh asks for FIRST_SEQ..LAST_SEQ
    assert created.status_code == 200, created.content
    body = created.json()
    _conforms(body, LEGACY_CREATE)
    assert (body["sequence_start"], body["sequence_end"], body["event_count"]) == (2, 5, 4)
    again = create(c, "", t, s, 2, 5)
    assert (again.status_code, again.json()) == (200, body)  # idempotent: the same commitment

    detail = c.get(f"/api/v1/commitments/{body['batch_id']}")
    assert detail.status_code == 200
    assert {k: detail.json()[k] for k in LEGACY_CREATE} == {k: body[k] for k in LEGACY_CREATE}
    listed = c.get(f"/api/v1/commitments?tenant_id={t}&store_id={s}").json()
    assert listed["count"] == len(listed["commitments"]) == 4
    for item in listed["commitments"]:
        _conforms(item, LEGACY_LIST_ITEM)
    assert body["batch_id"] in [item["batch_id"] for item in listed["commitments"]]

    q = f"tenant_id={t}&store_id={s}&batch_id={body['batch_id']}"
    for seq in range(2, 6):
        proof = c.get(f"/api/v1/proofs/{seq}?{q}")
        assert proof.status_code == 200, proof.content
        p = proof.json()
        _conforms(p, PROOF | {"events_root": "hex"})
        assert (p["batch_id"], p["events_root"], p["leaf_index"]) == (body["batch_id"], body["events_root"], seq - 2)
        # the reference client's form (directions from the index) and the bound forms
        for extra in ({}, {"directions": p["directions"]}, {"leaf_count": 4}):
            verify = {k: p[k] for k in ("leaf_hash", "events_root", "proof_path", "leaf_index")} | extra
            answer = post_json(c, "/api/v1/proofs/verify", verify)
            assert answer.status_code == 200
            assert answer.json() == {"valid": True, "leaf_hash": p["leaf_hash"], "events_root": p["events_root"]}
    _problem(c.get(f"/api/v1/proofs/6?{q}"), 400, "sequence_outside_commitment")
    # the chain and its log are as the automatic task left them
    assert c.get(f"/api/v1/log/checkpoint?tenant_id={t}&store_id={s}").json()["tree_size"] == 8
    assert _seal_chain(t, s, StreamKind.LEGACY, 3) == []


def test_legacy_commitment_detail_carries_the_references_sequence_range(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    _ingest_legacy(owner, post_ingest, 5)
    t, s, c = owner.tenant.id, owner.store_id, owner.client
    created = create(c, "", t, s, 2, 4)
    assert created.status_code == 200, created.content

    detail = c.get(f"/api/v1/commitments/{created.json()['batch_id']}")
    assert detail.status_code == 200, detail.content
    body = detail.json()
    _conforms(body, LEGACY_DETAIL)
    assert body["sequence_range"] == [2, 4] == [body["sequence_start"], body["sequence_end"]]
    # The reference's create and list answers spell the range as two members only.
    assert "sequence_range" not in created.json()
    listed = c.get(f"/api/v1/commitments?tenant_id={t}&store_id={s}").json()["commitments"]
    assert listed
    assert all("sequence_range" not in item for item in listed)


def test_ves_commitment_of_a_range_the_chain_already_sealed(admin_client: APIClient) -> None:
    case = CASES[3]  # 9 events
    ingest_ves_case(admin_client, case)
    t, s, c = case["tenant_id"], case["store_id"], admin_client
    assert _seal_chain(t, s, StreamKind.VES, 4) == [(1, 4), (5, 8), (9, 9)]

    created = create(c, "ves/", t, s, 1, 9)  # the range the shared case commits
    assert created.status_code == 200, created.content
    body = created.json()
    _conforms(body, VES_CREATE)
    for key in ("merkle_root", "tree_depth", "leaf_count", "padded_leaf_count", "sequence_start", "sequence_end"):
        assert body[key] == case["commitment"][key], key
    assert body["prev_state_root"] == "00" * 32
    assert create(c, "ves/", t, s, 1, 9).json() == body

    detail = c.get(f"/api/v1/ves/commitments/{body['batch_id']}").json()
    _conforms(detail, VES_DETAIL, exact=True)
    assert {k: detail[k] for k in VES_CREATE} == {k: body[k] for k in VES_CREATE}
    listed = c.get(f"/api/v1/ves/commitments?tenant_id={t}&store_id={s}").json()
    assert listed["count"] == 4
    for item in listed["commitments"]:
        _conforms(item, VES_LIST_ITEM)

    q = f"tenant_id={t}&store_id={s}&batch_id={body['batch_id']}"
    for seq in (1, 5, 9):
        p = c.get(f"/api/v1/ves/proofs/{seq}?{q}").json()
        _conforms(p, PROOF | {"merkle_root": "hex"}, exact=True)
        assert p["merkle_root"] == case["commitment"]["merkle_root"]
        verify = {k: p[k] for k in ("leaf_hash", "merkle_root", "proof_path", "leaf_index")}
        answer = post_json(c, "/api/v1/ves/proofs/verify", verify).json()
        assert answer == {"valid": True, "leaf_hash": p["leaf_hash"], "merkle_root": p["merkle_root"]}
        strict = verify | {"tree_depth": body["tree_depth"], "leaf_count": 9, "directions": p["directions"]}
        assert post_json(c, "/api/v1/ves/proofs/verify", strict).json()["valid"] is True
    # without a batch id the proof comes from the chain, whose log holds every event
    chained = c.get(f"/api/v1/ves/proofs/5?tenant_id={t}&store_id={s}").json()
    assert chained["batch_id"] != body["batch_id"]
    assert chained["leaf_hash"] == c.get(f"/api/v1/ves/proofs/5?{q}").json()["leaf_hash"]


@override_settings(ANCHOR_RPC_URL="eth-tester://", ANCHOR_PRIVATE_KEY="0x" + bytes(range(1, 33)).hex())
def test_commit_and_anchor_a_range_the_chain_already_sealed(admin_client: APIClient) -> None:
    case = CASES[1]
    ingest_ves_case(admin_client, case)
    t, s = case["tenant_id"], case["store_id"]
    _seal_chain(t, s, StreamKind.VES, 3)
    body = {"tenant_id": t, "store_id": s, "sequence_start": 2, "sequence_end": 5}
    first = post_json(admin_client, "/api/v1/ves/commitments/anchor", body)
    assert first.status_code == 200, first.content
    anchored = first.json()
    assert set(anchored) == {
        "batch_id",
        "status",
        "chain_id",
        "chain_tx_hash",
        "chain_block_number",
        "merkle_root",
        "prev_state_root",
        "new_state_root",
        "sequence_start",
        "sequence_end",
    }
    assert (anchored["status"], anchored["sequence_start"], anchored["sequence_end"]) == ("anchored", 2, 5)
    assert HEX64.fullmatch(anchored["chain_tx_hash"])
    again = post_json(admin_client, "/api/v1/ves/commitments/anchor", body).json()
    assert again == anchored | {"status": "already_anchored"}


def test_anchor_service_pending_and_anchored(admin_client: APIClient, owner: Persona) -> None:
    case = CASES[1]
    ingest_ves_case(admin_client, case)
    t, s = case["tenant_id"], case["store_id"]
    chain = _seal_chain(t, s, StreamKind.VES, 4)
    requested = create(admin_client, "ves/", t, s, 2, 3).json()

    pending = admin_client.get("/v1/commitments/pending")
    assert pending.status_code == 200
    page = pending.json()
    assert set(page) == {"commitments", "total"}
    mine = [item for item in page["commitments"] if item["tenant_id"] == t]
    assert page["total"] == len(page["commitments"])
    assert len(mine) == len(chain) + 1
    for item in mine:
        _conforms(item, PENDING_ITEM, exact=True)
    by_id = {item["batch_id"]: item for item in mine}
    assert by_id[requested["batch_id"]]["events_root"] == "0x" + requested["merkle_root"]
    assert by_id[requested["batch_id"]]["event_count"] == 2
    assert admin_client.get("/v1/commitments/pending?limit=1").json()["total"] == 1
    assert admin_client.get("/v1/commitments/pending?limit=0").json() == {"commitments": [], "total": 0}

    batch = requested["batch_id"]
    tx = "0x" + "ab" * 32
    notice = {"chain_tx_hash": tx, "chain_id": 84532, "block_number": 77, "gas_used": 21000}
    url = f"/v1/commitments/{batch}/anchored"
    # only the bootstrap admin, every other credential is refused whatever its rights
    _problem(owner.client.get("/v1/commitments/pending"), 403, "bootstrap_admin_required")
    _problem(post_json(owner.client, url, notice), 403, "bootstrap_admin_required")
    assert api_client().get("/v1/commitments/pending").status_code == 401
    _problem(post_json(admin_client, url, notice | {"chain_tx_hash": "0x1234"}), 400, "invalid_anchor_record")
    _problem(post_json(admin_client, url, notice | {"chain_tx_hash": "zz" * 32}), 400, "invalid_anchor_record")
    _problem(post_json(admin_client, url, notice | {"chain_id": 2**32}), 400, "invalid_anchor_record")
    _problem(post_json(admin_client, url, notice | {"chain_id": "1"}), 422, "invalid_request")
    _problem(post_json(admin_client, url, {"chain_id": 1}), 422, "invalid_request")
    _problem(post_json(admin_client, f"/v1/commitments/{uuid.uuid4()}/anchored", notice), 404, "commitment_not_found")
    _problem(post_json(admin_client, "/v1/commitments/nope/anchored", notice), 400, "invalid_parameter")

    recorded = post_json(admin_client, url, notice)
    assert recorded.status_code == 200, recorded.content
    assert recorded.json() == {
        "batch_id": batch,
        "status": "anchored",
        "chain_tx_hash": tx,
        "chain_id": 84532,
        "block_number": 77,
    }
    same = post_json(admin_client, url, {"chain_tx_hash": " " + tx.removeprefix("0x").upper() + " ", "chain_id": 1})
    assert (same.status_code, same.json()) == (200, {"batch_id": batch, "status": "already_anchored"})
    _problem(post_json(admin_client, url, notice | {"chain_tx_hash": "cd" * 32}), 409, "commitment_anchored_elsewhere")

    detail = admin_client.get(f"/api/v1/ves/commitments/{batch}").json()
    assert (detail["chain_id"], detail["chain_tx_hash"], detail["chain_block_number"]) == (84532, "ab" * 32, 77)
    assert detail["is_anchored"] is True
    assert detail["anchored_at"] is not None
    still_pending = [i["batch_id"] for i in admin_client.get("/v1/commitments/pending").json()["commitments"]]
    assert batch not in still_pending
    assert len(still_pending) >= len(chain)


def test_anchor_service_routes_are_ves_only(owner: Persona, admin_client: APIClient, post_ingest: IngestPoster) -> None:
    _ingest_legacy(owner, post_ingest, 2)
    legacy = create(owner.client, "", owner.tenant.id, owner.store_id, 1, 2).json()
    pending = admin_client.get("/v1/commitments/pending").json()["commitments"]
    assert legacy["batch_id"] not in [item["batch_id"] for item in pending]
    notice = {"chain_tx_hash": "ab" * 32, "chain_id": 1}
    _problem(
        post_json(admin_client, f"/v1/commitments/{legacy['batch_id']}/anchored", notice), 404, "commitment_not_found"
    )


def test_anchor_service_routes_go_through_the_api_path_and_authentication(
    admin_client: APIClient, owner: Persona, settings: Any
) -> None:
    case = CASES[0]
    ingest_ves_case(admin_client, case)
    batch = create(admin_client, "ves/", case["tenant_id"], case["store_id"], 1, 1).json()["batch_id"]
    status, headers, _ = wsgi_call("/v1/commitments/pending", key=None)
    assert (status, headers["content-type"]) == (401, "application/problem+json")
    status, _, content = wsgi_call("/v1/commitments/pending", key=owner.key)
    assert (status, orjson.loads(content)["code"]) == (403, "bootstrap_admin_required")
    status, headers, content = wsgi_call("/v1/commitments/pending", key=settings.BOOTSTRAP_ADMIN_API_KEY)
    assert status == 200
    assert "x-request-id" in headers
    assert batch in [item["batch_id"] for item in orjson.loads(content)["commitments"]]
    assert "sessionid" not in headers.get("set-cookie", "")
    notice = orjson.dumps({"chain_tx_hash": "ef" * 32, "chain_id": 10})
    status, _, content = wsgi_call(
        f"/v1/commitments/{batch}/anchored", key=settings.BOOTSTRAP_ADMIN_API_KEY, method="POST", body=notice
    )
    assert (status, orjson.loads(content)["status"]) == (200, "anchored")


def test_a_store_scoped_caller_gets_full_pages(owner: Persona, member: Persona, post_ingest: IngestPoster) -> None:
    t = owner.tenant.id
    # Commitments of a store that sorts before the member's: a filter after LIMIT would leave the
    # member's first pages empty.
    first_store = uuid.UUID(int=1)
    for store in (first_store, member.store_id):
        _ingest_legacy(owner, post_ingest, 6, store_id=store)
        for start in range(1, 7, 2):
            assert create(owner.client, "", t, store, start, start + 1).status_code == 200
        assert create(owner.client, "", t, store, 2, 5).status_code == 200  # on request
    seen: list[str] = []
    for offset in range(0, 4, 2):
        page = member.client.get(f"/api/v1/commitments?limit=2&offset={offset}").json()
        assert page["count"] == 2, page
        assert {item["store_id"] for item in page["commitments"]} == {str(member.store_id)}
        seen += [item["batch_id"] for item in page["commitments"]]
    assert member.client.get("/api/v1/commitments?limit=2&offset=4").json() == {"commitments": [], "count": 0}
    assert len(set(seen)) == 4
    assert owner.client.get(f"/api/v1/commitments?tenant_id={t}&limit=1000").json()["count"] == 8
    _problem(member.client.get(f"/api/v1/commitments?store_id={first_store}"), 403, "store_access_denied")
