"""Cross-setting invariants as Django system checks (ids are stable: ``sequencer.E00N``)."""

import uuid
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

_NON_PRODUCTION = {"", "local", "dev", "development", "test", "testing", "ci", "staging"}


def is_production() -> bool:
    return settings.SEQUENCER_ENV.lower() not in _NON_PRODUCTION


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
        if key and len(key) < 32:
            errors.append(
                Error("BOOTSTRAP_ADMIN_API_KEY must be at least 32 characters in production.", id="sequencer.E005")
            )
        if settings.JWT_SECRET and len(settings.JWT_SECRET) < 32:
            errors.append(Error("JWT_SECRET must be at least 32 characters in production.", id="sequencer.E006"))
    if settings.MAX_EVENTS_PER_BATCH < 1 or settings.MAX_EVENT_PAYLOAD_SIZE < 1:
        errors.append(Error("Ingest limits must be positive.", id="sequencer.E007"))
    errors.extend(_ves_errors())
    return errors


def _ves_errors() -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    seed = settings.VES_SEQUENCER_SIGNING_KEY.removeprefix("0x")
    try:
        valid_seed = not seed or len(bytes.fromhex(seed)) == 32
    except ValueError:
        valid_seed = False
    if not valid_seed:
        errors.append(Error("VES_SEQUENCER_SIGNING_KEY must be 32 bytes of hex.", id="sequencer.E008"))
    try:
        uuid.UUID(settings.VES_SEQUENCER_ID)
    except ValueError:
        errors.append(Error("VES_SEQUENCER_ID must be a UUID.", id="sequencer.E009"))
    return errors


# --- Operations (issue 8) --------------------------------------------------------------------
@register()
def check_operations_settings(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    from django.core.checks import Warning as CheckWarning

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
    if is_production() and settings.SECURE_HSTS_SECONDS == 0:
        messages.append(
            CheckWarning(
                "SECURE_HSTS_SECONDS is 0: set it (e.g. 31536000) when clients reach the service over HTTPS.",
                id="sequencer.W020",
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
    return [Error(local_chain.missing_message(setting), id="sequencer.E030") for setting in in_use]
