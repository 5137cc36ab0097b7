"""The operator admin (Django test client): pages render, actions call services and are audited."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test import Client

from audit.models import AuditLogEntry
from events.models import DeadLetterStatus, ProjectionDeadLetter
from events.projections.entity_state import ENTITY_STATE
from events.services.projections import projection_advance
from tenants.models import AgentSigningKey, ApiKey
from tests.conftest import IngestPoster, Persona
from tests.events.projections.helpers import PoisonProjection, seed
from ves.signing import public_key_from_seed

pytestmark = pytest.mark.django_db


def test_the_index_lists_the_event_store_pages(staff_client: Client) -> None:
    page = staff_client.get("/admin/").content.decode()

    for text in (
        "Event store",
        "Events (by stream)",
        "Rejected events",
        "Agent signing keys",
        "dead letters",
        "Audit log",
    ):
        assert text in page


def test_a_tenant_page_shows_streams_heads_and_projection_lag(
    staff_client: Client, owner: Persona, post_ingest: IngestPoster
) -> None:
    seed(owner, post_ingest, [{"a": 1}] * 3)
    projection_advance(projection=ENTITY_STATE, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=2)

    page = staff_client.get(f"/admin/tenants/tenant/{owner.tenant_id}/change/").content.decode()

    assert 'id="tenant-streams"' in page
    assert str(owner.store_id) in page
    assert "<td>legacy</td><td>3</td>" in page
    assert f"<td>{ENTITY_STATE}</td><td>{owner.store_id}</td><td>3</td><td>2</td><td>1</td>" in page


def test_creating_a_key_shows_it_once_and_audits(staff_client: Client, owner: Persona) -> None:
    response = staff_client.post(
        "/admin/tenants/apikey/add/", {"tenant": str(owner.tenant_id), "name": "ops", "can_read": "on"}
    )

    page = response.content.decode()
    created = ApiKey.objects.get(name="ops")
    assert 'id="new-api-key"' in page
    assert created.display_prefix in page
    assert list(
        AuditLogEntry.objects.filter(action="api_key.create", actor="admin:operator").values_list(
            "target_id", flat=True
        )
    ) == [created.display_prefix]
    plaintext = page.split('id="new-api-key">')[1].split("<")[0]
    assert plaintext.startswith(created.display_prefix[:4])
    assert plaintext not in staff_client.get(f"/admin/tenants/apikey/{created.hash_prefix}/change/").content.decode()


def test_revoking_keys_goes_through_the_service_and_audits(staff_client: Client, owner: Persona) -> None:
    key = ApiKey.objects.get(tenant_id=owner.tenant_id)

    staff_client.post(
        "/admin/tenants/apikey/", {"action": "revoke_keys", "_selected_action": [key.hash_prefix]}, follow=True
    )

    key.refresh_from_db()
    assert not key.active
    assert key.revoked_at is not None
    assert owner.client.get(f"/api/v1/head?tenant_id={owner.tenant_id}&store_id={owner.store_id}").status_code == 401
    assert AuditLogEntry.objects.get(action="api_key.revoke").target_id == key.display_prefix


def test_the_event_browser_filters_one_stream_by_entity(
    staff_client: Client, owner: Persona, post_ingest: IngestPoster
) -> None:
    seed(owner, post_ingest, [{"n": 1}], entity_id="wanted")
    seed(owner, post_ingest, [{"n": 2}], entity_id="other")

    page = staff_client.get(
        f"/admin/event-store/events/?tenant_id={owner.tenant_id}&store_id={owner.store_id}&entity_id=wanted"
    ).content.decode()

    assert "order/wanted" in page
    assert "order/other" not in page


def test_the_event_browser_refuses_a_filter_longer_than_its_field(
    staff_client: Client, owner: Persona, post_ingest: IngestPoster
) -> None:
    entity_id = "e" * 512  # the longest an entity id can be
    seed(owner, post_ingest, [{"n": 1}], entity_id=entity_id)

    page = staff_client.get(
        f"/admin/event-store/events/?tenant_id={owner.tenant_id}&store_id={owner.store_id}&entity_id={entity_id}x"
    ).content.decode()

    assert "entity_id is longer than 512 characters." in page
    assert f"order/{entity_id}" not in page  # a filter cut to 512 characters matched this event


def test_the_event_browser_asks_for_a_stream(staff_client: Client) -> None:
    page = staff_client.get("/admin/event-store/events/?entity_id=x").content.decode()

    assert "Pick a tenant and a store" in page


def test_rejected_events_are_browsable(staff_client: Client, owner: Persona, post_ingest: IngestPoster) -> None:
    seed(owner, post_ingest, [{"a": 1}])
    event = {"event_id": str(uuid.uuid4()), "tenant_id": str(owner.tenant_id), "store_id": str(owner.store_id)}
    twice = {**event, "entity_type": "order", "entity_id": "x", "event_type": "t", "payload": {"card": "4111-x"}}
    twice["created_at"] = "2026-01-01T00:00:00Z"
    dup = post_ingest(owner.client, {"events": [twice, twice]})
    assert dup.status_code == 200

    page = staff_client.get(f"/admin/event-store/rejected/?tenant_id={owner.tenant_id}").content.decode()

    assert event["event_id"] in page
    assert "4111-x" in page  # the body as received, opened for the operator
    with connection.cursor() as cursor:  # and sealed at rest
        cursor.execute("SELECT body, body_format FROM rejected_events WHERE tenant_id = %s", [owner.tenant_id])
        [(body, body_format)] = cursor.fetchall()
    assert body_format == 1
    assert b"4111-x" not in bytes(body)


def test_agent_keys_are_registered_and_revoked_with_audit(staff_client: Client, owner: Persona) -> None:
    agent = uuid.uuid4()
    staff_client.post(
        "/admin/event-store/agent-keys/register/",
        {"tenant_id": str(owner.tenant_id), "agent_id": str(agent), "key_id": "7",
         "public_key": public_key_from_seed(b"\x11" * 32).hex()},
    )  # fmt: skip
    key = AgentSigningKey.objects.get(agent_id=agent)
    assert bytes(key.public_key) == public_key_from_seed(b"\x11" * 32)

    staff_client.post(
        "/admin/event-store/agent-keys/revoke/",
        {"tenant_id": str(owner.tenant_id), "agent_id": str(agent), "key_id": "7"},
    )

    key.refresh_from_db()
    assert key.status == "revoked"
    assert list(
        AuditLogEntry.objects.filter(target_type="agent_key").values_list("action", flat=True).order_by("id")
    ) == [
        "agent_key.register",
        "agent_key.revoke",
    ]


def test_dead_letters_are_retried_and_discarded_in_bulk(
    staff_client: Client, owner: Persona, post_ingest: IngestPoster, poison: PoisonProjection
) -> None:
    seed(owner, post_ingest, [{"poison": True}, {"poison": True}, {"poison": True}])
    projection_advance(projection=poison.name, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=10)
    first, second, third = ProjectionDeadLetter.objects.filter(projection=poison.name).order_by("sequence_number")
    listing = staff_client.get(f"/admin/events/projectiondeadletter/?tenant_id__exact={owner.tenant_id}")
    assert listing.status_code == 200
    assert poison.name in listing.content.decode()
    poison.cured = True

    staff_client.post(
        "/admin/events/projectiondeadletter/", {"action": "retry_now", "_selected_action": [first.id, second.id]}
    )
    staff_client.post("/admin/events/projectiondeadletter/", {"action": "discard", "_selected_action": [third.id]})

    statuses = dict(ProjectionDeadLetter.objects.filter(projection=poison.name).values_list("id", "status"))
    assert statuses == {
        first.id: DeadLetterStatus.RESOLVED,
        second.id: DeadLetterStatus.RESOLVED,
        third.id: DeadLetterStatus.DISCARDED,
    }
    actors = set(AuditLogEntry.objects.filter(target_type="dead_letter").values_list("actor", flat=True))
    assert actors == {"admin:operator"}
    assert staff_client.get("/admin/audit/auditlogentry/").status_code == 200
    # discarding closed entries again says why nothing was discarded (it said "Discarded 0 entries.")
    again = staff_client.post(
        "/admin/events/projectiondeadletter/",
        {"action": "discard", "_selected_action": [first.id, third.id]},
        follow=True,
    )
    said = [str(message) for message in again.context["messages"]]
    assert said == [
        "2 selected entries not discarded: closed already (1 discarded, 1 resolved).",
        "Discarded 0 entries.",
    ]


def test_a_dead_letters_page_only_shows_it(
    staff_client: Client, owner: Persona, post_ingest: IngestPoster, poison: PoisonProjection
) -> None:
    """Every field is read-only and the list's actions do the writing: the row's page offers no
    Save, and a posted change is refused without a change logged."""
    from django.contrib.admin.models import LogEntry

    seed(owner, post_ingest, [{"poison": True}])
    projection_advance(projection=poison.name, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=100)
    entry = ProjectionDeadLetter.objects.get(projection=poison.name)
    url = f"/admin/events/projectiondeadletter/{entry.pk}/change/"

    page = staff_client.get(url)
    posted = staff_client.post(url, {"_save": "Save"})

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert posted.status_code == 403
    assert not LogEntry.objects.filter(object_id=str(entry.pk)).exists()
    assert ProjectionDeadLetter.objects.get(pk=entry.pk).status == entry.status


def test_retrying_all_dead_letters_handles_a_bounded_number_per_run_in_stream_order(
    staff_client: Client,
    owner: Persona,
    post_ingest: IngestPoster,
    poison: PoisonProjection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ "Select all" over a large queue stays one short request: each run retries at most
    ``RETRY_PER_RUN`` entries and says how many it left; running it again goes on where it stopped."""
    from events import admin as events_admin

    monkeypatch.setattr(events_admin, "RETRY_PER_RUN", 2)
    seed(owner, post_ingest, [{"poison": True}] * 5)
    projection_advance(projection=poison.name, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=10)
    entries = list(ProjectionDeadLetter.objects.filter(projection=poison.name).order_by("sequence_number"))
    poison.cured = True
    select_all = {"action": "retry_now", "select_across": "1", "_selected_action": [entries[0].id], "index": "0"}

    said, resolved = [], []
    for _ in range(3):
        response = staff_client.post("/admin/events/projectiondeadletter/", select_all, follow=True)
        said.append([str(m) for m in response.context["messages"]])
        statuses = dict(ProjectionDeadLetter.objects.filter(projection=poison.name).values_list("id", "status"))
        resolved.append([statuses[entry.id] == DeadLetterStatus.RESOLVED for entry in entries])

    assert said == [
        [
            "Retried 2: 2 applied, 0 failed again. 3 more selected entries were not retried: one run handles at most"
            " 2; run the action again."
        ],
        [
            "2 selected entries not retried: closed already (2 resolved).",
            "Retried 2: 2 applied, 0 failed again. 1 more selected entries were not retried: one run handles at most"
            " 2; run the action again.",
        ],
        ["4 selected entries not retried: closed already (4 resolved).", "Retried 1: 1 applied, 0 failed again."],
    ]
    assert resolved == [  # in stream order
        [True, True, False, False, False],
        [True, True, True, True, False],
        [True] * 5,
    ]


def test_an_entry_failing_again_leaves_its_streams_later_entries_untried(
    staff_client: Client, owner: Persona, post_ingest: IngestPoster, poison: PoisonProjection
) -> None:
    seed(owner, post_ingest, [{"poison": True}] * 3)
    projection_advance(projection=poison.name, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=10)
    entries = list(ProjectionDeadLetter.objects.filter(projection=poison.name).order_by("sequence_number"))
    chosen = {"action": "retry_now", "_selected_action": [entry.id for entry in entries], "index": "0"}

    response = staff_client.post("/admin/events/projectiondeadletter/", chosen, follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "Retried 1: 0 applied, 1 failed again. 0 held (payload key missing), 0 refused, 2 left behind an earlier"
        " entry of their stream that was not applied."
    ]
    attempts = dict(ProjectionDeadLetter.objects.filter(projection=poison.name).values_list("id", "attempts"))
    assert attempts == {entries[0].id: 2, entries[1].id: 1, entries[2].id: 1}
