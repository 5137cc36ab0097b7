"""The generated OpenAPI snapshot names exactly the commitments app's routes and methods."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from django.urls import URLPattern, get_resolver

from commitments.api import urls as commitment_urls

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "openapi.yaml"
METHODS = {"get", "post", "put", "patch", "delete"}


def _routes() -> set[str]:
    routes = set()
    for pattern in commitment_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        routes.add("/api/v1/" + re.sub(r"<str:(\w+)>", r"{\1}", str(pattern.pattern)))
    return routes


def test_every_commitments_route_is_documented_with_exactly_the_methods_it_serves() -> None:
    document = yaml.safe_load(DOC.read_text())
    assert document["openapi"].startswith("3.")
    routes = _routes()
    assert routes <= set(document["paths"])
    resolver = get_resolver()
    for path in routes:
        concrete = re.sub(r"\{\w+\}", "00000000-0000-0000-0000-000000000001", path).replace(
            "proofs/00000000-0000-0000-0000-000000000001", "proofs/1"
        )
        view_class = resolver.resolve(concrete).func.view_class  # type: ignore[attr-defined]
        served = {m for m in METHODS if hasattr(view_class, m)}
        documented = set(document["paths"][path]) & METHODS
        assert documented == served, path
