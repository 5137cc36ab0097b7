"""SQL statements of the stream counters, loaded once at import."""

from sequencer_project.db.sql import load_sql

LOCK_COUNTER = load_sql(__file__, "lock_counter.sql")
CREATE_STREAM = load_sql(__file__, "create_stream.sql")
