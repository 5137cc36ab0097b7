"""Child process of test_hot_cache: report when this process stops seeing an active schema.

Usage: ``python -m tests.schemas.watch_schema <tenant_id> <event_type>`` (or ``<tenant_id>
agent-key <agent_id> <key_id>``) with DATABASE_URL set to the test database. Prints ``ready``
once the schema (or usable key) is cached, then the wall-clock time at which the cached lookup
first answers "no active schema" (or "revoked"), and exits.
"""

from __future__ import annotations

import os
import sys
import time
import uuid


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sequencer_project.settings")
    import django

    django.setup()
    from datetime import UTC, datetime

    from schemas.registry import active_schemas_get
    from tenants.selectors import agent_signing_key_records_by_id

    tenant_id, event_type = uuid.UUID(sys.argv[1]), sys.argv[2]

    def usable() -> bool:
        if event_type != "agent-key":
            return active_schemas_get(tenant_id=tenant_id, event_types=[event_type])[event_type] is not None
        key_id = int(sys.argv[4])
        key = agent_signing_key_records_by_id(
            tenant_id=tenant_id, agent_id=uuid.UUID(sys.argv[3]), key_ids=[key_id]
        ).get(key_id)
        return key is not None and key.problem_at(datetime.now(UTC)) is None

    deadline = time.monotonic() + 20
    while not usable():
        if time.monotonic() > deadline:
            sys.exit("schema never seen")
        time.sleep(0.01)
    print("ready", flush=True)  # noqa: T201 - the parent reads stdout
    while usable():
        if time.monotonic() > deadline:
            sys.exit("archive never seen")
        time.sleep(0.005)
    print(time.time(), flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
