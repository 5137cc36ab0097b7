"""``docs/README.md`` is the index of the docs: every page of ``docs/`` and every ADR is linked
from it, and every link in it leads to a file (ADR 0051 had been written and never listed)."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
INDEX = DOCS / "README.md"


def _linked() -> set[str]:
    return set(re.findall(r"\]\(([^)#\s]+\.md)\)", INDEX.read_text(encoding="utf-8")))


def test_every_adr_and_page_is_linked_from_the_index() -> None:
    documents = {path.relative_to(DOCS).as_posix() for path in DOCS.glob("*.md")} | {
        path.relative_to(DOCS).as_posix() for path in (DOCS / "adr").glob("*.md")
    }

    assert documents - {"README.md"} - _linked() == set()


def test_every_link_of_the_index_leads_to_a_file() -> None:
    assert {link for link in _linked() if not (DOCS / link).is_file()} == set()
