"""``OPTIONS`` on an API path answers its methods in ``Allow`` and ``{}`` (``docs/api.md``).

Before: DRF's metadata, the view's name and its docstring (internal reStructuredText about how the
view is built), for anyone authenticated.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.reliability.matrix import MATRIX
from tests.reliability.world import build_world

pytestmark = pytest.mark.django_db


def test_options_on_every_api_path_answers_its_methods_and_nothing_else() -> None:
    world = build_world()
    paths = sorted({urlsplit(world.fill(entry.path)).path for entry in MATRIX.values()})
    answers = []
    for path in paths:
        if not path.startswith("/api/v1/"):
            continue
        response = world.owner.client.options(path)
        methods = {
            (name, method) for (name, method), entry in MATRIX.items() if world.fill(entry.path).startswith(path)
        }
        answers.append((path, response.status_code, response.content, methods and response["Allow"]))

    assert [a for a in answers if a[1:3] != (200, b"{}")] == []
    assert all("OPTIONS" in allow for *_, allow in answers)
    assert len(answers) > 40
