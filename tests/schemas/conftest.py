"""Schema-registry fixtures: fresh in-process caches around every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from schemas.registry import mode_cache, schema_cache


@pytest.fixture(autouse=True)
def _fresh_schema_caches() -> Iterator[None]:
    schema_cache.clear()
    mode_cache.clear()
    yield
    schema_cache.clear()
    mode_cache.clear()
