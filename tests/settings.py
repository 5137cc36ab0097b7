"""The test run's environment: the deployment ``make run`` produces, never a developer's ``.env``.

pytest-django imports this module as the settings (``pyproject.toml``); it fixes the variables a
``make run`` deployment has in its ``.env`` and then reads the one settings module. So every test
runs with legacy payloads sealed at rest under a required keyring and with signed VES receipts,
whatever ``.env`` holds, and child processes (Celery workers, gunicorn) inherit the same
variables through ``os.environ``. A test that needs another configuration says so with the
``settings`` fixture. Where PostgreSQL and Redis are may be set by the caller (CI); the defaults
keep the test brokers (Redis databases 1 and up, one per xdist worker) apart from a running
``make run`` (database 0).
"""

import os
import urllib.parse

DEPLOYMENT = {
    "SEQUENCER_DOTENV": "",  # never read .env
    "SECRET_KEY": "test-only",
    "BOOTSTRAP_ADMIN_API_KEY": "test-bootstrap-admin",
    "SEQUENCER_ENV": "development",
    "PAYLOAD_ENCRYPTION_MODE": "required",
    "PAYLOAD_ENCRYPTION_KEYS": "1:bf7fe8f39b20981a93253e7cb5b4134a0c428d508407aece2a53e94ff647125a",
    "PAYLOAD_ENCRYPTION_KEYS_BY_TENANT": "",
    "VES_SEQUENCER_SIGNING_KEY": "ca02c37252b81460e2d0af7d914e7de19cbfee6fd8517d6473a3496c708eeb3b",
}
LOCAL_SERVICES = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/sequencer",
    "REDIS_URL": "redis://127.0.0.1:6379/1",
    "DB_POOL_MAX_SIZE": "24",
}

os.environ.update(DEPLOYMENT)
for _name, _value in LOCAL_SERVICES.items():
    os.environ.setdefault(_name, _value)
# Each xdist worker gets a Redis database of its own (the next ones after REDIS_URL's): a real
# Celery worker started by one process's test must never take another process's tasks.
_xdist = os.environ.get("PYTEST_XDIST_WORKER", "")
if _xdist.startswith("gw") and _xdist[2:].isdecimal() and "TEST_REDIS_BASE_URL" not in os.environ:
    os.environ["TEST_REDIS_BASE_URL"] = os.environ["REDIS_URL"]
    _base = urllib.parse.urlsplit(os.environ["REDIS_URL"])
    _index = int(_base.path.strip("/") or 0) + int(_xdist[2:])
    os.environ["REDIS_URL"] = urllib.parse.urlunsplit(_base._replace(path=f"/{_index}"))
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"

from sequencer_project.settings import *  # noqa: E402, F403
