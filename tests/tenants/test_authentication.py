"""Credential forms, bootstrap admin, JWTs, revocation and the 401/403 bodies."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from sequencer_project.api import authentication
from tenants.credentials import api_key_hash
from tenants.models import ApiKey
from tenants.services import api_key_revoke, tenant_update
from tests.conftest import IngestPoster, Persona, api_client, legacy_event
from tests.tenants.factories import issue_key

pytestmark = pytest.mark.django_db

JWT_SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def _head(client: APIClient, persona: Persona, **headers: Any) -> Any:
    return client.get(f"/api/v1/head?tenant_id={persona.tenant_id}&store_id={persona.store_id}", **headers)


@pytest.mark.parametrize(
    "header",
    [
        lambda k: {"HTTP_AUTHORIZATION": f"ApiKey {k}"},
        lambda k: {"HTTP_AUTHORIZATION": f"apikey {k}"},
        lambda k: {"HTTP_AUTHORIZATION": f"Bearer {k}"},
        lambda k: {"HTTP_AUTHORIZATION": k},
        lambda k: {"HTTP_X_API_KEY": k},
        lambda k: {"HTTP_X_API_KEY": f"ApiKey {k}"},  # the reference reads X-API-Key as Authorization
        lambda k: {"HTTP_X_API_KEY": f"Bearer {k}"},
    ],
)
def test_every_credential_form_is_accepted(owner: Persona, header: Any) -> None:
    assert _head(APIClient(), owner, **header(owner.key)).status_code == 200


def test_ingest_reads_x_api_key_with_a_scheme_as_the_views_do(owner: Persona, post_ingest: IngestPoster) -> None:
    event = legacy_event(owner.tenant_id, owner.store_id)

    response = post_ingest(APIClient(), {"events": [event]}, HTTP_X_API_KEY=f"ApiKey {owner.key}")

    assert (response.status_code, response.json()["events_accepted"]) == (200, 1)


def test_authorization_wins_over_x_api_key(owner: Persona) -> None:
    response = _head(APIClient(), owner, HTTP_AUTHORIZATION="ApiKey ss_unknown", HTTP_X_API_KEY=owner.key)

    assert response.status_code == 401


def test_an_unknown_key_is_a_401_problem(owner: Persona) -> None:
    response = _head(APIClient(), owner, HTTP_AUTHORIZATION="ApiKey ss_0000000000000000000000000000000000000000")

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_api_key"


def test_a_key_without_the_ss_prefix_is_refused_before_lookup(owner: Persona) -> None:
    with override_settings(DEBUG=True):
        connection.queries_log.clear()
        response = _head(APIClient(), owner, HTTP_AUTHORIZATION="ApiKey dev_admin_key")
        lookups = [q for q in connection.queries if "api_keys" in q["sql"]]

    assert response.status_code == 401
    assert lookups == []


def test_an_unsupported_scheme_is_a_401(owner: Persona) -> None:
    response = _head(APIClient(), owner, HTTP_AUTHORIZATION=f"Basic {owner.key}")

    assert response.status_code == 401


@override_settings(BOOTSTRAP_ADMIN_API_KEY="dev_admin_key")
def test_the_bootstrap_key_may_be_any_string_and_acts_for_every_tenant(owner: Persona, outsider: Persona) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="ApiKey dev_admin_key")

    assert _head(client, owner).status_code == 200
    assert _head(client, outsider).status_code == 200


def test_keys_are_stored_as_sha256_only(owner: Persona) -> None:
    stored = ApiKey.objects.get(key_hash=api_key_hash(owner.key))

    assert owner.key.startswith(f"ss_{str(owner.tenant_id)[:8]}")
    assert len(owner.key) == 43
    assert stored.display_prefix == owner.key[:12]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM api_keys WHERE key_hash = %s OR display_prefix = %s", [owner.key, owner.key]
        )
        assert cursor.fetchone()[0] == 0


def test_a_revoked_key_stops_working(owner: Persona, django_capture_on_commit_callbacks: Any) -> None:
    assert _head(owner.client, owner).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        api_key_revoke(api_key=ApiKey.objects.get(key_hash=api_key_hash(owner.key)), actor="test")

    response = _head(owner.client, owner)
    assert response.status_code == 401
    assert ApiKey.objects.get(key_hash=api_key_hash(owner.key)).revoked_at is not None


def test_an_expired_key_is_a_401_with_its_own_code(owner: Persona) -> None:
    key = issue_key(owner.tenant, can_write=True, expires_at=timezone.now() - timedelta(seconds=1))

    response = _head(api_client(key), owner)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"] == "ApiKey"
    assert response.json()["code"] == "api_key_expired"


def test_a_key_is_refused_the_moment_it_expires_even_from_the_cache(
    owner: Persona, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache keeps the key's principal (with its expiry); the expiry is checked on every use."""
    settings.API_KEY_CACHE_SECONDS = 3600
    expires_at = timezone.now() + timedelta(minutes=5)
    client = api_client(issue_key(owner.tenant, can_write=True, expires_at=expires_at))
    assert _head(client, owner).status_code == 200  # resolved from the database, now cached

    monkeypatch.setattr(authentication, "timezone", SimpleNamespace(now=lambda: expires_at))
    with CaptureQueriesContext(connection) as queries:
        response = _head(client, owner)

    assert (response.status_code, response.json()["code"]) == (401, "api_key_expired")
    assert not [q for q in queries.captured_queries if "api_keys" in q["sql"]], "served from the cache"
    monkeypatch.setattr(authentication, "timezone", SimpleNamespace(now=lambda: expires_at - timedelta(seconds=1)))
    assert _head(client, owner).status_code == 200


def test_last_used_is_stamped(owner: Persona) -> None:
    _head(owner.client, owner)

    assert ApiKey.objects.get(key_hash=api_key_hash(owner.key)).last_used_at is not None


def _token(**claims: Any) -> str:
    now = int(time.time())
    base = {"iss": "stateset-sequencer", "aud": "stateset-api", "iat": now, "nbf": now, "exp": now + 300, "jti": "t1"}
    base.update(claims)
    return jwt.encode(base, JWT_SECRET, algorithm="HS256")


@override_settings(JWT_SECRET=JWT_SECRET)
def test_a_valid_jwt_carries_tenant_stores_and_permissions(owner: Persona) -> None:
    other_store = uuid.uuid4()
    token = _token(sub=str(owner.tenant_id), perms="read", stores=f"{owner.store_id},{other_store}")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    allowed = _head(client, owner)
    outside_store = client.get(f"/api/v1/head?tenant_id={owner.tenant_id}&store_id={uuid.uuid4()}")
    write = client.post("/api/v1/events/ingest", data={"events": []}, format="json")

    assert allowed.status_code == 200
    assert outside_store.status_code == 403
    assert write.status_code == 200  # an empty batch needs no permission


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"exp": int(time.time()) - 3600}, "token_expired"),
        ({"aud": "someone-else"}, "invalid_jwt"),
        ({"iss": "someone-else"}, "invalid_jwt"),
        ({"sub": "00000000-0000-0000-0000-000000000000", "perms": "admin"}, "invalid_jwt"),
        ({"sub": "not-a-uuid"}, "invalid_jwt"),
        ({"stores": "x,y"}, "invalid_jwt"),
    ],
)
@override_settings(JWT_SECRET=JWT_SECRET)
def test_bad_jwts_are_refused(owner: Persona, claims: dict[str, Any], code: str) -> None:
    token = _token(**{"sub": str(owner.tenant_id), **claims})
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    response = _head(client, owner)
    through_drf = client.get(f"/api/v1/schemas?tenant_id={owner.tenant_id}")

    for answer in (response, through_drf):
        assert answer.status_code == 401
        assert answer.json()["code"] == code
        assert answer["WWW-Authenticate"] == 'Bearer error="invalid_token"'  # every 401 names a scheme (RFC 9110)


@pytest.mark.parametrize("claim", ["sub", "iss", "aud", "exp", "iat"])
@override_settings(JWT_SECRET=JWT_SECRET)
def test_a_jwt_without_a_required_claim_is_refused_naming_it(owner: Persona, claim: str) -> None:
    claims = jwt.decode(_token(sub=str(owner.tenant_id)), options={"verify_signature": False})
    del claims[claim]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt.encode(claims, JWT_SECRET, algorithm='HS256')}")

    response = _head(client, owner)

    assert response.status_code == 401
    assert (response.json()["code"], f'"{claim}"' in response.json()["detail"]) == ("invalid_jwt", True)


@override_settings(JWT_SECRET=JWT_SECRET)
def test_a_jwt_without_nbf_or_jti_is_accepted(owner: Persona) -> None:
    # docs/auth.md lists the required claims; the reference's own tokens carry nbf and jti too
    claims = jwt.decode(_token(sub=str(owner.tenant_id)), options={"verify_signature": False})
    del claims["nbf"], claims["jti"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {jwt.encode(claims, JWT_SECRET, algorithm='HS256')}")

    assert _head(client, owner).status_code == 200


def test_a_jwt_without_jwt_configured_is_refused_with_a_scheme(owner: Persona) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {_token(sub=str(owner.tenant_id))}")

    response = _head(client, owner)

    assert (response.status_code, response.json()["code"]) == (401, "invalid_jwt")
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'


@override_settings(JWT_SECRET=JWT_SECRET)
def test_a_jwt_principal_expires_with_its_token(owner: Persona) -> None:
    exp = int(time.time()) + 120

    principal = authentication.principal_for_jwt(_token(sub=str(owner.tenant_id), exp=exp))

    assert principal.expires_at == datetime.fromtimestamp(exp, tz=UTC)


@override_settings(JWT_SECRET=JWT_SECRET)
def test_a_jwt_whose_exp_no_date_can_hold_is_refused(owner: Persona) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {_token(sub=str(owner.tenant_id), exp=10**20)}")

    assert _head(client, owner).json()["code"] == "invalid_jwt"


@override_settings(JWT_SECRET=JWT_SECRET)
def test_a_jwt_signed_with_another_secret_is_refused(owner: Persona) -> None:
    token = jwt.encode({"sub": str(owner.tenant_id)}, "another-secret-another-secret-1234", algorithm="HS256")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    assert _head(client, owner).status_code == 401


@override_settings(JWT_SECRET=JWT_SECRET)
def test_a_deactivated_tenants_credentials_are_refused_until_it_is_active_again(
    owner: Persona, outsider: Persona, admin_client: APIClient
) -> None:
    """The admin's "Is active" once changed nothing: keys and tokens of a deactivated tenant worked."""
    jwt_client = APIClient()
    jwt_client.credentials(HTTP_AUTHORIZATION=f"Bearer {_token(sub=str(owner.tenant_id), perms='read,write')}")
    assert _head(owner.client, owner).status_code == 200  # cached in this process from here on
    assert _head(jwt_client, owner).status_code == 200

    owner.tenant.is_active = False
    tenant_update(tenant=owner.tenant, changed=["is_active"], actor="test")
    refused = [
        _head(owner.client, owner),
        _head(jwt_client, owner),
        owner.client.get(f"/api/v1/schemas?tenant_id={owner.tenant_id}"),
        owner.client.post("/api/v1/events/ingest", data={"events": []}, format="json"),
    ]

    assert [(r.status_code, r["Content-Type"], r.json()["code"]) for r in refused] == [
        (403, "application/problem+json", "tenant_inactive")
    ] * 4
    assert _head(outsider.client, outsider).status_code == 200  # other tenants are untouched
    assert _head(admin_client, owner).status_code == 200  # the operator still acts on it

    owner.tenant.is_active = True
    tenant_update(tenant=owner.tenant, changed=["is_active"], actor="test")
    assert _head(owner.client, owner).status_code == 200
    assert _head(jwt_client, owner).status_code == 200
