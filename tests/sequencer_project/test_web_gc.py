"""A web process tunes its garbage collector once it has imported what it serves
(``sequencer_project.wsgi``, ``WEB_GC_GEN0_THRESHOLD``): the started heap, every view included,
is frozen and the youngest generation is collected less often; 0 leaves Python's collector as it
is. The probe imports the module in a fresh interpreter, as gunicorn's and granian's workers do."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.sequencer_project.ops_helpers import ROOT, bare_interpreter_collector, child_database_url

pytestmark = [pytest.mark.django_db]

_PROBE = """
import gc, sys
import sequencer_project.wsgi
print(gc.get_threshold()[0], gc.get_freeze_count(), "schemas.api.views" in sys.modules)
"""


def _served_process(setting: str) -> tuple[int, int, bool]:
    env = {**os.environ, "DATABASE_URL": child_database_url(), "WEB_GC_GEN0_THRESHOLD": setting}
    done = subprocess.run(  # noqa: S603  (this interpreter)
        [sys.executable, "-c", _PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    )
    threshold, frozen, views_loaded = done.stdout.split()
    return int(threshold), int(frozen), views_loaded == "True"


def test_a_web_process_freezes_its_started_heap_with_every_view_in_it() -> None:
    threshold, frozen, views_loaded = _served_process("12345")
    assert threshold == 12345
    assert frozen > 50_000  # Django, DRF and every app's views
    assert views_loaded  # the URL table was loaded before the freeze, not on the first request


def test_zero_leaves_pythons_collector_as_it_is() -> None:
    threshold, frozen, _ = _served_process("0")
    assert (threshold, frozen) == bare_interpreter_collector()  # nothing of ours frozen or tuned
