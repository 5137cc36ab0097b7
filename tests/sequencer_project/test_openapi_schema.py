"""The OpenAPI schema: generated without warnings, committed as a snapshot, covering every route.

``docs/openapi/openapi.yaml`` must equal what the code generates: after changing an endpoint, run
``manage.py spectacular --validate --fail-on-warn --file docs/openapi/openapi.yaml`` (docs/api.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from sequencer_project.api.errors import SequencerError
from sequencer_project.api.openapi import codes_by_status

SNAPSHOT = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "openapi.yaml"
UNDOCUMENTED = ("admin/", "api/schema/", "api/docs/")  # the operator site and the schema's own pages
METHODS = {"get", "post", "put", "patch", "delete"}


def _generated(tmp_path: Path) -> str:
    target = tmp_path / "openapi.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    return target.read_text()


def _routes(patterns: list[Any], prefix: str = "") -> set[str]:
    routes: set[str] = set()
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if route.startswith(UNDOCUMENTED):
            continue
        if isinstance(pattern, URLResolver):
            routes |= _routes(pattern.url_patterns, route)
        else:
            assert isinstance(pattern, URLPattern)
            routes.add("/" + re.sub(r"<str:(\w+)>", r"{\1}", route))
    return routes


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SNAPSHOT.read_text())
    return loaded


def test_the_committed_snapshot_is_what_the_code_generates(tmp_path: Path) -> None:
    assert _generated(tmp_path) == SNAPSHOT.read_text(), (
        "docs/openapi/openapi.yaml is stale: regenerate it with "
        "manage.py spectacular --validate --fail-on-warn --file docs/openapi/openapi.yaml"
    )


def test_every_route_of_the_service_is_documented(document: dict[str, Any]) -> None:
    assert set(document["paths"]) == _routes(get_resolver().url_patterns)


def test_every_operation_has_an_id_a_success_body_and_problem_responses(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        for method in set(item) & METHODS:
            operation = item[method]
            assert operation["operationId"], (method, path)
            successes = [code for code in operation["responses"] if code.startswith("2")]
            # A route of the reference we mount only to refuse (501 not_implemented) has none.
            assert successes or "501" in operation["responses"], (method, path)
            for code in successes:
                assert operation["responses"][code].get("content"), (method, path, code)
            problems = [
                code
                for code, response in operation["responses"].items()
                if "application/problem+json" in response.get("content", {})
            ]
            if path not in ("/health", "/healthz", "/ready", "/readyz"):  # plain probes: no DRF, no 500 body
                assert {"400", "500", "503"} <= set(problems), (method, path)


def test_path_parameters_are_typed(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        for method in set(item) & METHODS:
            names = {p["name"] for p in item[method].get("parameters", []) if p["in"] == "path"}
            assert names == set(re.findall(r"\{(\w+)\}", path)), (method, path)
            for parameter in item[method].get("parameters", []):
                if parameter["in"] == "path":
                    schema = parameter["schema"]
                    assert (
                        schema.get("format") == "uuid"
                        or "pattern" in schema
                        or schema["type"] == "integer"
                        or ("maxLength" in schema)
                    ), (method, path, parameter["name"])


def test_every_integer_parameter_names_the_largest_value_it_takes(document: dict[str, Any]) -> None:
    # Each is read into a bigint and refused (400) beyond it, or capped lower by the operation.
    for path, item in document["paths"].items():
        for method in set(item) & METHODS:
            for parameter in item[method].get("parameters", []):
                schema = parameter["schema"]
                if schema.get("type") == "integer":
                    assert 0 < schema["maximum"] <= 2**63 - 1, (method, path, parameter["name"])


def _hex_members(schema: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every string member of a request body described as hex, with its JSON path."""
    if isinstance(schema, dict):
        if schema.get("type") == "string" and "hex" in schema.get("description", ""):
            yield where, schema
        for key, value in schema.items():
            yield from _hex_members(value, f"{where}.{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _hex_members(value, f"{where}[{index}]")


def test_hex_request_members_carry_the_pattern_the_api_reads(document: dict[str, Any]) -> None:
    found = 0
    for path, item in document["paths"].items():
        for method in set(item) & METHODS:
            body = item[method].get("requestBody", {}).get("content", {}).get("application/json", {})
            for where, schema in _hex_members(body.get("schema", {}), f"{method} {path}"):
                found += 1
                assert "pattern" in schema, where
                pattern = re.compile(schema["pattern"])
                sizes = {n for n in range(80) if pattern.search("0x" + "ab" * n)}
                assert sizes, where
                assert sizes <= {20, 32, 64, 65}, (where, sizes)  # addresses, hashes, signatures
                for size in sizes:
                    assert pattern.search("0X" + "AB" * size), (where, size)
                    for refused in ("0x" + "abc" * size, " 0x" + "ab" * size, "0x" + "zz" * size):
                        assert not pattern.search(refused), (where, refused)
    assert found >= 8  # proofs, VES hashes and signature, agent keys, settlement and anchor hashes


def test_a_legacy_event_requires_its_created_at(document: dict[str, Any]) -> None:
    event = document["paths"]["/api/v1/events/ingest"]["post"]["requestBody"]["content"]["application/json"]
    item = event["schema"]["properties"]["events"]["items"]
    item = document["components"]["schemas"][item["$ref"].rsplit("/", 1)[1]] if "$ref" in item else item
    assert "created_at" in item["required"]


def test_the_credentials_the_code_accepts_are_the_security_schemes(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": schemes["ApiKeyAuth"]["description"],
    }
    assert schemes["BearerAuth"]["scheme"] == "bearer"
    assert schemes["XApiKeyAuth"]["name"] == "X-API-Key"
    head = document["paths"]["/api/v1/head"]["get"]
    assert head["security"] == [{"ApiKeyAuth": []}, {"BearerAuth": []}, {"XApiKeyAuth": []}]


def test_every_stable_error_code_is_listed_under_its_status(document: dict[str, Any]) -> None:
    text = SNAPSHOT.read_text()
    by_status = codes_by_status()
    assert by_status[401] == ["api_key_expired", "invalid_api_key", "invalid_jwt", "missing_auth", "token_expired"]
    for status, codes in by_status.items():
        if status == 405:
            continue  # answers only methods a path does not serve, which the schema does not list
        for code in codes:
            assert f"`{code}`" in text, (status, code)
    stack: list[type[SequencerError]] = [SequencerError]
    while stack:
        cls = stack.pop()
        assert cls.code in by_status[cls.http_status]
        stack.extend(cls.__subclasses__())


@pytest.mark.django_db
def test_the_schema_and_its_docs_page_are_served_without_a_credential_or_a_cdn() -> None:
    client = Client()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "StateSet Sequencer API"
    assert "/api/v1/events/ingest" in schema.json()["paths"]
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui" in html
    assert "/api/schema/" in html
    assert not re.search(r"(src|href)=\"https?://", html), "the docs page must not load assets from a CDN"
    assets = re.findall(r"(?:src|href)=\"(/static/[^\"]+)\"", html)
    assert assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
