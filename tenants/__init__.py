"""Tenants, stores, API keys and credentials (``docs/auth.md``)."""
