-- The named settings as this session has them (pg_settings reports the timeouts in
-- milliseconds, their unit, and TimeZone by name); compared with the configured ones on a
-- process's first connection. Index: none (a view of the session's settings). Locks: none.
SELECT name, setting FROM pg_settings WHERE name = ANY(%s) ORDER BY name
