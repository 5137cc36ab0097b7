"""A request Django refuses with a 4xx is logged as a line, not a traceback; a 5xx keeps its
traceback (``sequencer_project.logs.ClientErrorTracebackFilter``, on the console handler)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def console_lines() -> Iterator[list[str]]:
    """What the configured console handler writes, line by line (its filters and formatter)."""
    console = next(h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler))
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if console.filter(record):  # the handler's own filters, in order
                lines.extend(console.format(record).splitlines())

    capture = Capture()
    logging.getLogger().addHandler(capture)
    try:
        yield lines
    finally:
        logging.getLogger().removeHandler(capture)


def test_a_refused_admin_page_is_one_line_without_a_traceback(console_lines: list[str]) -> None:
    client = Client()
    client.force_login(User.objects.create_user("op-nothing", is_staff=True))

    assert client.get("/admin/tenants/apikey/").status_code == 403
    assert any("Forbidden" in line and "/admin/tenants/apikey/" in line for line in console_lines), console_lines
    assert not any("Traceback" in line for line in console_lines)


def test_a_server_error_keeps_its_traceback(console_lines: list[str]) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("django.request").exception("Internal Server Error: /x", extra={"status_code": 500})

    assert any("Traceback" in line for line in console_lines)
