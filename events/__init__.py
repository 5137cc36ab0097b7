"""Event ingest, sequencing and queries (``docs/ingest.md``, ``docs/queries.md``)."""
