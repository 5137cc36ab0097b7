-- The distinct values of one column, each found by one probe of an index that leads with it
-- (a loose index scan): a list filter's choices without reading the table
-- (sequencer_project/admin_lists.py). {table} and {column} are identifiers composed in by the
-- caller. Index: one leading with {column}. Locks: none. Rows: one per distinct non-null value.
WITH RECURSIVE seen(value) AS (
    (SELECT t.{column} FROM {table} t WHERE t.{column} IS NOT NULL ORDER BY t.{column} LIMIT 1)
    UNION ALL
    SELECT (SELECT t.{column} FROM {table} t WHERE t.{column} > seen.value ORDER BY t.{column} LIMIT 1)
    FROM seen
    WHERE seen.value IS NOT NULL
)
SELECT value FROM seen WHERE value IS NOT NULL
