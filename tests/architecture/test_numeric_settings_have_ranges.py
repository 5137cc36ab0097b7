"""Every numeric setting read from the environment has a valid range that a system check holds:
a row of ``NUMERIC_RANGES`` (``sequencer.E007``) or a check of its own, named below. A setting
added without one passed every check and broke later (``MAX_BODY_SIZE_BYTES=-1`` refused all
ingest, ``COMMITMENT_MAX_EVENTS=0`` failed every commitment in the worker)."""

from __future__ import annotations

import ast
from pathlib import Path

from sequencer_project.checks import NUMERIC_RANGES

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "sequencer_project" / "settings.py"
CHECKS = ROOT / "sequencer_project" / "checks.py"

# Settings whose range a check of its own holds, because it depends on another setting or says why.
OWN_CHECK = {
    "CELERY_BROKER_TRANSPORT_OPTIONS": "sequencer.E002",  # CELERY_VISIBILITY_TIMEOUT, against the time limit
    "DB_POOL_MIN_SIZE": "sequencer.E012",
    "DB_POOL_MAX_SIZE": "sequencer.E012",
    "PROJECTION_SHARDS": "sequencer.E014",
    "PROJECTION_BATCH_SIZE": "sequencer.E015",
    "PROJECTION_TRANSACTION_EVENTS": "sequencer.E015",
    "COMMITMENT_TICK_SEAL_SECONDS": "sequencer.E016",
    "RATE_LIMIT_PER_MINUTE": "sequencer.E021",
    "RATE_LIMIT_WINDOW_SECONDS": "sequencer.E021",
    "REDIS_SOCKET_TIMEOUT_MS": "sequencer.E022",
    "REDIS_BREAKER_FAILURES": "sequencer.E022",
    "REJECTED_EVENTS_RETENTION_DAYS": "sequencer.E023",
    "ANCHOR_MAX_ATTEMPTS": "sequencer.E039",
    "X402_SETTLEMENT_SWEEP_AFTER_SECONDS": "sequencer.E040",
}


def _numeric_settings() -> set[str]:
    """The settings assigned from ``env.int(...)`` or ``env.float(...)`` anywhere in their value."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(SETTINGS.read_text())):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            reads_number = any(
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr in ("int", "float")
                and isinstance(call.func.value, ast.Name)
                and call.func.value.id == "env"
                for call in ast.walk(node.value)
            )
            if reads_number:
                names.update(target.id for target in targets if isinstance(target, ast.Name))
    return names


def test_every_numeric_setting_has_a_checked_range() -> None:
    numeric = _numeric_settings()
    assert len(numeric) > 60  # the walk found the settings
    ranged = {name for name, _, _ in NUMERIC_RANGES}
    assert sorted(numeric - ranged - set(OWN_CHECK)) == []


def test_the_settings_named_as_checked_elsewhere_are_read_and_their_checks_exist() -> None:
    checks = CHECKS.read_text()
    numeric = _numeric_settings()
    for name, check in OWN_CHECK.items():
        assert name in numeric, name
        assert f'id="{check}"' in checks, (name, check)
        assert name not in {row[0] for row in NUMERIC_RANGES}, name  # one place each
