"""``docs/openapi/commitments.yaml`` names exactly the commitments app's routes and methods."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from django.urls import URLPattern, URLResolver, get_resolver

from commitments.api import urls as commitment_urls

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "commitments.yaml"


def _routes() -> set[str]:
    routes = set()
    for pattern in commitment_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        routes.add("/" + re.sub(r"<str:(\w+)>", r"{\1}", str(pattern.pattern)))
    return routes


def test_every_route_is_documented_and_every_documented_method_exists() -> None:
    document = yaml.safe_load(DOC.read_text())
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == _routes()
    resolver = get_resolver()
    assert any(isinstance(p, URLResolver) for p in resolver.url_patterns)
    for path, operations in document["paths"].items():
        concrete = "/api/v1" + re.sub(r"\{\w+\}", "00000000-0000-0000-0000-000000000001", path).replace(
            "proofs/00000000-0000-0000-0000-000000000001", "proofs/1"
        )
        match = resolver.resolve(concrete)
        view_class = match.func.view_class  # type: ignore[attr-defined]
        for method in operations:
            assert hasattr(view_class, method), f"{method.upper()} {path} is documented but not served"
