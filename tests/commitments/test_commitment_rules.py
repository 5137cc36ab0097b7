"""Range rules, idempotency, scoping and errors of the commitment and proof endpoints."""

from __future__ import annotations

import itertools
import threading
import uuid
from typing import Any

import pytest
from django.db import connection, connections
from django.test import override_settings
from rest_framework.test import APIClient

from commitments.selectors import chain_tip, commitment_get_by_range
from commitments.services import commitments as commitments_service
from commitments.services.commitments import commitment_create, commitment_seal_next
from streams.kinds import StreamKind
from tests.commitments.helpers import create, ingest_ves_case, post_json
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.ves.ves_case_vectors import CASES

pytestmark = pytest.mark.django_db


def _ingest(persona: Persona, post_ingest: IngestPoster, n: int) -> None:
    events = [legacy_event(persona.tenant.id, persona.store_id) for _ in range(n)]
    response = post_ingest(persona.client, {"agent_id": str(uuid.uuid4()), "events": events})
    assert response.status_code == 200, response.content


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


def test_any_range_up_to_the_head_is_sealed_once_and_a_range_at_or_past_the_chains_end_extends_it(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    _ingest(owner, post_ingest, 12)
    t, s, c = owner.tenant.id, owner.store_id, owner.client

    _problem(create(c, "", t, s, 1, 13), 400, "commitment_beyond_head")
    _problem(create(c, "", t, s, 5, 4), 400, "invalid_commitment_range")
    _problem(create(c, "", t, s, 0, 4), 400, "invalid_commitment_range")
    # 3..5 starts past the chain's end (nothing sealed): the chain first seals 1..2, then 3..5
    # becomes its next link, following 1..2's state root rather than zeros
    ahead = create(c, "", t, s, 3, 5)
    assert ahead.status_code == 200, ahead.content
    first = _chain_link(t, s, 1, 2)
    assert ahead.json()["prev_state_root"] == first.new_state_root.hex()
    assert create(c, "", t, s, 1, 2).json()["batch_id"] == str(first.batch_id)  # that link, asked for
    assert create(c, "", t, s, 3, 5).json() == ahead.json()  # idempotent: the same row
    # inside the sealed chain, another range is sealed on request, beside the chain
    beside = create(c, "", t, s, 2, 4)
    assert beside.status_code == 200, beside.content
    assert beside.json()["prev_state_root"] == "00" * 32  # no commitment ends at 1
    overlapping = create(c, "", t, s, 1, 4)
    assert overlapping.json()["prev_state_root"] == "00" * 32
    assert overlapping.json()["events_root"] not in (ahead.json()["events_root"], beside.json()["events_root"])
    later = create(c, "", t, s, 5, 5).json()  # on request: follows the one ending at 4 that starts lowest
    assert later["prev_state_root"] == overlapping.json()["new_state_root"]
    second = create(c, "", t, s, 6, 10).json()  # the chain's next link
    assert second["prev_state_root"] == ahead.json()["new_state_root"]
    chain = chain_tip(tenant_id=t, store_id=s, kind=StreamKind.LEGACY).last
    assert chain is not None
    assert (chain.batch_id, chain.on_request) == (uuid.UUID(second["batch_id"]), False)
    with connection.cursor() as cursor:  # the log grew with the chain only: checkpoints at 2, 5 and 10
        cursor.execute(
            "SELECT tree_size FROM log_checkpoints WHERE tenant_id = %s AND store_id = %s ORDER BY 1", [t, s]
        )
        assert [r[0] for r in cursor.fetchall()] == [2, 5, 10]
    # each answer, and the list, say which commitments are links of the chain
    assert [r.json()["on_request"] for r in (ahead, beside, overlapping)] == [False, True, True]
    assert (later["on_request"], second["on_request"]) == (True, False)
    listed = c.get(f"/api/v1/commitments?tenant_id={t}&store_id={s}").json()["commitments"]
    links = sorted((x["sequence_start"], x["sequence_end"]) for x in listed if not x["on_request"])
    assert links == [(1, 2), (3, 5), (6, 10)]
    detail = c.get(f"/api/v1/commitments/{beside.json()['batch_id']}?tenant_id={t}&store_id={s}").json()
    assert detail["on_request"] is True
    # the beat's next seal continues the chain; no range is ever sealed twice
    assert commitment_seal_next(tenant_id=t, store_id=s, kind=StreamKind.LEGACY, max_events=100)
    assert _ranges_sealed_twice(t, s) == []
    # the VES stream of the same (tenant, store) is separate and empty
    _problem(create(c, "ves/", t, s, 1, 1), 400, "commitment_beyond_head")


def _chain_link(tenant_id: uuid.UUID, store_id: uuid.UUID, start: int, end: int) -> Any:
    link = commitment_get_by_range(
        tenant_id=tenant_id, store_id=store_id, kind=StreamKind.LEGACY, sequence_start=start, sequence_end=end
    )
    assert link is not None
    assert not link.on_request
    return link


def _ranges_sealed_twice(tenant_id: uuid.UUID, store_id: uuid.UUID) -> list[tuple[int, int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT stream_kind, sequence_start, sequence_end FROM commitments WHERE tenant_id = %s AND store_id = %s"
            " GROUP BY 1, 2, 3 HAVING count(*) > 1",
            [tenant_id, store_id],
        )
        return [(int(kind), int(start), int(end)) for kind, start, end in cursor.fetchall()]


def test_a_range_asked_for_before_the_beat_seals_it_has_the_chains_roots_whatever_the_order(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    # A client asks for 6..60 while 1..5 is unsealed, then for 1..5, then the beat runs: one
    # commitment per range, and 6..60 follows 1..5's state root (it once began from zeros, and the
    # beat then sealed 6..60 a second time with other roots)
    _ingest(owner, post_ingest, 60)
    t, s, c = owner.tenant.id, owner.store_id, owner.client
    late = create(c, "", t, s, 6, 60).json()
    early = create(c, "", t, s, 1, 5).json()
    assert commitment_seal_next(tenant_id=t, store_id=s, kind=StreamKind.LEGACY, max_events=100) is None

    assert late["prev_state_root"] == early["new_state_root"]
    assert early["prev_state_root"] == "00" * 32
    assert create(c, "", t, s, 6, 60).json() == late
    assert _ranges_sealed_twice(t, s) == []
    chain = chain_tip(tenant_id=t, store_id=s, kind=StreamKind.LEGACY).last
    assert chain is not None
    assert (str(chain.batch_id), chain.on_request) == (late["batch_id"], False)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"tenant_id": "nope", "store_id": str(uuid.uuid4()), "sequence_start": 1, "sequence_end": 1},
        {"tenant_id": str(uuid.uuid4()), "store_id": str(uuid.uuid4()), "sequence_start": "1", "sequence_end": 1},
        {"tenant_id": str(uuid.uuid4()), "store_id": str(uuid.uuid4()), "sequence_start": True, "sequence_end": 1},
        {"tenant_id": str(uuid.uuid4()), "store_id": str(uuid.uuid4()), "sequence_start": 1},
    ],
)
def test_malformed_creation_bodies_are_422(admin_client: APIClient, body: Any) -> None:
    _problem(post_json(admin_client, "/api/v1/commitments", body), 422, "invalid_request")


def test_scoping(owner: Persona, outsider: Persona, member: Persona, post_ingest: IngestPoster) -> None:
    _ingest(owner, post_ingest, 3)
    t, s = owner.tenant.id, owner.store_id
    batch = create(owner.client, "", t, s, 1, 3).json()["batch_id"]

    assert create(outsider.client, "", t, s, 1, 3).status_code == 403
    _problem(outsider.client.get(f"/api/v1/commitments/{batch}"), 404, "commitment_not_found")
    _problem(member.client.get(f"/api/v1/commitments/{batch}"), 404, "commitment_not_found")  # other store
    _problem(owner.client.get(f"/api/v1/ves/commitments/{batch}"), 404, "commitment_not_found")  # other kind
    assert outsider.client.get(f"/api/v1/proofs/1?tenant_id={t}&store_id={s}").status_code == 403
    assert outsider.client.get("/api/v1/commitments").json() == {"commitments": [], "count": 0}
    assert owner.client.get("/api/v1/commitments").json()["count"] == 1
    assert owner.client.get(f"/api/v1/commitments?tenant_id={outsider.tenant.id}").status_code == 403


def test_the_bootstrap_admin_lists_every_tenant_unless_it_names_one(
    admin_client: APIClient, owner: Persona, outsider: Persona, post_ingest: IngestPoster
) -> None:
    _ingest(owner, post_ingest, 2)
    _ingest(outsider, post_ingest, 2)
    mine = create(owner.client, "", owner.tenant.id, owner.store_id, 1, 2).json()["batch_id"]
    theirs = create(outsider.client, "", outsider.tenant.id, outsider.store_id, 1, 2).json()["batch_id"]

    def listed(client: APIClient, query: str = "") -> list[str]:
        return [c["batch_id"] for c in client.get(f"/api/v1/commitments?limit=1000{query}").json()["commitments"]]

    assert {mine, theirs} <= set(listed(admin_client))
    _problem(admin_client.get("/api/v1/commitments?tenant_id="), 400, "invalid_parameter")  # names no tenant
    assert listed(admin_client, f"&tenant_id={outsider.tenant.id}") == [theirs]
    _problem(admin_client.get("/api/v1/commitments?tenant_id=nope"), 400, "invalid_parameter")
    # a tenant's credential reads its own tenant by default, and no other
    assert listed(owner.client) == [mine]
    _problem(owner.client.get(f"/api/v1/commitments?tenant_id={outsider.tenant.id}"), 403, "tenant_access_denied")


def test_list_shows_every_commitment_with_an_anchored_filter(owner: Persona, post_ingest: IngestPoster) -> None:
    _ingest(owner, post_ingest, 6)
    t, s, c = owner.tenant.id, owner.store_id, owner.client
    a = create(c, "", t, s, 1, 2).json()["batch_id"]
    b = create(c, "", t, s, 3, 6).json()["batch_id"]
    with connection.cursor() as cursor:  # as the anchoring service records a transaction
        cursor.execute(
            "UPDATE commitments SET chain_id = 1, chain_tx_hash = %s, chain_block_number = 7, anchored_at = now() "
            "WHERE batch_id = %s",
            [b"\x11" * 32, a],
        )
    base = f"/api/v1/commitments?tenant_id={t}&store_id={s}"
    assert [x["batch_id"] for x in c.get(base).json()["commitments"]] == [a, b]
    anchored = c.get(base + "&anchored=true").json()["commitments"]
    assert [(x["batch_id"], x["is_anchored"], x["chain_tx_hash"]) for x in anchored] == [(a, True, "11" * 32)]
    assert [x["batch_id"] for x in c.get(base + "&anchored=false").json()["commitments"]] == [b]
    _problem(c.get(base + "&anchored=maybe"), 400, "invalid_parameter")
    assert [x["batch_id"] for x in c.get(base + "&limit=1&offset=1").json()["commitments"]] == [b]


def test_proof_errors(owner: Persona, post_ingest: IngestPoster) -> None:
    _ingest(owner, post_ingest, 5)
    t, s, c = owner.tenant.id, owner.store_id, owner.client
    batch = create(c, "", t, s, 1, 3).json()["batch_id"]
    q = f"tenant_id={t}&store_id={s}"
    _problem(c.get(f"/api/v1/proofs/4?{q}"), 404, "sequence_not_committed")
    _problem(c.get(f"/api/v1/proofs/4?{q}&batch_id={batch}"), 400, "sequence_outside_commitment")
    _problem(c.get(f"/api/v1/proofs/x?{q}"), 400, "invalid_parameter")
    _problem(c.get(f"/api/v1/proofs/1?{q}&batch_id={uuid.uuid4()}"), 404, "commitment_not_found")
    assert c.get(f"/api/v1/proofs/2?{q}&batch_id={batch}").status_code == 200


VERIFY_BODY = {"leaf_hash": "00" * 32, "merkle_root": "00" * 32, "proof_path": [], "leaf_index": 0}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"leaf_hash": "zz"}, "leaf_hash"),
        ({"leaf_hash": "00" * 31}, "leaf_hash"),
        ({"merkle_root": " " + "00" * 32}, "merkle_root"),
        ({"proof_path": ["00" * 32] * 65}, "proof_path"),
        ({"proof_path": ["00" * 32, "00" * 33]}, "proof_path[1]"),
        ({"proof_path": ["0x" + "00" * 32, "00 " * 32]}, "proof_path[1]"),
    ],
)
def test_malformed_proofs_are_400_naming_the_field(admin_client: APIClient, change: dict[str, Any], field: str) -> None:
    body = _problem(
        post_json(admin_client, "/api/v1/ves/proofs/verify", VERIFY_BODY | change), 400, "invalid_proof_input"
    )
    assert (body["field"], list(body["errors"])) == (field, [field])


@pytest.mark.parametrize(
    ("path", "change", "field"),
    [
        ("ves/", {"merkle_root": 5}, "merkle_root"),
        ("ves/", {"leaf_hash": None}, "leaf_hash"),
        ("ves/", {"proof_path": "00"}, "proof_path"),
        ("ves/", {"proof_path": ["00" * 32, 7]}, "proof_path[1]"),
        ("ves/", {"tree_depth": 0, "directions": [1]}, "directions"),
        ("", {"directions": "true"}, "directions"),
        ("", {"directions": "NaN", "leaf_count": 2}, "directions"),  # checked though leaf_count decides
    ],
)
def test_proof_members_of_the_wrong_json_type_are_422(
    admin_client: APIClient, path: str, change: dict[str, Any], field: str
) -> None:
    body = VERIFY_BODY | change
    if not path:  # the legacy verifier names its root events_root
        body["events_root"] = body.pop("merkle_root")
    problem = _problem(post_json(admin_client, f"/api/v1/{path}proofs/verify", body), 422, "invalid_request")
    assert list(problem["errors"]) == [field]


def test_a_proof_without_its_path_is_422(admin_client: APIClient) -> None:
    body = {k: v for k, v in VERIFY_BODY.items() if k != "proof_path"}
    problem = _problem(post_json(admin_client, "/api/v1/ves/proofs/verify", body), 422, "invalid_request")
    assert list(problem["errors"]) == ["proof_path"]


def test_a_wrong_proof_is_invalid_not_an_error(admin_client: APIClient) -> None:
    case = CASES[1]
    body = {"leaf_hash": case["events"][0]["leaf_hash"], "proof_path": case["proofs"][0]["proof_path"]}
    body.update(merkle_root=case["commitment"]["merkle_root"], leaf_index=1)
    assert post_json(admin_client, "/api/v1/ves/proofs/verify", body).json()["valid"] is False
    body["leaf_index"] = 0
    assert post_json(admin_client, "/api/v1/ves/proofs/verify", body).json()["valid"] is True
    strict = {**body, "tree_depth": case["commitment"]["tree_depth"] + 1}
    assert post_json(admin_client, "/api/v1/ves/proofs/verify", strict).json()["valid"] is False


def test_leaf_count_or_directions_alone_select_the_strict_ves_verifier(admin_client: APIClient) -> None:
    """As docs/commitments.md says: any of tree_depth, leaf_count, directions binds the shape (the
    depth then is the path's); a real leaf claimed at or past leaf_count is refused."""
    case = CASES[2]  # 3 events: a tree of depth 2 with one pad leaf
    proof = case["proofs"][2]
    body = {"leaf_hash": case["events"][2]["leaf_hash"], "proof_path": proof["proof_path"]}
    body.update(merkle_root=case["commitment"]["merkle_root"], leaf_index=2)

    def valid(**extra: Any) -> bool:
        answer = post_json(admin_client, "/api/v1/ves/proofs/verify", {**body, **extra})
        assert answer.status_code == 200, answer.content
        return bool(answer.json()["valid"])

    assert [valid(), valid(leaf_count=3), valid(directions=proof["directions"])] == [True, True, True]
    assert [valid(leaf_count=2), valid(leaf_count=5), valid(directions=[not d for d in proof["directions"]])] == [
        False,
        False,
        False,
    ]


@pytest.mark.parametrize("member", ["tree_depth", "leaf_count"])
def test_an_optional_proof_member_sent_as_null_is_absent(admin_client: APIClient, member: str) -> None:
    # as the reference's Option fields read it (it once answered 422 "is required")
    case = CASES[1]
    body = {"leaf_hash": case["events"][0]["leaf_hash"], "proof_path": case["proofs"][0]["proof_path"]}
    body.update(merkle_root=case["commitment"]["merkle_root"], leaf_index=0)
    answer = post_json(admin_client, "/api/v1/ves/proofs/verify", {**body, member: None})
    assert (answer.status_code, answer.json()["valid"]) == (200, True)
    legacy = {"leaf_hash": "00" * 32, "events_root": "00" * 32, "proof_path": [], "leaf_index": 0, "leaf_count": None}
    answer = post_json(admin_client, "/api/v1/proofs/verify", legacy)
    assert (answer.status_code, answer.json()["valid"]) == (200, True)  # a one-leaf tree is its leaf


def test_seal_next_is_idempotent_and_bounded(admin_client: APIClient) -> None:
    case = CASES[3]  # 9 events
    ingest_ves_case(admin_client, case)
    t, s = uuid.UUID(case["tenant_id"]), uuid.UUID(case["store_id"])
    first = commitment_seal_next(tenant_id=t, store_id=s, kind=StreamKind.VES, max_events=4)
    second = commitment_seal_next(tenant_id=t, store_id=s, kind=StreamKind.VES, max_events=4)
    third = commitment_seal_next(tenant_id=t, store_id=s, kind=StreamKind.VES, max_events=4)
    assert first
    assert second
    assert third
    ranges = [(r.commitment.sequence_start, r.commitment.sequence_end) for r in (first, second, third)]
    assert ranges == [(1, 4), (5, 8), (9, 9)]
    assert commitment_seal_next(tenant_id=t, store_id=s, kind=StreamKind.VES, max_events=4) is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_creators_of_one_range_make_one_commitment(admin_client: APIClient) -> None:
    case = CASES[1]
    ingest_ves_case(admin_client, case)
    t, s = uuid.UUID(case["tenant_id"]), uuid.UUID(case["store_id"])
    results: list[Any] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        try:
            results.append(
                commitment_create(tenant_id=t, store_id=s, kind=StreamKind.VES, sequence_start=1, sequence_end=8)
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert sum(r.created for r in results) == 1
    assert len({r.commitment.batch_id for r in results}) == 1
    last = chain_tip(tenant_id=t, store_id=s, kind=StreamKind.VES).last
    assert last is not None
    assert last.merkle_root.hex() == case["commitment"]["merkle_root"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_creators_of_overlapping_ranges_never_seal_one_range_twice(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    _ingest(owner, post_ingest, 9)  # a tenant of its own (the VES vectors' ids are shared by other tests)
    t, s = owner.tenant.id, owner.store_id
    ranges = [(4, 9), (1, 3), (2, 9), (4, 9), (7, 9), (1, 9), (5, 6), (1, 3)]
    results: dict[tuple[int, int], list[Any]] = {}
    barrier = threading.Barrier(len(ranges))

    def worker(start: int, end: int) -> None:
        barrier.wait()
        try:
            result = commitment_create(
                tenant_id=t, store_id=s, kind=StreamKind.LEGACY, sequence_start=start, sequence_end=end
            )
            results.setdefault((start, end), []).append(result.commitment)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=r) for r in ranges]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seal_next = commitment_seal_next(tenant_id=t, store_id=s, kind=StreamKind.LEGACY, max_events=100)
    assert seal_next is None or seal_next.commitment.sequence_end == 9
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sequence_start, sequence_end, count(*) FROM commitments WHERE tenant_id = %s AND store_id = %s"
            " AND stream_kind = %s GROUP BY 1, 2 HAVING count(*) > 1",
            [t, s, int(StreamKind.LEGACY)],
        )
        assert cursor.fetchall() == []
        cursor.execute(  # the chain is contiguous from 1 and each link follows the one before
            "SELECT sequence_start, sequence_end, prev_state_root, new_state_root FROM commitments"
            " WHERE tenant_id = %s AND store_id = %s AND stream_kind = %s AND NOT on_request ORDER BY sequence_start",
            [t, s, int(StreamKind.LEGACY)],
        )
        chain = cursor.fetchall()
    assert chain[0][0] == 1
    for before, after in itertools.pairwise(chain):
        assert after[0] == before[1] + 1
        assert bytes(after[2]) == bytes(before[3])
    assert {len({c.batch_id for c in commitments}) for commitments in results.values()} == {1}


def test_a_range_further_past_the_chains_end_than_two_links_is_503_and_hands_the_stream_to_its_task(
    owner: Persona, post_ingest: IngestPoster, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A request seals at most two links before its own range; further behind (the beat stopped),
    # one request would seal the whole backlog under the stream's lock
    _ingest(owner, post_ingest, 12)
    t, s, c = owner.tenant.id, owner.store_id, owner.client
    enqueued: list[tuple[str, tuple[object, ...]]] = []
    monkeypatch.setattr(
        commitments_service, "task_enqueue_on_commit", lambda name, *args: enqueued.append((name, args))
    )
    with override_settings(COMMITMENT_MAX_EVENTS=3):  # two links: 6 events
        answer = _problem(create(c, "", t, s, 8, 12), 503, "commitment_chain_behind")
        retry_after = create(c, "", t, s, 8, 12)["Retry-After"]
        close = create(c, "", t, s, 7, 12)

    assert "7 events before sequence_start 8" in answer["detail"]
    assert retry_after == "2"
    assert enqueued[:1] == [("commitments.stream_commit", (str(t), str(s), int(StreamKind.LEGACY)))]
    assert close.status_code == 200, close.content  # 6 before it: sealed as two links, then 7..12
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sequence_start, sequence_end FROM commitments WHERE tenant_id = %s AND store_id = %s"
            " AND NOT on_request ORDER BY 1",
            [t, s],
        )
        assert cursor.fetchall() == [(1, 3), (4, 6), (7, 12)]
