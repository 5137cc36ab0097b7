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
    methods: dict[str, set[str]] = {}
    for (_, method), entry in MATRIX.items():
        methods.setdefault(urlsplit(world.fill(entry.path)).path, set()).add(method)
    answers, expected = [], []
    for path, served in sorted(methods.items()):
        if not path.startswith("/api/v1/"):
            continue
        response = world.owner.client.options(path)
        allow = {method.strip() for method in response.get("Allow", "").split(",")}
        answers.append((path, response.status_code, response.content, allow))
        expected.append((path, 200, b"{}", served | {"OPTIONS"} | ({"HEAD"} if "GET" in served else set())))

    assert answers == expected
    assert len(answers) > 40
