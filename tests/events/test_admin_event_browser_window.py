"""The event browser's filters that no index serves search a bounded window of the stream per
page (``events.admin_selectors.SCAN_WINDOW``) and page on from where they stopped; a growth audit
saw a rare event type read the whole stream for one page."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from events import admin_selectors
from tests.conftest import IngestPoster, Persona, legacy_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def stream(owner: Persona, post_ingest: IngestPoster) -> Persona:
    """Eight events; only the seventh is an ``order.cancelled`` of entity ``rare``."""
    events = [
        legacy_event(
            owner.tenant_id,
            owner.store_id,
            entity_id="rare" if n == 7 else "common",
            event_type="order.cancelled" if n == 7 else "order.created",
        )
        for n in range(1, 9)
    ]
    assert post_ingest(owner.client, {"events": events}).status_code == 200
    return owner


def _page(client: Client, stream: Persona, query: str) -> tuple[list[int], int | None, str]:
    html = client.get(
        f"/admin/event-store/events/?tenant_id={stream.tenant_id}&store_id={stream.store_id}&{query}"
    ).content.decode()
    rows = [int(n) for n in re.findall(r"<tr><td>(\d+)</td>", html)]
    following = re.search(r'href="\?[^"]*after=(\d+)[^"]*">Next page', html)
    return rows, int(following[1]) if following else None, html


def test_a_rare_event_type_is_found_window_by_window(
    staff_client: Client, stream: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_selectors, "SCAN_WINDOW", 3)
    rows, following, html = _page(staff_client, stream, "event_type=order.cancelled")
    assert (rows, following) == ([], 3)
    assert "No events up to sequence 3." in html
    assert "searched through sequence 3" in html
    assert _page(staff_client, stream, "event_type=order.cancelled&after=3")[:2] == ([], 6)
    rows, following, html = _page(staff_client, stream, "event_type=order.cancelled&after=6")
    assert (rows, following) == ([7], None)  # the window passes the head: the last page
    assert "searched through sequence 8" in html
    rows, following, html = _page(staff_client, stream, "event_type=order.cancelled&after=20")
    assert (rows, following) == ([], None)  # a cursor past the head (8): it says what it searched
    assert "No events up to sequence 20." in html
    assert "searched through sequence 20" in html


def test_an_entity_filter_the_index_serves_is_not_windowed(
    staff_client: Client, stream: Persona, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_selectors, "SCAN_WINDOW", 3)
    rows, following, html = _page(staff_client, stream, "entity_type=order&entity_id=rare")
    assert (rows, following) == ([7], None)
    assert "searched through" not in html
    # No filter: pages of the stream in order, as before.
    assert _page(staff_client, stream, "")[:2] == ([1, 2, 3, 4, 5, 6, 7, 8], None)
