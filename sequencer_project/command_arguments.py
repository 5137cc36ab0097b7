"""Argument types the management commands share."""

from __future__ import annotations

import uuid
from argparse import ArgumentTypeError

from sequencer_project.api.fields import ascii_int, parse_uuid_text


def ascii_integer(text: str) -> int:
    """An option's integer in ASCII digits, as the API reads integers (argparse's ``int`` also
    reads ``'٣'``, ``+`` and ``_``)."""
    value = ascii_int(text)
    if value is None:
        raise ArgumentTypeError(f"{text!r} is not an integer of at most 19 ASCII digits")
    return value


def ascii_uuid(text: str) -> uuid.UUID:
    """An option's UUID in ASCII, as the API reads ids (``uuid.UUID`` also reads Arabic-Indic digits,
    so a mistyped digit would name another tenant, store or agent)."""
    value = parse_uuid_text(text)
    if value is None:
        raise ArgumentTypeError(f"{text!r} is not a UUID in ASCII hex digits")
    return value
