"""Rows keyed ``(tenant_id, id)``: writing them and tasks naming them by tenant (docs/scaling.md).

The distributed tables are keyed ``(tenant_id, id)`` in the database while Django's state keeps
the surrogate ``id`` as the primary key, so ``Model.save()`` would update ``WHERE id = …``: on a
distributed PostgreSQL that statement goes to every shard, and it would touch another tenant's
row with the same id. :func:`tenant_row_update` writes by the full key instead.

Tasks on a tenant's row carry its tenant first, so every statement they run names the
distribution column and goes to one shard. A message queued by a release before that carries
the id alone; it still runs: its tenant is looked up once, by id (a read that fans out when
distributed), and only on that path (:func:`task_tenant_and_id`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django.db import models


def tenant_row_update(row: models.Model, *fields: str) -> None:
    """Store ``fields`` of ``row`` by ``(tenant_id, pk)``, what ``row.save(update_fields=fields)``
    would do by ``pk`` alone. Caller holds the row lock when the write must not race."""
    values: dict[str, Any] = {name: getattr(row, name) for name in fields}
    type(row)._default_manager.filter(tenant_id=row.tenant_id, pk=row.pk).update(**values)  # type: ignore[attr-defined]


def task_tenant_and_id(
    first: str, second: str | None, *, tenant_of: Callable[[uuid.UUID], uuid.UUID | None]
) -> tuple[uuid.UUID | None, uuid.UUID]:
    """``(tenant_id, id)`` from a task's positional arguments.

    ``(tenant_id, id)`` is today's shape; ``(id,)`` (``second`` is ``None``) is the previous
    release's, whose tenant ``tenant_of(id)`` finds (``None`` when the row is gone).
    """
    if second is not None:
        return uuid.UUID(first), uuid.UUID(second)
    row_id = uuid.UUID(first)
    return tenant_of(row_id), row_id
