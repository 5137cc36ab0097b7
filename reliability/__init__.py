"""Reliability suite: concurrency, crash and fault scenarios against a private stack (docs/reliability.md)."""
