"""The anchor's SQL (``loadtest/anchor/sql/``), read once at import; no product module involved."""

from pathlib import Path

_DIR = Path(__file__).resolve().parent / "sql"


def _load(name: str) -> str:
    return (_DIR / name).read_text(encoding="utf-8")


CREATE_TABLE = _load("create_table.sql")
INSERT = _load("insert.sql")
SELECT_HEAD = _load("select_head.sql")
SELECT_BY_EVENT_ID = _load("select_by_event_id.sql")
SELECT_PAGE = _load("select_page.sql")
