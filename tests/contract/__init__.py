"""Contract tests: our answers against the shapes, types and status codes of the Rust reference
(docs/adr/0004-reference-compatibility.md)."""
