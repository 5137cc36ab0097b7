"""The operator admin in a real headless browser (Debian's chromium driven by Playwright).

Logs in, opens a tenant, revokes an API key, retries a dead-letter entry, and browses the
event-store pages; each page is saved as a screenshot. A test run leaves the tree as it found
it: screenshots go to a temporary directory unless ``ADMIN_SCREENSHOTS_DIR`` names one
(``ADMIN_SCREENSHOTS_DIR=docs/images make test`` refreshes the pictures in docs/projections.md).
``scripts/browser.sh`` installs chromium for CI; these tests are never skipped.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, sync_playwright

from audit.models import AuditLogEntry
from events.models import DeadLetterStatus, ProjectionDeadLetter
from events.projections.entity_state import ENTITY_STATE
from events.services.projections import projection_advance
from tenants.models import ApiKey
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.events.projections.helpers import PoisonProjection, seed

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "a-long-browser-password"
IMAGES = Path(os.environ.get("ADMIN_SCREENSHOTS_DIR") or tempfile.mkdtemp(prefix="admin-screenshots-"))


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop on this thread; the ORM calls of the test body
    # run between browser steps, never concurrently with them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


def _shot(page: Page, name: str) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / f"{name}.png"), full_page=True)


def _select_and_run(page: Page, row_text: str, action: str) -> None:
    page.locator("#result_list tr", has_text=row_text).locator("input.action-select").check()
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


def test_an_operator_logs_in_revokes_a_key_and_retries_a_dead_letter(
    live_server: object, browser: Browser, owner: Persona, post_ingest: IngestPoster, poison: PoisonProjection
) -> None:
    base = str(live_server)
    User.objects.create_superuser("operator", "operator@example.com", PASSWORD)
    owner.tenant.name = "Acme Retail"
    owner.tenant.save()
    seed(owner, post_ingest, [{"status": "new", "total": 42}, {"status": "paid"}], entity_id="order-1001")
    seed(owner, post_ingest, [{"poison": True, "total": 7}], entity_id="order-1002")
    twice = legacy_event(owner.tenant_id, owner.store_id, entity_id="order-1003")
    post_ingest(owner.client, {"events": [twice, twice]})  # the duplicate is an ingest rejection
    projection_advance(projection=ENTITY_STATE, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=2)
    projection_advance(projection=poison.name, tenant_id=owner.tenant_id, store_id=owner.store_id, batch_size=100)
    key = ApiKey.objects.get(tenant_id=owner.tenant_id)
    entry = ProjectionDeadLetter.objects.get(projection=poison.name)

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{base}/admin/")
    _shot(page, "admin-login")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("text=Event store")
    _shot(page, "admin-index")

    page.goto(f"{base}/admin/tenants/tenant/")
    page.click("text=Acme Retail")
    page.wait_for_selector("#tenant-streams")
    assert str(owner.store_id) in page.inner_text("#tenant-streams")
    assert ENTITY_STATE in page.inner_text("#tenant-projections")
    _shot(page, "admin-tenant")

    page.goto(f"{base}/admin/tenants/apikey/?tenant__id__exact={owner.tenant_id}")
    _select_and_run(page, key.display_prefix, "revoke_keys")
    page.wait_for_selector("text=Revoked 1 API key(s).")
    _shot(page, "admin-api-keys")

    poison.cured = True
    page.goto(f"{base}/admin/events/projectiondeadletter/?tenant_id__exact={owner.tenant_id}")
    _select_and_run(page, poison.name, "retry_now")
    page.wait_for_selector("text=1 applied, 0 failed again")
    _shot(page, "admin-dead-letters")

    page.goto(f"{base}/admin/event-store/events/?tenant_id={owner.tenant_id}&store_id={owner.store_id}")
    assert "order/order-1001" in page.inner_text("#result_list")
    _shot(page, "admin-events")
    page.goto(f"{base}/admin/event-store/rejected/?tenant_id={owner.tenant_id}")
    assert "duplicate" in page.inner_text("#result_list").lower()
    _shot(page, "admin-rejected-events")
    page.goto(f"{base}/admin/audit/auditlogentry/")
    assert "dead_letter.retry" in page.inner_text("#result_list")
    _shot(page, "admin-audit-log")
    page.close()

    key.refresh_from_db()
    entry.refresh_from_db()
    assert not key.active
    assert entry.status == DeadLetterStatus.RESOLVED
    assert set(AuditLogEntry.objects.values_list("action", flat=True)) >= {"api_key.revoke", "dead_letter.retry"}
    assert all(
        AuditLogEntry.objects.filter(action__in=["api_key.revoke", "dead_letter.retry"]).values_list("actor", flat=True)
    )
