"""Child process of test_hot_cache: report when this process stops seeing an active schema.

Usage: ``python -m tests.schemas.watch_schema <tenant_id> <event_type>`` with DATABASE_URL set to
the test database. Prints ``ready`` once the schema is cached, then the wall-clock time at which
the cached lookup first answers "no active schema", and exits.
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
    from schemas.registry import active_schemas_get

    tenant_id, event_type = uuid.UUID(sys.argv[1]), sys.argv[2]
    deadline = time.monotonic() + 20
    while active_schemas_get(tenant_id=tenant_id, event_types=[event_type])[event_type] is None:
        if time.monotonic() > deadline:
            sys.exit("schema never seen")
        time.sleep(0.01)
    print("ready", flush=True)  # noqa: T201 - the parent reads stdout
    while active_schemas_get(tenant_id=tenant_id, event_types=[event_type])[event_type] is not None:
        if time.monotonic() > deadline:
            sys.exit("archive never seen")
        time.sleep(0.005)
    print(time.time(), flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
