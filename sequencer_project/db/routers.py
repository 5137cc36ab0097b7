"""Read replica routing (``DATABASE_READ_URL``).

ORM reads made under :func:`sequencer_project.db.replica.reading_from_replica` go to the
``replica`` alias; everything else, and every write, uses ``default``. Raw-SQL selectors ask
:func:`sequencer_project.db.replica.read_alias` for their connection instead.
"""

from __future__ import annotations

from typing import Any

from sequencer_project.db.replica import replica_alias_in_use


class ReadReplicaRouter:
    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        return replica_alias_in_use()

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # same data on both aliases

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        return db == "default"
