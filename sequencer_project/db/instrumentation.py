"""``db_query_duration_seconds`` and ``db_transaction_duration_seconds``.

Every connection gets an execute wrapper (installed on ``connection_created``) that times the
statement and labels it with its leading SQL keyword only (a bounded set). Cost: one
``perf_counter`` pair, a short string scan and one histogram observation per statement,
added to the metrics tally (ADR 0024). The same wrapper tells ``availability`` whether the
primary answers (one flag test per statement).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.db import InterfaceError, OperationalError

from sequencer_project import metrics
from sequencer_project.db import availability

_KEYWORDS = frozenset({"select", "insert", "update", "delete", "with", "set", "create", "lock", "begin", "commit"})


def statement_kind(sql: Any) -> str:
    text = sql if isinstance(sql, str) else str(sql)
    word = text[:16].lstrip().split(None, 1)[0].lower() if text.strip() else ""
    return word if word in _KEYWORDS else "other"


def time_statement(execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: dict[str, Any]) -> Any:
    started = time.perf_counter()
    try:
        result = execute(sql, params, many, context)
    except (OperationalError, InterfaceError) as exc:
        availability.database_unreachable_observed(exc, context["connection"].alias)
        raise
    else:
        availability.statement_succeeded(context["connection"].alias)
        return result
    finally:
        metrics.TALLY.observe(
            metrics.labelled(metrics.DB_QUERY_DURATION, statement_kind(sql)), time.perf_counter() - started
        )


def install_on_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: idempotent per connection wrapper."""
    if time_statement not in connection.execute_wrappers:
        connection.execute_wrappers.append(time_statement)


@contextlib.contextmanager
def timed_transaction(name: str) -> Iterator[None]:
    """Observe the wall time of a named unit of work (one transaction, retries included)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        metrics.TALLY.observe(metrics.labelled(metrics.DB_TRANSACTION_DURATION, name), time.perf_counter() - started)
