"""A variable that does not read as its type stops ``manage.py`` with one line naming it, not a
``ValueError`` traceback that names none of the settings (docs/configuration.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("variable", "value", "kind"),
    [("DB_POOL_MIN_SIZE", "abc", "int"), ("ANCHOR_MAX_ATTEMPTS", "1.5", "int"), ("DB_POOL_MAX_SIZE", "", "int")],
)
def test_a_value_of_the_wrong_type_is_one_line_naming_the_variable(variable: str, value: str, kind: str) -> None:
    env = {**os.environ, variable: value, "SECRET_KEY": os.environ.get("SECRET_KEY") or "x"}
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"manage.py: {variable}={value!r} is not a valid {kind}: invalid literal for int() with base 10: {value!r}"
    ], done.stderr
