"""Projection fixtures shared by the projection, admin and browser tests (``tests/conftest.py``
loads this module as a plugin)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.events.projections.helpers import PoisonProjection, registered


@pytest.fixture
def poison() -> Iterator[PoisonProjection]:
    """A registered :class:`PoisonProjection` of its own name, unregistered afterwards."""
    with registered(PoisonProjection(f"poison_{uuid.uuid4().hex[:8]}")) as projection:
        yield projection
