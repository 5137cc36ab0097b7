"""Cross-setting invariants as Django system checks (ids are stable: ``sequencer.E0NN``).

They run with ``manage.py check``, ``migrate`` (so ``make run``) and ``runserver``; the ids are
listed in docs/operations.md. Checks of one app's own settings live in that app's ``apps.py``
(``events.E101``-``E103`` for payload encryption, ``schemas.E001``).
"""

import math
import uuid
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.checks import Warning as CheckWarning

from sequencer_project import environments
from sequencer_project.evm_client import IN_PROCESS_URL
from ves.checkpoint import CheckpointError, checkpoint_origin

X402_SETTLEMENT_BACKENDS = ("record", "evm")


# The hosts ALLOWED_HOSTS defaults to: a production deployment serving only these is likely unset.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def is_production() -> bool:
    return environments.is_production(settings.SEQUENCER_ENV)


@register()
def check_settings(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    if settings.TIME_ZONE != "UTC" or not settings.USE_TZ:
        errors.append(Error("TIME_ZONE must be UTC with USE_TZ on.", id="sequencer.E001"))
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 0)
    if visibility <= settings.CELERY_TASK_TIME_LIMIT:
        errors.append(
            Error(
                "CELERY_VISIBILITY_TIMEOUT must exceed CELERY_TASK_TIME_LIMIT, or acks_late "
                "tasks are redelivered while still running.",
                id="sequencer.E002",
            )
        )
    if settings.AUTH_MODE != "required":
        errors.append(Error("AUTH_MODE supports only 'required'.", id="sequencer.E003"))
    if is_production():
        if settings.DEBUG:
            errors.append(Error("DEBUG must be off in production.", id="sequencer.E004"))
        key = settings.BOOTSTRAP_ADMIN_API_KEY
        if key and len(key.strip()) < 32:  # forty spaces are no key
            errors.append(
                Error("BOOTSTRAP_ADMIN_API_KEY must be at least 32 characters in production.", id="sequencer.E005")
            )
        if settings.JWT_SECRET and len(settings.JWT_SECRET.strip()) < 32:
            errors.append(Error("JWT_SECRET must be at least 32 characters in production.", id="sequencer.E006"))
        if set(settings.ALLOWED_HOSTS) <= LOCAL_HOSTS:
            errors.append(
                CheckWarning(
                    f"{_allowed_hosts_named()}: the API answers 400 to a request for any other Host (a load"
                    " balancer's name, a pod address); set ALLOWED_HOSTS to the names clients use"
                    " (docs/configuration.md).",
                    id="sequencer.W021",
                )
            )
    errors.extend(_range_errors())
    errors.extend(_ves_errors())
    errors.extend(_limit_errors())
    return errors


INT32_MAX = 2**31 - 1  # PostgreSQL's integer settings (statement_timeout and the like)
POSITIVE_SECONDS = 0.001  # a wait or period that must be above 0

# Each numeric setting's valid range, inclusive (None: no upper bound), checked by sequencer.E007.
# Settings with a check of their own (E012, E014-E016, E021-E023, E039, E040) are not repeated here.
NUMERIC_RANGES: tuple[tuple[str, float, float | None], ...] = (
    ("MAX_BODY_SIZE_BYTES", 1, None),
    ("MAX_EVENTS_PER_BATCH", 1, None),
    ("MAX_EVENT_PAYLOAD_SIZE", 1, None),
    ("GZIP_MIN_BYTES", 0, None),
    ("SESSION_COOKIE_AGE", 1, None),
    ("DB_STATEMENT_TIMEOUT_MS", 0, INT32_MAX),  # 0: no limit (PostgreSQL's)
    ("DB_LOCK_TIMEOUT_MS", 0, INT32_MAX),
    ("DB_IDLE_IN_TX_TIMEOUT_MS", 0, INT32_MAX),
    ("DB_CONNECT_TIMEOUT_SECONDS", 1, INT32_MAX),
    ("DB_TCP_USER_TIMEOUT_MS", 0, INT32_MAX),  # 0: the system's
    ("DB_TCP_KEEPALIVES_IDLE_SECONDS", 1, 32_767),  # Linux's TCP_KEEPIDLE bound
    ("READY_TIMEOUT_SECONDS", POSITIVE_SECONDS, None),
    ("DB_POOL_TIMEOUT_SECONDS", POSITIVE_SECONDS, None),
    ("DB_POOL_FAIL_FAST_TIMEOUT_SECONDS", POSITIVE_SECONDS, None),
    ("DB_POOL_RECONNECT_TIMEOUT_SECONDS", POSITIVE_SECONDS, None),
    ("DB_POOL_KEEP_SECONDS", 0, None),
    ("DATABASE_READ_TIMEOUT_SECONDS", POSITIVE_SECONDS, None),
    ("DATABASE_READ_MAX_LAG_SECONDS", 0, None),
    ("REDIS_BREAKER_RESET_SECONDS", POSITIVE_SECONDS, None),
    ("REDIS_BREAKER_MAX_RESET_SECONDS", POSITIVE_SECONDS, None),
    ("CELERY_DB_REUSE_MAX", 0, None),
    ("WORKER_GC_GEN0_THRESHOLD", 0, None),
    ("WEB_GC_GEN0_THRESHOLD", 0, None),
    ("WORKER_METRICS_PORT", 0, 65_535),
    ("CELERY_TASK_SOFT_TIME_LIMIT", 1, None),
    ("CELERY_TASK_TIME_LIMIT", 1, None),
    ("API_KEY_LAST_USED_INTERVAL_SECONDS", 0, None),
    ("API_KEY_CACHE_SECONDS", 0, None),
    ("CACHE_API_KEY_MAX", 1, None),
    ("CACHE_AGENT_KEY_MAX", 1, None),
    ("CACHE_AGENT_KEY_TTL_SECS", 0, None),
    ("AGENT_REGISTRATION_RATE_LIMIT", 0, None),
    ("TRUSTED_PROXY_COUNT", 0, None),
    ("SECURE_HSTS_SECONDS", 0, None),
    ("GROUP_COMMIT_ACROSS_MAX_EVENTS", 1, None),
    ("GROUP_COMMIT_MAX_EVENTS", 1, None),
    ("GROUP_COMMIT_MAX_WAIT_MS", 0, None),
    ("HOT_CACHE_CHECK_SECONDS", POSITIVE_SECONDS, None),
    ("HOT_CACHE_DEGRADED_TTL_SECONDS", 0, None),
    ("SCHEMA_MAX_BYTES", 1, None),
    ("CACHE_SCHEMA_MAX", 1, None),
    ("CACHE_SCHEMA_TTL_SECS", 0, None),
    ("PROJECTION_RUN_INTERVAL_SECONDS", POSITIVE_SECONDS, None),
    ("PROJECTION_RUN_BUDGET_SECONDS", POSITIVE_SECONDS, None),
    ("PROJECTION_RUN_SOFT_TIME_LIMIT", 1, None),
    ("PROJECTION_RELIST_EVENTS", 1, None),
    ("PROJECTION_STALL_SECONDS", POSITIVE_SECONDS, None),
    ("PROJECTION_DLQ_MAX_ATTEMPTS", 1, None),
    ("PROJECTION_DLQ_BACKOFF_BASE_SECONDS", 1, None),
    ("PROJECTION_DLQ_BACKOFF_MAX_SECONDS", 1, None),
    ("COMMITMENT_INTERVAL_SECONDS", POSITIVE_SECONDS, None),
    ("COMMITMENT_MAX_EVENTS", 1, None),
    ("COMMITMENT_TRANSACTION_EVENTS", 1, None),
    ("PROOF_TREE_CACHE_BYTES", 0, None),
    ("ANCHOR_RPC_TIMEOUT_SECONDS", POSITIVE_SECONDS, None),
    ("ANCHOR_RECEIPT_TIMEOUT_SECONDS", POSITIVE_SECONDS, None),
    ("ANCHOR_RETRY_ATTEMPTS", 1, None),
    ("X402_BATCH_INTERVAL_SECONDS", POSITIVE_SECONDS, None),
    ("X402_BATCH_MAX_SIZE", 1, 1000),
    ("X402_BATCH_MAX_WAIT_SECONDS", 0, None),
    ("X402_EVM_RPC_TIMEOUT_SECONDS", POSITIVE_SECONDS, None),
    ("X402_SETTLEMENT_PRIORITY_FEE_WEI", 0, None),
    ("X402_SETTLEMENT_CONFIRMATIONS", 1, None),
    ("X402_SETTLEMENT_RECEIPT_TIMEOUT_SECONDS", POSITIVE_SECONDS, None),
    ("X402_SETTLEMENT_MAX_REPLACEMENTS", 0, None),
    ("X402_SETTLEMENT_MAX_RETRIES", 0, None),
    ("X402_SETTLEMENT_RETRY_BASE_SECONDS", 1, None),
    ("X402_NONCE_CLEANUP_INTERVAL_SECONDS", 1, None),
)


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _range_errors() -> list[CheckMessage]:
    """One error per numeric setting outside its ``NUMERIC_RANGES`` row, naming value and range."""
    errors: list[CheckMessage] = []
    for name, low, high in NUMERIC_RANGES:
        value = getattr(settings, name)
        if low <= value and (high is None or value <= high) and math.isfinite(value):
            continue
        bound = f"at least {_plain(low)}" if high is None else f"between {_plain(low)} and {_plain(high)}"
        errors.append(Error(f"{name}={value!r}: it must be {bound} (docs/configuration.md).", id="sequencer.E007"))
    return errors


def _allowed_hosts_named() -> str:
    """What a local-only ``ALLOWED_HOSTS`` holds, in words (an empty one names no host at all)."""
    if not settings.ALLOWED_HOSTS:
        return "ALLOWED_HOSTS is empty"
    return f"ALLOWED_HOSTS names only local hosts ({', '.join(settings.ALLOWED_HOSTS)})"


def _is_hex_bytes(value: str, size: int) -> bool:
    """``value`` is ``size`` bytes of hex, with or without a ``0x`` prefix."""
    try:
        return len(bytes.fromhex(value.removeprefix("0x"))) == size
    except ValueError:
        return False


def _ves_errors() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    seed = settings.VES_SEQUENCER_SIGNING_KEY
    if seed and not _is_hex_bytes(seed, 32):
        errors.append(Error("VES_SEQUENCER_SIGNING_KEY must be 32 bytes of hex.", id="sequencer.E008"))
    errors.extend(_previous_key_errors(seed))
    try:
        uuid.UUID(settings.VES_SEQUENCER_ID)
    except ValueError:
        errors.append(Error("VES_SEQUENCER_ID must be a UUID.", id="sequencer.E009"))
    try:
        checkpoint_origin(
            sequencer=settings.CHECKPOINT_SEQUENCER_NAME, tenant_id=uuid.UUID(int=0), store_id=uuid.UUID(int=0)
        )
    except CheckpointError as exc:
        errors.append(Error(f"CHECKPOINT_SEQUENCER_NAME: {exc}.", id="sequencer.E013"))
    return errors


# Each previous key adds one signature to every checkpoint, and the signer caches 8 keys.
MAX_PREVIOUS_SIGNING_KEYS = 7


def _previous_key_errors(seed: str) -> list[CheckMessage]:
    """``VES_SEQUENCER_PREVIOUS_SIGNING_KEYS``: comma-separated 32-byte hex seeds that cosign
    checkpoints beside the current key (``commitments.transparency.previous_signing_seeds``)."""
    parts = [part.strip() for part in settings.VES_SEQUENCER_PREVIOUS_SIGNING_KEYS.split(",") if part.strip()]
    if not parts:
        return []
    problems = [f"entry {n} is not 32 bytes of hex" for n, part in enumerate(parts, 1) if not _is_hex_bytes(part, 32)]
    if len(parts) > MAX_PREVIOUS_SIGNING_KEYS:
        problems.append(f"it names {len(parts)} keys, at most {MAX_PREVIOUS_SIGNING_KEYS} are allowed")
    if not seed:
        problems.append("it is set without VES_SEQUENCER_SIGNING_KEY, so nothing is signed at all")
    if not problems:
        return []
    return [
        Error(
            f"VES_SEQUENCER_PREVIOUS_SIGNING_KEYS must be comma-separated 32-byte hex seeds of rotated-out "
            f'keys: {"; ".join(problems)} (docs/proofs.md, "Rotating the sequencer key").',
            id="sequencer.E017",
        )
    ]


def _limit_errors() -> list[CheckMessage]:
    """Time limits and pool sizes that only work in one order."""
    errors: list[CheckMessage] = []
    if settings.CELERY_TASK_SOFT_TIME_LIMIT >= settings.CELERY_TASK_TIME_LIMIT:
        errors.append(
            Error(
                "CELERY_TASK_SOFT_TIME_LIMIT must be below CELERY_TASK_TIME_LIMIT, or tasks are killed "
                "without the chance to clean up.",
                id="sequencer.E010",
            )
        )
    if settings.PROJECTION_RUN_BUDGET_SECONDS >= settings.PROJECTION_RUN_SOFT_TIME_LIMIT:
        errors.append(
            Error(
                "PROJECTION_RUN_BUDGET_SECONDS must be below PROJECTION_RUN_SOFT_TIME_LIMIT, or a run is "
                "interrupted mid-batch instead of stopping between batches.",
                id="sequencer.E011",
            )
        )
    if not 1 <= settings.PROJECTION_SHARDS <= 64:
        errors.append(Error("PROJECTION_SHARDS must be between 1 and 64.", id="sequencer.E014"))
    if settings.PROJECTION_BATCH_SIZE < 1 or settings.PROJECTION_TRANSACTION_EVENTS < 1:
        errors.append(
            Error("PROJECTION_BATCH_SIZE and PROJECTION_TRANSACTION_EVENTS must be at least 1.", id="sequencer.E015")
        )
    if not 0 <= settings.COMMITMENT_TICK_SEAL_SECONDS <= 20:
        errors.append(
            Error(
                "COMMITMENT_TICK_SEAL_SECONDS must be between 0 and 20, below the commitment tick's 30 s soft "
                "time limit.",
                id="sequencer.E016",
            )
        )
    if not 1 <= settings.DB_POOL_MIN_SIZE <= settings.DB_POOL_MAX_SIZE:
        errors.append(Error("DB_POOL_MIN_SIZE must be >= 1 and <= DB_POOL_MAX_SIZE.", id="sequencer.E012"))
    return errors


@register()
def check_chain_settings(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Anchoring (``ANCHOR_*``) and x402 settlement (``X402_*``) are configured whole or not at all."""
    errors: list[CheckMessage] = []
    backend = settings.X402_SETTLEMENT_BACKEND
    if backend not in X402_SETTLEMENT_BACKENDS:
        errors.append(Error(f"X402_SETTLEMENT_BACKEND={backend!r}: use 'record' or 'evm'.", id="sequencer.E030"))
    if backend == "evm":
        if not _is_hex_bytes(settings.X402_SETTLEMENT_PRIVATE_KEY, 32):
            errors.append(
                Error(
                    "X402_SETTLEMENT_BACKEND=evm needs X402_SETTLEMENT_PRIVATE_KEY (32 bytes of hex).",
                    id="sequencer.E031",
                )
            )
        if not _is_hex_bytes(settings.X402_SETTLEMENT_ADDRESS, 20):
            errors.append(Error("X402_SETTLEMENT_ADDRESS must be a 20-byte hex address.", id="sequencer.E032"))
        if not settings.X402_EVM_RPC_URL:
            errors.append(Error("X402_SETTLEMENT_BACKEND=evm needs X402_EVM_RPC_URL.", id="sequencer.E033"))
    anchoring = (settings.ANCHOR_RPC_URL, settings.ANCHOR_PRIVATE_KEY)
    if any(anchoring) and not all(anchoring):
        errors.append(
            Error(
                "ANCHOR_RPC_URL and ANCHOR_PRIVATE_KEY are set together or not at all; with one alone "
                "anchoring is silently off (503 anchoring_unconfigured).",
                id="sequencer.E034",
            )
        )
    if settings.ANCHOR_PRIVATE_KEY and not _is_hex_bytes(settings.ANCHOR_PRIVATE_KEY, 32):
        errors.append(Error("ANCHOR_PRIVATE_KEY must be 32 bytes of hex.", id="sequencer.E035"))
    if all(anchoring) and not _is_hex_bytes(settings.ANCHOR_TO_ADDRESS, 20):
        errors.append(Error("ANCHOR_TO_ADDRESS must be a 20-byte hex address.", id="sequencer.E036"))
    in_process = [
        name
        for name, url, used in (
            ("ANCHOR_RPC_URL", settings.ANCHOR_RPC_URL, True),
            ("X402_EVM_RPC_URL", settings.X402_EVM_RPC_URL, backend == "evm"),
        )
        if used and url == IN_PROCESS_URL
    ]
    if in_process and is_production():
        errors.append(
            Error(
                f"{' and '.join(in_process)}: the in-process chain ({IN_PROCESS_URL}) forgets every "
                "transaction when the process exits; it is for development and tests only.",
                id="sequencer.E037",
            )
        )
    if settings.ANCHOR_MAX_ATTEMPTS < 1:
        errors.append(
            Error(
                f"ANCHOR_MAX_ATTEMPTS={settings.ANCHOR_MAX_ATTEMPTS}: it must be at least 1 (failed anchor sends"
                " of one commitment before it is given up).",
                id="sequencer.E039",
            )
        )
    if not 10 <= settings.X402_SETTLEMENT_SWEEP_AFTER_SECONDS <= 86_400:
        errors.append(
            Error(
                f"X402_SETTLEMENT_SWEEP_AFTER_SECONDS={settings.X402_SETTLEMENT_SWEEP_AFTER_SECONDS}: it must be"
                " between 10 and 86400 (beat runs the settlement sweep every half of it).",
                id="sequencer.E040",
            )
        )
    return errors


@register()
def check_operations_settings(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Logs, rate limits, the Redis breaker, HSTS and the admin's cookies (docs/operations.md)."""

    messages: list[CheckMessage] = []
    if settings.LOG_FORMAT not in ("plain", "json"):
        messages.append(Error("LOG_FORMAT must be 'plain' or 'json'.", id="sequencer.E020"))
    if settings.RATE_LIMIT_WINDOW_SECONDS < 1 or settings.RATE_LIMIT_PER_MINUTE < 0:
        messages.append(
            Error("RATE_LIMIT_WINDOW_SECONDS must be >= 1 and RATE_LIMIT_PER_MINUTE >= 0.", id="sequencer.E021")
        )
    if settings.REDIS_SOCKET_TIMEOUT_MS < 1 or settings.REDIS_BREAKER_FAILURES < 1:
        messages.append(
            Error("REDIS_SOCKET_TIMEOUT_MS and REDIS_BREAKER_FAILURES must be positive.", id="sequencer.E022")
        )
    if settings.REJECTED_EVENTS_RETENTION_DAYS < 0:
        messages.append(
            Error(
                f"REJECTED_EVENTS_RETENTION_DAYS={settings.REJECTED_EVENTS_RETENTION_DAYS}: it must be 0 (keep"
                " rejected events forever) or a number of days.",
                id="sequencer.E023",
            )
        )
    if is_production() and settings.SECURE_HSTS_SECONDS == 0:
        messages.append(
            CheckWarning(
                "SECURE_HSTS_SECONDS is 0: set it (e.g. 31536000) when clients reach the service over HTTPS.",
                id="sequencer.W020",
            )
        )
    if is_production() and not (settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE):
        messages.append(
            CheckWarning(
                "SESSION_COOKIE_SECURE or CSRF_COOKIE_SECURE is false in production: the admin's session and"
                " CSRF cookies would also travel over plain HTTP.",
                id="sequencer.W022",
            )
        )
    return messages


# --- In-process chain (sequencer_project/local_chain.py) -------------------------------------
@register()
def check_local_chain(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """``eth-tester://`` in a setting that is in use needs the ``local-chain`` extra (ADR 0023).

    ``X402_EVM_RPC_URL`` defaults to it, so it counts only under the ``evm`` settlement backend.
    """
    from sequencer_project import local_chain

    in_use = []
    if settings.X402_SETTLEMENT_BACKEND == "evm" and settings.X402_EVM_RPC_URL == local_chain.IN_PROCESS_URL:
        in_use.append("X402_EVM_RPC_URL")
    if settings.ANCHOR_RPC_URL == local_chain.IN_PROCESS_URL:
        in_use.append("ANCHOR_RPC_URL")
    if not in_use or local_chain.local_chain_installed():
        return []
    return [Error(local_chain.missing_message(setting), id="sequencer.E038") for setting in in_use]
