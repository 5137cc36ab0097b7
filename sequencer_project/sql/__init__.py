"""SQL statements of the project's own database plumbing (one statement per file)."""

from sequencer_project.db.sql import load_sql

# The session settings a connection runs with (sequencer_project/db/session_settings.py).
SELECT_SESSION_SETTINGS = load_sql(__file__, "select_session_settings.sql")
# The read replica's lag sample (sequencer_project/db/replica.py).
SELECT_PRIMARY_WAL_LSN = load_sql(__file__, "select_primary_wal_lsn.sql")
SELECT_REPLICA_POSITION = load_sql(__file__, "select_replica_position.sql")
# Whether two connections keep separate server sessions (sequencer_project/db/locks.py).
SELECT_BACKEND_PID = load_sql(__file__, "select_backend_pid.sql")
# Whether an interrupted concurrent build left an invalid index (sequencer_project/db/rerunnable_ddl.py).
SELECT_INVALID_INDEX = load_sql(__file__, "select_invalid_index.sql")
# Several session-level locks taken and released at once (sequencer_project/db/locks.py).
TRY_LOCK_SESSION_LOCKS = load_sql(__file__, "try_lock_session_locks.sql")
UNLOCK_SESSION_LOCKS = load_sql(__file__, "unlock_session_locks.sql")
# A transaction that waits on a chain with rows locked (sequencer_project/db/session_settings.py).
SET_LOCAL_IDLE_IN_TRANSACTION_UNBOUNDED = load_sql(__file__, "set_local_idle_in_transaction_unbounded.sql")
# The size of an unfiltered admin list, and a list filter's choices (sequencer_project/admin_lists.py).
SELECT_ESTIMATED_ROWS = load_sql(__file__, "select_estimated_rows.sql")
SELECT_DISTINCT_BY_INDEX = load_sql(__file__, "select_distinct_by_index.sql")
# Tries a session-level lock: singleton jobs and migrations (sequencer_project/db/locks.py session_lock_try).
TRY_LOCK_SESSION = load_sql(__file__, "try_lock_session.sql")
