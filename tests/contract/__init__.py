"""Contract tests: our answers against the reference's shapes, types and status codes (docs/adr/0004)."""
