"""Periodic jobs that must run on one node at a time (leader election by advisory lock).

Beat may run on several nodes (or restart while a worker still runs the previous tick), so
every periodic task body is wrapped in :func:`singleton_job`: it takes a *session-level*
``pg_try_advisory_lock(PERIODIC_JOB, job_lock_key(name))`` on its database connection, runs
the body only if it got the lock, and unlocks in ``finally``. If the process dies, PostgreSQL
releases the lock with the connection, so a crashed leader never wedges the job. Losing the
race is normal: the call returns ``None`` and counts ``singleton_job_runs_total{outcome="skipped"}``.

Use it under the Celery task decorator::

    @shared_task(name="commitments.commit_pending")
    @singleton_job("commitments.commit_pending")
    def commit_pending() -> None: ...
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import connections

from sequencer_project import metrics
from sequencer_project.db.locks import LockNamespace, job_lock_key, session_lock_release, session_lock_try

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


def try_run_singleton(name: str, fn: Callable[[], T], *, using: str = "default") -> tuple[bool, T | None]:
    """Run ``fn`` if no other session holds the job's lock; ``(ran, result)``.

    A run that cannot take the lock because the database is away counts as ``failed``, as a body
    that raises does. When the unlock itself fails (the session died under the job), the
    connection is closed, which frees the lock with its session, and the body's own outcome
    stands: its exception, not the unlock's (``sequencer_project.db.locks.session_lock_release``).
    """
    connection = connections[using]
    key = job_lock_key(name)
    try:
        locked = session_lock_try(connection, LockNamespace.PERIODIC_JOB, key)
    except Exception:
        metrics.SINGLETON_RUNS.labels(job=name, outcome="failed").inc()
        raise
    if not locked:
        logger.debug("singleton job %s is running elsewhere; skipped", name)
        metrics.SINGLETON_RUNS.labels(job=name, outcome="skipped").inc()
        return False, None
    try:
        result = fn()
    except BaseException:
        metrics.SINGLETON_RUNS.labels(job=name, outcome="failed").inc()
        raise
    finally:
        session_lock_release(connection, LockNamespace.PERIODIC_JOB, key, what=f"singleton job {name}")
    metrics.SINGLETON_RUNS.labels(job=name, outcome="ran").inc()
    return True, result


def singleton_job(name: str) -> Callable[[Callable[P, T]], Callable[P, T | None]]:
    """Decorator: the body runs only on the node that holds the job's advisory lock."""

    def decorate(fn: Callable[P, T]) -> Callable[P, T | None]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> T | None:
            _, result = try_run_singleton(name, lambda: fn(*args, **kwargs))
            return result

        return wrapper

    return decorate
