"""A caller without the operation's right is refused for the right, whatever else is wrong with the
request: the values the right does not depend on (a path id, a body member other than the
stream's) are read only after the right is checked (docs/errors.md "In what order a request is
checked")."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from tests.conftest import Persona, api_client
from tests.tenants.factories import issue_key

pytestmark = pytest.mark.django_db

MALFORMED = "not-a-uuid"


@pytest.fixture
def write_only(owner: Persona) -> APIClient:
    return api_client(issue_key(owner.tenant, can_read=False, can_write=True))


@pytest.fixture
def read_only(owner: Persona) -> APIClient:
    return api_client(issue_key(owner.tenant))


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/events/{MALFORMED}",
        f"/api/v1/events/{MALFORMED}/bundle",
        f"/api/v1/ves/events/{MALFORMED}/bundle",
        f"/api/v1/commitments/{MALFORMED}",
        f"/api/v1/ves/commitments/{MALFORMED}",
        f"/api/v1/anchor/{MALFORMED}/verify",
        f"/api/v1/ves/anchor/{MALFORMED}/verify",
    ],
)
def test_a_read_without_the_read_right_is_refused_before_its_path_id_is_read(
    owner: Persona, write_only: APIClient, path: str
) -> None:
    refused = write_only.get(path, {"tenant_id": str(owner.tenant_id)})
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    # The same malformed id from a caller with the right is the id's own error.
    answered = owner.client.get(path, {"tenant_id": str(owner.tenant_id)})
    assert (answered.status_code, answered.json()["code"]) == (400, "invalid_parameter")


@pytest.mark.parametrize("path", ["/api/v1/anchor", "/api/v1/ves/anchor"])
@pytest.mark.parametrize("body", [{}, {"batch_id": MALFORMED}, {"batch_id": 7}], ids=["missing", "malformed", "number"])
def test_anchoring_without_the_admin_right_is_refused_before_the_body_is_read(
    read_only: APIClient, path: str, body: dict[str, object]
) -> None:
    refused = read_only.post(path, body, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")


@pytest.mark.parametrize(
    "extra",
    [{"max_size": 0}, {"max_size": "ten"}, {"network": "no-such-chain"}],
    ids=["zero", "text", "network"],
)
def test_a_batch_without_the_admin_right_is_refused_before_its_options_are_read(
    owner: Persona, read_only: APIClient, extra: dict[str, object]
) -> None:
    body = {"tenant_id": str(owner.tenant_id), "store_id": str(uuid.uuid4()), **extra}
    refused = read_only.post("/api/v1/x402/batches", body, format="json")
    assert refused.status_code == 403
    assert refused.json()["status"] == 403
