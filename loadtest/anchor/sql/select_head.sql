-- The anchor's "head": the last row id. Index: primary key (backward scan, one row).
SELECT coalesce(max(id), 0) FROM loadtest_anchor
