"""``docs/api.md``'s table of every operation, held to the OpenAPI snapshot and to the URL routes.

Each row names a method, a path, a permission and the view serving it. The rows must be exactly
the snapshot's operations (``docs/openapi/openapi.yaml``, itself held to the code by
``test_openapi_schema.py``), and each row's view must be the one Django routes the path to, so a
reader who follows the table lands in the right module.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.urls import resolve

from tests.conftest import Persona, api_client
from tests.tenants.factories import issue_key

DOCS = Path(__file__).resolve().parents[2] / "docs"
ROW = re.compile(r"^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \| [^|]+ \| ([^|]+) \| `([\w.]+)` \|$")
METHODS = {"get", "post", "put", "patch", "delete"}


def _rows() -> dict[tuple[str, str], tuple[str, str]]:
    rows: dict[tuple[str, str], tuple[str, str]] = {}
    for line in (DOCS / "api.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            method, path, permission, view = match.groups()
            assert (method, path) not in rows, f"{method} {path} is listed twice"
            rows[method, path] = (permission.strip(), view)
    return rows


def _snapshot_operations() -> set[tuple[str, str]]:
    schema = yaml.safe_load((DOCS / "openapi" / "openapi.yaml").read_text(encoding="utf-8"))
    return {(method.upper(), path) for path, item in schema["paths"].items() for method in item if method in METHODS}


def test_the_table_lists_every_operation_of_the_schema_once() -> None:
    assert set(_rows()) == _snapshot_operations()


def test_every_row_names_the_view_that_serves_its_path() -> None:
    for (method, path), (_, view) in _rows().items():
        match = resolve(re.sub(r"\{[^}]+\}", "1", path))
        served = getattr(match.func, "view_class", match.func)
        assert f"{served.__module__}.{served.__name__}" == view, f"{method} {path}"


# --- the permission column, held to what the service answers -----------------------------------

_PATH_VALUES = {
    "entity_type": "order",
    "entity_id": "order-1",
    "event_type": "order.created",
    "key_id": "1",
    "sequence_number": "1",
    "key_prefix": "abcdef12",
}


def _call(persona_key: str, persona: Persona, method: str, path: str) -> Any:
    filled = re.sub(r"\{(\w+)\}", lambda m: _PATH_VALUES.get(m.group(1), str(uuid.uuid4())), path)
    query = f"?tenant_id={persona.tenant_id}&store_id={persona.store_id}"
    client = api_client(persona_key)
    if method in {"GET", "DELETE"}:
        return getattr(client, method.lower())(filled + query)
    return getattr(client, method.lower())(filled + query, data=b"{}", content_type="application/json")


@pytest.mark.django_db
def test_no_operation_answers_a_credential_without_the_permission_its_row_names(owner: Persona) -> None:
    """A row's permission is the least a caller needs: a key without it never gets a 2xx, and an
    *any credential* row never refuses a key for its permissions (read-only or write-only)."""
    keys = {
        "read": issue_key(owner.tenant, can_read=True),
        "write": issue_key(owner.tenant, can_read=False, can_write=True),
        "read+write": issue_key(owner.tenant, can_read=True, can_write=True),
    }
    lacking = {"read": ("write",), "write": ("read",), "admin": ("read+write",)}
    wrong: list[str] = []
    for (method, path), (permission, _) in sorted(_rows().items()):
        needed = permission.split(",")[0].split(" (")[0].strip()
        if needed == "any credential":
            for name in ("read", "write"):
                answer = _call(keys[name], owner, method, path)
                if answer.status_code == 403 and answer.json()["code"] == "permission_denied":
                    wrong.append(f"{method} {path}: a {name}-only key is refused ({permission})")
        for name in lacking.get(needed, ()):
            answer = _call(keys[name], owner, method, path)
            if answer.status_code < 300:
                wrong.append(f"{method} {path}: a {name} key got {answer.status_code} ({permission})")
    assert wrong == []
