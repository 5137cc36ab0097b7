"""Argument types the management commands share."""

from __future__ import annotations

from argparse import ArgumentTypeError

from sequencer_project.api.fields import ascii_int


def ascii_integer(text: str) -> int:
    """An option's integer in ASCII digits, as the API reads integers (argparse's ``int`` also
    reads ``'٣'``, ``+`` and ``_``)."""
    value = ascii_int(text)
    if value is None:
        raise ArgumentTypeError(f"{text!r} is not an integer of at most 19 ASCII digits")
    return value
