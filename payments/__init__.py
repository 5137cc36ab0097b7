"""The payments app (grows with its issue; see docs/architecture.md)."""
