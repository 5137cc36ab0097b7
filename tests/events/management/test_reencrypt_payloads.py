"""``manage.py reencrypt_payloads`` on real PostgreSQL when some rows do not open: every other row
is re-sealed, each bad one is skipped and named, the command fails at the end, a run again touches
nothing but re-tries (and names) what is still on the old key, and each run is audited."""

from __future__ import annotations

import dataclasses
import uuid
from io import StringIO
from typing import Any

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings
from psycopg import sql

from audit.models import AuditLogEntry
from events.payload_crypto import StoredPayload, payload_open
from events.projections.entity_state import ENTITY_STATE
from events.projections.state_crypto import EntityKey, state_open
from events.rejected_bodies import rejected_body_open
from events.services import payload_rotation
from events.services.projections import projection_advance
from tests.conftest import IngestPoster, Persona, legacy_event

pytestmark = pytest.mark.django_db

KEY_1 = "1:" + "11" * 32
KEY_2 = "2:" + "22" * 32
KEY_3 = "3:" + "33" * 32
OLD = override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_1)
ROTATING = override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=f"{KEY_2},{KEY_1}")
RETIRED = override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_2)


def _streams(owner: Persona, count: int) -> list[Persona]:
    """``count`` streams (stores) of the owner's tenant, in the order the rotation walks them."""
    return [dataclasses.replace(owner, store_id=s) for s in sorted(uuid.uuid4() for _ in range(count))]


def _fill(persona: Persona, post_ingest: IngestPoster, tag: str) -> None:
    """Six events (three entities of two events: merged, sealed states) and one rejected body."""
    events = [
        legacy_event(persona.tenant_id, persona.store_id, entity_id=f"{tag}-{n % 3}", payload={"tag": tag, "n": n})
        for n in range(6)
    ]
    refused = legacy_event(persona.tenant_id, persona.store_id, base_version=7, payload={"refused": tag})
    body = post_ingest(persona.client, {"events": [*events, refused]}).json()
    assert (body["events_accepted"], body["events_rejected"]) == (6, 1), body
    projection_advance(projection=ENTITY_STATE, tenant_id=persona.tenant_id, store_id=persona.store_id, batch_size=100)


def _flip(table: str, column: str, **key: Any) -> None:
    """Alter one byte of the sealed blob in ``column`` of the row of ``table`` named by ``key`` in
    place (inside its ciphertext, so the blob is still ``SSE1``-shaped and only the tag check
    fails), as damage at rest would."""
    statement = sql.SQL(
        "UPDATE {table} SET {column} = set_byte({column}, 20, get_byte({column}, 20) # 255) WHERE {where}"
    )
    where = sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(name)) for name in key)
    with connection.cursor() as cursor:
        cursor.execute(
            statement.format(table=sql.Identifier(table), column=sql.Identifier(column), where=where),
            list(key.values()),
        )
        assert cursor.rowcount == 1


def _snapshot(tenant_id: uuid.UUID) -> dict[str, list[tuple[Any, ...]]]:
    """Every sealed column of the tenant as stored, with its format and key id."""
    queries = {
        "events": "SELECT store_id, sequence_number, payload, payload_format, payload_key_id FROM events"
        " WHERE tenant_id = %s ORDER BY store_id, sequence_number",
        "entity_state": "SELECT store_id, entity_type, entity_id, state::text, state_sealed, state_key_id"
        " FROM entity_state WHERE tenant_id = %s ORDER BY store_id, entity_type, entity_id",
        "rejected_events": "SELECT rejection_id, body, body_format, body_key_id FROM rejected_events"
        " WHERE tenant_id = %s ORDER BY rejection_id",
    }
    result: dict[str, list[tuple[Any, ...]]] = {}
    with connection.cursor() as cursor:
        for table, sql in queries.items():
            cursor.execute(sql, [tenant_id])
            result[table] = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in cursor]
    return result


def _run(tenant_id: uuid.UUID, batch_size: int = 3) -> tuple[list[str], list[str], str]:
    """Run the command expecting it to fail; its stdout lines, stderr lines and error."""
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as failed:
        call_command(
            "reencrypt_payloads",
            "--tenant",
            str(tenant_id),
            "--batch-size",
            str(batch_size),
            "--key-deployed",
            stdout=out,
            stderr=err,
        )
    return out.getvalue().splitlines(), err.getvalue().splitlines(), str(failed.value)


def _opened(tenant_id: uuid.UUID, *, but: tuple[uuid.UUID, int] | None = None) -> dict[str, list[Any]]:
    """Every payload (but the event ``but``), merged state and rejected body of the tenant, opened
    with the ring in force: raises when one does not open."""
    opened: dict[str, list[Any]] = {"events": [], "entity_state": [], "rejected_events": []}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT store_id, event_id, sequence_number, entity_type, entity_id, event_type, payload,"
            " payload_format, payload_key_id FROM events WHERE tenant_id = %s ORDER BY store_id, sequence_number",
            [tenant_id],
        )
        for store_id, event_id, seq, e_type, e_id, ev_type, payload, fmt, key_id in cursor.fetchall():
            if (store_id, seq) == but:
                continue
            stored = StoredPayload(tenant_id, store_id, event_id, seq, e_type, e_id, ev_type, payload, fmt, key_id)
            opened["events"].append(orjson.loads(payload_open(stored)))
        cursor.execute(
            "SELECT store_id, entity_type, entity_id, state, state_sealed, state_key_id FROM entity_state"
            " WHERE tenant_id = %s AND state_event_sequence IS NULL ORDER BY store_id, entity_type, entity_id",
            [tenant_id],
        )
        for store_id, e_type, e_id, state, sealed, key_id in cursor.fetchall():
            opened["entity_state"].append(
                state_open(EntityKey(tenant_id, store_id, e_type, e_id), state, sealed, key_id)
            )
        cursor.execute(
            "SELECT store_id, event_id, request_id, body, body_format, body_key_id FROM rejected_events"
            " WHERE tenant_id = %s ORDER BY rejection_id",
            [tenant_id],
        )
        for store_id, event_id, request_id, body, fmt, key_id in cursor.fetchall():
            raw = rejected_body_open(
                body,
                body_format=fmt,
                body_key_id=key_id,
                tenant_id=tenant_id,
                store_id=store_id,
                stream_kind=1,
                event_id=event_id,
                request_id=request_id,
            )
            opened["rejected_events"].append(orjson.loads(raw)["payload"])
    return opened


def _audits(tenant_id: uuid.UUID) -> list[AuditLogEntry]:
    return list(AuditLogEntry.objects.filter(action="payload.reencrypt", tenant_id=tenant_id).order_by("pk"))


def test_one_altered_payload_is_skipped_named_and_every_other_row_is_resealed(
    owner: Persona, outsider: Persona, post_ingest: IngestPoster
) -> None:
    streams = _streams(owner, 3)
    with OLD:
        for n, stream in enumerate(streams):
            _fill(stream, post_ingest, f"s{n}")
        _fill(outsider, post_ingest, "other")
        outsider_before = _snapshot(outsider.tenant_id)
    middle = streams[1]  # the walk meets it after stream 0 and goes on to stream 2
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT event_id FROM events WHERE tenant_id = %s AND store_id = %s AND sequence_number = 2",
            [owner.tenant_id, middle.store_id],
        )
        [(bad_event,)] = cursor.fetchall()
    # Sequence 2 of the middle stream: row 8 of 18 in walk order, in the middle of a batch of 3.
    _flip("events", "payload", tenant_id=owner.tenant_id, store_id=middle.store_id, sequence_number=2)
    damaged = _snapshot(owner.tenant_id)
    with OLD:
        before = _opened(owner.tenant_id, but=(middle.store_id, 2))
    assert [len(rows) for rows in before.values()] == [17, 9, 3]

    with ROTATING:
        out, err, error = _run(owner.tenant_id)

    named = (
        f"events.payload: tenant {owner.tenant_id} store {middle.store_id} stream legacy sequence 2"
        f" event {bad_event}, key id 1: altered: that key is in the tenant's keyring and does not open the blob"
    )
    assert len(err) == 1
    assert err[0].startswith(f"skipped, left on its old key: {named}")
    assert out[-3:-1] == [
        "done: 17 re-encrypted, 1 left; 9 entity states re-encrypted, 0 left;"
        " 3 rejected event bodies re-encrypted, 0 left",
        "skipped 1 row that no key opens, left on their old key:",
    ]
    assert out[-1].startswith(f"  {named}")
    assert "re-encrypted 8/18, 1 skipped" in out  # the batch of the bad row: its two others re-sealed
    assert f"1 row of tenant {owner.tenant_id} could not be re-encrypted" in error
    after = _snapshot(owner.tenant_id)
    bad = [row for row in after["events"] if (row[0], row[1]) == (middle.store_id, 2)]
    assert bad == [row for row in damaged["events"] if (row[0], row[1]) == (middle.store_id, 2)]  # as it was
    assert {row[3:] for row in after["events"] if row not in bad} == {(1, 2)}
    assert {row[5] for row in after["entity_state"] if row[4] is not None} == {2}
    assert {row[2:] for row in after["rejected_events"]} == {(1, 2)}
    [audit] = _audits(owner.tenant_id)
    assert (audit.actor, audit.target_type, audit.target_id) == (
        "cli:reencrypt_payloads",
        "tenant",
        str(owner.tenant_id),
    )
    assert audit.detail == {
        "key_id": 2,
        "resealed": {"events": 17, "entity_state": 9, "rejected_events": 3},
        "skipped": 1,
    }
    assert _snapshot(outsider.tenant_id) == outsider_before  # another tenant's rows are not touched

    with RETIRED:  # every row but the bad one opens without the old key, to what it held before
        assert _opened(owner.tenant_id, but=(middle.store_id, 2)) == before

    with ROTATING:  # a run again re-tries the bad row only: it is named again, nothing else changes
        out, err, error = _run(owner.tenant_id)
    assert len(err) == 1
    assert err[0].startswith(f"skipped, left on its old key: {named}")
    assert out[-3] == (
        "done: 0 re-encrypted, 1 left; 0 entity states re-encrypted, 0 left;"
        " 0 rejected event bodies re-encrypted, 0 left"
    )
    assert f"tenant {owner.tenant_id}: 1 payloads to re-encrypt with key 2" in out
    assert _snapshot(owner.tenant_id) == after
    second = _audits(owner.tenant_id)[-1]
    assert second.detail == {
        "key_id": 2,
        "resealed": {"events": 0, "entity_state": 0, "rejected_events": 0},
        "skipped": 1,
    }


def test_every_kind_of_sealed_row_that_does_not_open_is_skipped_and_named(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    """An altered entity state, an altered rejected body and a payload whose key is missing from
    the ring are each skipped and named; everything else of the tenant is re-sealed."""
    first, second = _streams(owner, 2)
    with override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_3):
        lost = legacy_event(owner.tenant_id, first.store_id, entity_id="lost", payload={"lost": True})
        assert post_ingest(owner.client, {"events": [lost]}).json()["events_accepted"] == 1  # sequence 1, key 3
    with OLD:
        _fill(first, post_ingest, "a")
        _fill(second, post_ingest, "b")
    _flip("entity_state", "state_sealed", tenant_id=owner.tenant_id, store_id=first.store_id, entity_id="a-1")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rejection_id, event_id, request_id FROM rejected_events WHERE tenant_id = %s AND store_id = %s",
            [owner.tenant_id, second.store_id],
        )
        [(rejection_id, refused_event, request_id)] = cursor.fetchall()
    _flip("rejected_events", "body", tenant_id=owner.tenant_id, rejection_id=rejection_id)

    with ROTATING:  # key 3 is not in the ring
        out, err, error = _run(owner.tenant_id, batch_size=2)

    tenant = f"tenant {owner.tenant_id}"
    expected = [
        f"events.payload: {tenant} store {first.store_id} stream legacy sequence 1 event {lost['event_id']},"
        " key id 3: key missing: that key is not in the tenant's keyring",
        f"entity_state.state_sealed: {tenant} store {first.store_id} stream legacy entity order/a-1,"
        " key id 1: altered: that key is in the tenant's keyring and does not open the blob",
        f"rejected_events.body: {tenant} store {second.store_id} stream legacy rejection {rejection_id}"
        f" request {request_id} event {refused_event}, key id 1: altered: that key is in the tenant's keyring",
    ]
    assert len(err) == 3
    for line, row in zip(err, expected, strict=True):
        assert line.startswith(f"skipped, left on its old key: {row}")
    done = out.index(
        "done: 12 re-encrypted, 1 left; 5 entity states re-encrypted, 1 left;"
        " 1 rejected event bodies re-encrypted, 1 left"
    )
    assert out[done + 1] == "skipped 3 rows that no key opens, left on their old key:"
    for line, row in zip(out[done + 2 :], expected, strict=True):
        assert line.startswith(f"  {row}")
    assert f"3 rows of tenant {owner.tenant_id} could not be re-encrypted" in error
    [audit] = _audits(owner.tenant_id)
    assert audit.detail == {
        "key_id": 2,
        "resealed": {"events": 12, "entity_state": 5, "rejected_events": 1},
        "skipped": 3,
    }
    stored = _snapshot(owner.tenant_id)
    assert sorted(row[4] for row in stored["events"]) == [2] * 12 + [3]
    assert sorted(row[5] for row in stored["entity_state"] if row[4] is not None) == [1, 2, 2, 2, 2, 2]
    assert sorted(row[3] for row in stored["rejected_events"]) == [1, 2]

    # The runbook (docs/encryption.md, "Rotation"): rebuild the damaged state from the event log,
    # put the missing key back, delete the damaged rejection; each run re-tries what is left.
    with ROTATING:
        call_command(
            "projections_rebuild",
            *("--tenant", str(owner.tenant_id), "--store", str(first.store_id), "--projection", ENTITY_STATE),
            stdout=StringIO(),
        )
        out, err, error = _run(owner.tenant_id)
    assert [line.split(": ", 2)[1] for line in err] == ["events.payload", "rejected_events.body"]
    with override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=f"{KEY_2},{KEY_1},{KEY_3}"):
        out, err, error = _run(owner.tenant_id)
        assert [line.split(": ", 2)[1] for line in err] == ["rejected_events.body"]
        assert "done: 1 re-encrypted, 0 left; 0 entity states re-encrypted, 0 left;" in out[-3]
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM rejected_events WHERE tenant_id = %s AND rejection_id = %s", [owner.tenant_id, rejection_id]
        )
    with ROTATING:
        call_command(
            "reencrypt_payloads", "--tenant", str(owner.tenant_id), "--key-deployed", stdout=(out_last := StringIO())
        )
    assert out_last.getvalue().splitlines()[-1] == (
        "done: 0 re-encrypted, 0 left; 0 entity states re-encrypted, 0 left;"
        " 0 rejected event bodies re-encrypted, 0 left"
    )
    with RETIRED:
        opened = _opened(owner.tenant_id)
    assert [len(rows) for rows in opened.values()] == [13, 6, 1]
    assert [audit.detail["skipped"] for audit in _audits(owner.tenant_id)] == [3, 2, 1, 0]


@override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_1)
def test_a_clean_rotation_succeeds_and_is_audited(owner: Persona, post_ingest: IngestPoster) -> None:
    _fill(owner, post_ingest, "c")
    out, err = StringIO(), StringIO()
    with override_settings(PAYLOAD_ENCRYPTION_KEYS=f"{KEY_2},{KEY_1}"):
        call_command("reencrypt_payloads", "--tenant", str(owner.tenant_id), "--key-deployed", stdout=out, stderr=err)
    assert err.getvalue() == ""
    assert out.getvalue().splitlines()[-1] == (
        "done: 6 re-encrypted, 0 left; 3 entity states re-encrypted, 0 left;"
        " 1 rejected event bodies re-encrypted, 0 left"
    )
    [audit] = _audits(owner.tenant_id)
    assert audit.detail == {
        "key_id": 2,
        "resealed": {"events": 6, "entity_state": 3, "rejected_events": 1},
        "skipped": 0,
    }


def test_a_run_that_skips_more_rows_than_it_keeps_counts_them_all(
    owner: Persona, post_ingest: IngestPoster, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The old key removed too early: every row is skipped; the run keeps the first few to list at
    # its end and counts the rest (each was named on stderr as met), rather than all in memory
    monkeypatch.setattr(payload_rotation, "SKIPPED_KEPT", 2)
    _fill(owner, post_ingest, "k")
    with RETIRED:
        out, err, error = _run(owner.tenant_id)

    assert len(err) == 10
    assert out[-4:-3] == ["skipped 10 rows that no key opens, left on their old key:"]
    assert out[-1] == "  … and 8 more (each was named on stderr as met)"
    assert error.startswith("10 rows of tenant")
    [audit] = _audits(owner.tenant_id)
    assert audit.detail["skipped"] == 10


@override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_1)
def test_a_key_id_given_new_material_is_refused_before_anything_changes(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    """Key id 1 reused for a new key, the old one moved to id 2: every row names id 1, so nothing
    is "on an older key"; the command refuses instead of reporting 0 left, and changes nothing."""
    _fill(owner, post_ingest, "r")
    before = _snapshot(owner.tenant_id)
    reused = "1:" + "44" * 32
    old_elsewhere = "2:" + KEY_1.split(":", 1)[1]

    with override_settings(PAYLOAD_ENCRYPTION_KEYS=f"{reused},{old_elsewhere}"):
        out, err, error = _run(owner.tenant_id)

    assert "id 1, opens none of the" in error
    assert "a key id must never be given a new key" in error
    assert "nothing was changed" in error
    assert (out, err) == ([], [])
    assert _snapshot(owner.tenant_id) == before
    assert not _audits(owner.tenant_id)


@override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_1)
def test_one_altered_row_under_the_newest_key_is_not_taken_for_a_changed_key(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    _fill(owner, post_ingest, "a")
    _flip("events", "payload", tenant_id=owner.tenant_id, store_id=owner.store_id, sequence_number=1)

    assert payload_rotation.newest_key_check(tenant_id=owner.tenant_id).mismatch is None  # the other rows open
    with override_settings(PAYLOAD_ENCRYPTION_KEYS="1:" + "44" * 32):
        mismatch = payload_rotation.newest_key_check(tenant_id=owner.tenant_id).mismatch
    assert mismatch is not None
    assert (mismatch.key_id, mismatch.reason.split(":")[0]) == (1, "altered")


@override_settings(PAYLOAD_ENCRYPTION_MODE="required", PAYLOAD_ENCRYPTION_KEYS=KEY_1)
def test_each_progress_line_is_printed_once_when_the_batch_size_divides_the_rows(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    _fill(owner, post_ingest, "p")  # six payloads, three states, one body
    out = StringIO()
    with override_settings(PAYLOAD_ENCRYPTION_KEYS=f"{KEY_2},{KEY_1}"):
        call_command(
            "reencrypt_payloads", "--tenant", str(owner.tenant_id), "--batch-size", "3", "--key-deployed", stdout=out
        )

    progress = [line for line in out.getvalue().splitlines() if line.startswith("re-encrypted")]
    assert progress == ["re-encrypted 3/6", "re-encrypted 6/6", "re-encrypted states 3/3", "re-encrypted bodies 1/1"]


@pytest.mark.parametrize("size", ["٣", "+3", "3_0", "x"])
def test_a_batch_size_is_ascii_digits(owner: Persona, size: str) -> None:
    with pytest.raises(CommandError, match="is not an integer of at most 19 ASCII digits"):
        call_command("reencrypt_payloads", "--tenant", str(owner.tenant_id), "--batch-size", size)


def test_a_key_no_payload_is_sealed_under_yet_is_refused_and_nothing_changes(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    # A ring given to the command alone (a shell variable over the deployment's .env): were the
    # rows re-sealed, the service, which does not hold key 2, could open none of them.
    with OLD:
        _fill(owner, post_ingest, "u")
    before = _snapshot(owner.tenant_id)
    out, err = StringIO(), StringIO()
    with ROTATING, pytest.raises(CommandError) as refused:
        call_command("reencrypt_payloads", "--tenant", str(owner.tenant_id), stdout=out, stderr=err)
    assert "is sealed under its newest key, id 2, yet" in str(refused.value)
    assert "--key-deployed" in str(refused.value)
    assert (out.getvalue(), err.getvalue()) == ("", "")
    assert _snapshot(owner.tenant_id) == before
    assert not _audits(owner.tenant_id)


def test_a_key_the_service_has_written_with_is_rotated_to_without_being_vouched_for(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    with OLD:
        _fill(owner, post_ingest, "w")
    with ROTATING:
        _fill(owner, post_ingest, "x")  # the service, deployed with key 2, seals with it
        out = StringIO()
        call_command("reencrypt_payloads", "--tenant", str(owner.tenant_id), stdout=out)
    assert out.getvalue().splitlines()[-1] == (
        "done: 6 re-encrypted, 0 left; 3 entity states re-encrypted, 0 left;"
        " 1 rejected event bodies re-encrypted, 0 left"
    )
    with RETIRED:
        assert [len(rows) for rows in _opened(owner.tenant_id).values()] == [12, 6, 2]


def test_a_dry_run_counts_what_a_run_would_reseal_says_whether_it_would_start_and_changes_nothing(
    owner: Persona, post_ingest: IngestPoster
) -> None:
    with OLD:
        _fill(owner, post_ingest, "d")
    before = _snapshot(owner.tenant_id)
    for vouched, last in (([], "a run would refuse: No payload of tenant"), (["--key-deployed"], "a run would start")):
        out = StringIO()
        with ROTATING:
            call_command("reencrypt_payloads", "--tenant", str(owner.tenant_id), "--dry-run", *vouched, stdout=out)
        lines = out.getvalue().splitlines()
        assert lines[0] == (
            f"tenant {owner.tenant_id}: 6 payloads, 3 entity states, 1 rejected event bodies to re-encrypt with key 2"
        )
        assert lines[-1].startswith(last), lines
    assert _snapshot(owner.tenant_id) == before
    assert not _audits(owner.tenant_id)
