"""Which ``SEQUENCER_ENV`` values name a production deployment: the one place that says so.

Settings use it for production defaults (``PAYLOAD_ENCRYPTION_MODE=required``) and the system
checks for production-only rules (``sequencer_project/checks.py``). Any name not listed here is
production, so a misspelt environment gets the strict behaviour, never the lax one.
"""

NON_PRODUCTION = frozenset({"", "local", "dev", "development", "test", "testing", "ci", "staging"})


def is_production(sequencer_env: str) -> bool:
    return sequencer_env.lower() not in NON_PRODUCTION
