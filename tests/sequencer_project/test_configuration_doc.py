"""``docs/configuration.md`` lists every variable the settings and the web server read.

The variables are found in the source, as read (``env.<type>("NAME"`` or a helper such as
``_required("NAME"`` in settings, ``environ.get("NAME"`` in both), so a variable added without a
row in the page fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READERS = (ROOT / "sequencer_project" / "settings.py", ROOT / "docker" / "gunicorn.conf.py")
# ``env.<type>("NAME"``, a settings helper ``_<helper>("NAME"`` (``_required``, ``_url``, ...), ``environ.get("NAME"``.
READ = re.compile(r"""(?:\benv\.[a-z_]+\(|\b_[a-z_]+\(|\benviron\.get\(|\benviron[(\[])\s*["']([A-Z][A-Z0-9_]+)["']""")


def _variables_read() -> set[str]:
    return {name for path in READERS for name in READ.findall(path.read_text(encoding="utf-8"))}


def test_the_source_reads_the_variables_this_test_looks_for() -> None:
    assert {
        "SECRET_KEY",
        "DATABASE_URL",
        "SEQUENCER_DOTENV",
        "WEB_THREADS",
        "ANCHOR_RETRY_ATTEMPTS",
    } <= _variables_read()


def test_every_variable_read_has_a_row_in_the_configuration_page() -> None:
    rows = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8").splitlines()
    documented = {
        name
        for line in rows
        if line.startswith("| `")
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split(" | ")[0])
    }
    assert _variables_read() - documented == set()
