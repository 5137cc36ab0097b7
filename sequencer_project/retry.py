"""How often a write transaction is retried after PostgreSQL aborted it for concurrency.

Ingest (legacy and VES) runs each write transaction up to :data:`MAX_ATTEMPTS` times while it
fails with one of :data:`RETRYABLE_SQLSTATES`: PostgreSQL aborted it for a conflict with
another transaction, and the same statements may succeed when run again. Any other error is
raised at once.
"""

MAX_ATTEMPTS = 3
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock detected
