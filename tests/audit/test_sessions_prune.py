"""Expired admin sessions are deleted by the beat job ``audit.sessions_prune``: ``django_session``
had grown by a row per login, forever (docs/operations.md, "Retention")."""

from __future__ import annotations

from datetime import timedelta
from fnmatch import fnmatch

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from audit.tasks import sessions_prune
from sequencer_project.celery import app

pytestmark = pytest.mark.django_db


def _login() -> Client:
    client = Client()
    client.force_login(User.objects.get_or_create(username="operator", defaults={"is_staff": True})[0])
    return client


def test_expired_sessions_are_deleted_and_live_ones_kept() -> None:
    live, expired = _login(), _login()
    Session.objects.filter(session_key=expired.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )

    assert sessions_prune() == 1

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session.session_key]
    assert live.get("/admin/").status_code == 200  # still logged in
    assert expired.get("/admin/").status_code == 302  # to the login page
    assert sessions_prune() == 0


def test_a_login_lasts_the_configured_age() -> None:
    client = _login()

    expiry = Session.objects.get(session_key=client.session.session_key).expire_date

    assert settings.SESSION_COOKIE_AGE == 12 * 3600  # the default
    assert abs((expiry - timezone.now()) - timedelta(hours=12)) < timedelta(minutes=1)


def test_the_job_is_scheduled_on_the_maintenance_queue() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["audit.sessions_prune"]

    assert entry["task"] == sessions_prune.name == "audit.sessions_prune"
    assert sessions_prune.name in app.tasks
    assert entry["schedule"] == settings.SESSIONS_PRUNE_INTERVAL_SECONDS
    routed = [pattern for pattern in settings.CELERY_TASK_ROUTES if fnmatch(sessions_prune.name, pattern)]
    assert (routed, settings.CELERY_TASK_DEFAULT_QUEUE) == ([], "maintenance")
