"""An early answer that leaves a large body unread says ``Connection: close`` under gunicorn.

gunicorn drains at most 64 KiB of a body the application did not read, then closes the
connection; an answer that said ``keep-alive`` lost the client's next request on it ("Server
disconnected without sending a response"). ``sequencer_project.api_handler.route_by_path`` asks
gunicorn to close whenever it answers an error to a request with a larger (or chunked) body.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import orjson
import pytest

from tests.conftest import Persona
from tests.sequencer_project.ops_helpers import serving_gunicorn

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_an_error_over_an_unread_large_body_closes_and_the_next_request_is_served(
    tmp_path: Path, owner: Persona
) -> None:
    large = orjson.dumps({"x": "a" * 70_000})
    small = orjson.dumps({"x": "a" * 60_000})
    validate = orjson.dumps({"tenantId": str(owner.tenant_id), "eventType": "t", "payload": {"x": "a" * 100_000}})
    with (
        serving_gunicorn(tmp_path, WEB_WORKERS="1", WEB_THREADS="2") as (port, _),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
    ):
        refused_large = client.post("/api/v1/events/ingest", content=large)  # no credential: 401 unread
        after_large = client.get("/health")
        refused_small = client.post("/api/v1/events/ingest", content=small)
        after_small = client.get("/health")
        missing = client.post(f"/api/v1/nowhere/{uuid.uuid4()}", content=large)
        after_missing = client.get("/health")
        accepted = client.post(
            "/api/v1/schemas/validate",
            content=validate,
            headers={"Authorization": f"ApiKey {owner.key}", "Content-Type": "application/json"},
        )
        after_accepted = client.get("/health")

    assert (refused_large.status_code, refused_large.headers["connection"]) == (401, "close")
    assert (missing.status_code, missing.headers["connection"]) == (404, "close")
    # gunicorn drains a small body, and a body the view read leaves nothing: both keep the connection
    assert (refused_small.status_code, refused_small.headers["connection"]) == (401, "keep-alive")
    assert (accepted.status_code, accepted.headers["connection"]) == (200, "keep-alive"), accepted.text
    assert [r.status_code for r in (after_large, after_small, after_missing, after_accepted)] == [200] * 4
