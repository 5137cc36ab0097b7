"""``GET /api/v1/sequencer/keys``: the public keys a verifier pins, the ones the service's
checkpoints are really signed with (docs/proofs.md, "The sequencer's keys")."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from tests.commitments.helpers import create, ingest_ves_case
from tests.conftest import Persona
from tests.ves.ves_case_vectors import CASES
from ves.checkpoint import parse_checkpoint, verify_checkpoint
from ves.signing import public_key_from_seed

pytestmark = pytest.mark.django_db

CURRENT, PREVIOUS = bytes(range(32)), bytes(range(1, 33))
NAME = "keys.test"
SIGNING = {
    "VES_SEQUENCER_SIGNING_KEY": CURRENT.hex(),
    "VES_SEQUENCER_PREVIOUS_SIGNING_KEYS": PREVIOUS.hex(),
    "CHECKPOINT_SEQUENCER_NAME": NAME,
}


@override_settings(**SIGNING)
def test_the_published_keys_are_the_ones_checkpoints_are_signed_with(admin_client: APIClient, member: Persona) -> None:
    case = CASES[3]
    ingest_ves_case(admin_client, case)
    t, s = case["tenant_id"], case["store_id"]
    create(admin_client, "ves/", t, s, 1, 9)
    note = admin_client.get(f"/api/v1/ves/log/checkpoint?tenant_id={t}&store_id={s}").json()["checkpoint"]

    answer = member.client.get("/api/v1/sequencer/keys")  # any credential that may read

    assert answer.status_code == 200, answer.content
    published: dict[str, Any] = answer.json()
    assert published["key_name"] == NAME
    assert [(k["public_key"], k["status"]) for k in published["keys"]] == [
        (public_key_from_seed(CURRENT).hex(), "current"),
        (public_key_from_seed(PREVIOUS).hex(), "previous"),
    ]
    lines = {(line.key_name, line.key_id.hex()) for line in parse_checkpoint(note).signatures}
    assert lines == {(NAME, k["note_key_id"]) for k in published["keys"]}
    for key in published["keys"]:
        signed = verify_checkpoint(note, bytes.fromhex(key["public_key"]), key_name=published["key_name"])
        assert signed.verified_by == (bytes.fromhex(key["public_key"]),)


@override_settings(VES_SEQUENCER_SIGNING_KEY="", VES_SEQUENCER_PREVIOUS_SIGNING_KEYS="")
def test_without_a_signing_key_there_is_no_key_to_publish(owner: Persona) -> None:
    answer = owner.client.get("/api/v1/sequencer/keys")
    assert answer.status_code == 200
    assert answer.json()["keys"] == []


def test_it_needs_a_credential() -> None:
    answer = APIClient().get("/api/v1/sequencer/keys")
    assert answer.status_code == 401
    assert answer["Content-Type"] == "application/problem+json"
