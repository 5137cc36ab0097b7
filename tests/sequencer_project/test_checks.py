"""The system checks of sequencer_project/checks.py: each fires on the inconsistency it names and
stays quiet on the deployment's settings (tests/settings.py, the `make run` environment)."""

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import run_checks

KEY = "11" * 32
ADDRESS = "0x" + "ab" * 20


def _ids() -> set[str]:
    return {message.id or "" for message in run_checks()}


def test_it_is_quiet_on_the_deployment_settings() -> None:
    assert not {i for i in _ids() if i.startswith("sequencer.")}


def test_it_is_quiet_on_a_whole_evm_and_anchoring_configuration(settings: Any) -> None:
    settings.X402_SETTLEMENT_BACKEND = "evm"
    settings.X402_SETTLEMENT_PRIVATE_KEY = "0x" + KEY
    settings.ANCHOR_RPC_URL = "eth-tester://"
    settings.ANCHOR_PRIVATE_KEY = KEY

    assert not {i for i in _ids() if i.startswith("sequencer.")}


@pytest.mark.parametrize(
    ("overrides", "check_id"),
    [
        ({"CELERY_TASK_SOFT_TIME_LIMIT": 90, "CELERY_TASK_TIME_LIMIT": 90}, "sequencer.E010"),
        ({"PROJECTION_RUN_BUDGET_SECONDS": 45.0, "PROJECTION_RUN_SOFT_TIME_LIMIT": 45}, "sequencer.E011"),
        ({"DB_POOL_MIN_SIZE": 9, "DB_POOL_MAX_SIZE": 8}, "sequencer.E012"),
        ({"PROJECTION_BATCH_SIZE": 0}, "sequencer.E015"),
        ({"PROJECTION_TRANSACTION_EVENTS": 0}, "sequencer.E015"),
        ({"COMMITMENT_TICK_SEAL_SECONDS": 25.0}, "sequencer.E016"),
        ({"CHECKPOINT_SEQUENCER_NAME": "my sequencer"}, "sequencer.E013"),
        ({"CHECKPOINT_SEQUENCER_NAME": "a+b"}, "sequencer.E013"),
        ({"X402_SETTLEMENT_BACKEND": "chain"}, "sequencer.E030"),
        ({"X402_SETTLEMENT_BACKEND": "evm", "X402_SETTLEMENT_PRIVATE_KEY": ""}, "sequencer.E031"),
        ({"X402_SETTLEMENT_BACKEND": "evm", "X402_SETTLEMENT_PRIVATE_KEY": "0xzz"}, "sequencer.E031"),
        (
            {"X402_SETTLEMENT_BACKEND": "evm", "X402_SETTLEMENT_PRIVATE_KEY": KEY, "X402_SETTLEMENT_ADDRESS": "0x42"},
            "sequencer.E032",
        ),
        (
            {"X402_SETTLEMENT_BACKEND": "evm", "X402_SETTLEMENT_PRIVATE_KEY": KEY, "X402_EVM_RPC_URL": ""},
            "sequencer.E033",
        ),
        ({"ANCHOR_RPC_URL": "http://127.0.0.1:8545"}, "sequencer.E034"),
        ({"ANCHOR_MAX_ATTEMPTS": 0}, "sequencer.E039"),
        ({"SEQUENCER_ENV": "production", "BOOTSTRAP_ADMIN_API_KEY": " " * 40}, "sequencer.E005"),
        ({"SEQUENCER_ENV": "production", "JWT_SECRET": " " * 20 + "s" * 20}, "sequencer.E006"),
        ({"REJECTED_EVENTS_RETENTION_DAYS": -1}, "sequencer.E023"),
        ({"X402_SETTLEMENT_SWEEP_AFTER_SECONDS": 0}, "sequencer.E040"),
        ({"X402_SETTLEMENT_SWEEP_AFTER_SECONDS": 100_000}, "sequencer.E040"),
        ({"ANCHOR_PRIVATE_KEY": KEY}, "sequencer.E034"),
        ({"ANCHOR_RPC_URL": "eth-tester://", "ANCHOR_PRIVATE_KEY": "not hex"}, "sequencer.E035"),
        ({"ANCHOR_RPC_URL": "eth-tester://", "ANCHOR_PRIVATE_KEY": KEY, "ANCHOR_TO_ADDRESS": "a0c5"}, "sequencer.E036"),
        (
            {"SEQUENCER_ENV": "production", "ANCHOR_RPC_URL": "eth-tester://", "ANCHOR_PRIVATE_KEY": KEY},
            "sequencer.E037",
        ),
        (
            {"SEQUENCER_ENV": "production", "X402_SETTLEMENT_BACKEND": "evm", "X402_SETTLEMENT_PRIVATE_KEY": KEY},
            "sequencer.E037",
        ),
    ],
)
def test_it_refuses_inconsistent_settings(settings: Any, overrides: dict[str, Any], check_id: str) -> None:
    for name, value in overrides.items():
        setattr(settings, name, value)

    assert check_id in _ids()


def test_the_in_process_chain_is_allowed_outside_production(settings: Any) -> None:
    settings.ANCHOR_RPC_URL = "eth-tester://"
    settings.ANCHOR_PRIVATE_KEY = KEY
    settings.X402_SETTLEMENT_BACKEND = "evm"
    settings.X402_SETTLEMENT_PRIVATE_KEY = KEY

    assert "sequencer.E037" not in _ids()


def test_a_record_backend_needs_no_chain(settings: Any) -> None:
    settings.X402_SETTLEMENT_BACKEND = "record"
    settings.X402_SETTLEMENT_PRIVATE_KEY = ""
    settings.SEQUENCER_ENV = "production"

    assert not {"sequencer.E031", "sequencer.E037"} & _ids()


def _documented_check_ids(text: str) -> set[str]:
    """Every id the docs tables name: `app.E001` alone, or `app.E004` to `E006` (en dash or comma between)."""
    found: set[str] = set()
    for app, kind, first, last in re.findall(r"`([a-z]+)\.([EW])(\d{3})`(?:(?:\u2013|, )`[EW](\d{3})`)?", text):
        for number in range(int(first), int(last or first) + 1):
            found.add(f"{app}.{kind}{number:03d}")
    return found


def test_docs_operations_lists_every_system_check_id_the_code_raises() -> None:
    root = Path(__file__).resolve().parents[2]
    raised = {
        match
        for app in ("sequencer_project", "events", "schemas", "commitments", "payments", "tenants", "audit", "streams")
        for path in (root / app).rglob("*.py")
        for match in re.findall(r'id="([a-z]+\.[EW]\d{3})"', path.read_text())
    }
    documented = _documented_check_ids((root / "docs" / "operations.md").read_text())

    assert len(raised) >= 30
    assert raised - documented == set()
    assert documented - raised == set()


def test_an_empty_allowed_hosts_in_production_is_called_empty(settings: Any) -> None:
    settings.SEQUENCER_ENV = "production"
    settings.ALLOWED_HOSTS = []

    (warning,) = [message for message in run_checks() if message.id == "sequencer.W021"]
    assert warning.msg.startswith("ALLOWED_HOSTS is empty: the API answers 400"), warning.msg


@pytest.mark.parametrize(
    ("name", "value", "bound"),
    [
        ("MAX_BODY_SIZE_BYTES", -1, "at least 1"),
        ("COMMITMENT_MAX_EVENTS", 0, "at least 1"),
        ("DB_STATEMENT_TIMEOUT_MS", -1, "between 0 and 2147483647"),
        ("COMMITMENT_INTERVAL_SECONDS", 0.0, "at least 0.001"),
        ("PROJECTION_RUN_INTERVAL_SECONDS", -1.0, "at least 0.001"),
        ("X402_BATCH_MAX_SIZE", -5, "between 1 and 1000"),
        ("PROJECTION_DLQ_MAX_ATTEMPTS", 0, "at least 1"),
        ("PROOF_TREE_CACHE_BYTES", -1, "at least 0"),
        ("GZIP_MIN_BYTES", -1, "at least 0"),
        ("SECURE_HSTS_SECONDS", -1, "at least 0"),
        ("READY_TIMEOUT_SECONDS", -1.0, "at least 0.001"),
        ("API_KEY_CACHE_SECONDS", -5.0, "at least 0"),
        ("HOT_CACHE_CHECK_SECONDS", 0.0, "at least 0.001"),
        ("CACHE_API_KEY_MAX", -1, "at least 1"),
        ("SCHEMA_MAX_BYTES", 0, "at least 1"),
        ("WORKER_METRICS_PORT", 99999, "between 0 and 65535"),
        ("READY_TIMEOUT_SECONDS", float("nan"), "at least 0.001"),
    ],
)
def test_a_numeric_setting_outside_its_range_is_refused_naming_value_and_range(
    settings: Any, name: str, value: float, bound: str
) -> None:
    setattr(settings, name, value)

    messages = [message.msg for message in run_checks() if message.id == "sequencer.E007"]
    assert messages == [f"{name}={value!r}: it must be {bound} (docs/configuration.md)."]
