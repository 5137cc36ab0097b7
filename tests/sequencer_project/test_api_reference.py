"""``docs/api.md``'s table of every operation, held to the OpenAPI snapshot and to the URL routes.

Each row names a method, a path, a permission and the view serving it. The rows must be exactly
the snapshot's operations (``docs/openapi/openapi.yaml``, itself held to the code by
``test_openapi_schema.py``), and each row's view must be the one Django routes the path to, so a
reader who follows the table lands in the right module.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from django.urls import resolve

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
