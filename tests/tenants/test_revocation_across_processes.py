"""A revoked key is refused by another OS process at once, even with a one-hour key cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest
from django.db import connection

from tenants.credentials import api_key_hash
from tenants.models import ApiKey
from tenants.services import api_key_revoke
from tests.sequencer_project.ops_helpers import ROOT
from tests.tenants.factories import issue_key, make_tenant

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CHILD = """
import json, sys, time
import django
django.setup()
from tenants.selectors import api_key_principal_get
key_hash = sys.argv[1]
assert api_key_principal_get(key_hash=key_hash) is not None
print("ready", flush=True)
deadline = time.monotonic() + 20
refused_at = None
while time.monotonic() < deadline:
    if api_key_principal_get(key_hash=key_hash) is None:
        refused_at = time.time()
        break
    time.sleep(0.01)
print(json.dumps({"refused_at": refused_at}), flush=True)
"""


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def test_another_process_refuses_a_revoked_key_on_its_next_lookup(settings: Any) -> None:
    key = issue_key(make_tenant(), can_write=True)
    key_hash = api_key_hash(key)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sequencer_project.settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "API_KEY_CACHE_SECONDS": "3600",  # the cache's lifetime cannot be what refuses the key
        "DB_POOL_ENABLED": "false",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    child = subprocess.Popen(  # noqa: S603  (our own interpreter and code)
        [sys.executable, "-c", CHILD, key_hash], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.2)  # the child is now answering from its cache
        revoked_at = time.time()
        api_key_revoke(api_key=ApiKey.objects.get(key_hash=key_hash), actor="test")
        result = json.loads(child.stdout.readline())
    finally:
        child.wait(timeout=30)

    assert result["refused_at"] is not None
    assert result["refused_at"] - revoked_at < 1.0
