"""Projection fixtures shared by the projection, admin and browser tests (``tests/conftest.py``
loads this module as a plugin)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from events.projections.registry import projection_register, projection_unregister
from tests.events.projections.helpers import PoisonProjection


@pytest.fixture
def poison() -> Iterator[PoisonProjection]:
    """A registered :class:`PoisonProjection` of its own name, unregistered afterwards."""
    projection = PoisonProjection(f"poison_{uuid.uuid4().hex[:8]}")
    projection_register(projection)
    yield projection
    projection_unregister(projection.name)
