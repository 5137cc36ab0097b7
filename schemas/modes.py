"""Schema validation modes and their accepted spellings (``docs/schemas.md``)."""

from __future__ import annotations

import enum


class ValidationMode(enum.StrEnum):
    DISABLED = "disabled"  # never validate
    WARN = "warn"  # validate, log and count failures, accept the event
    ENFORCE = "enforce"  # reject events whose payload fails their type's active schema
    REQUIRED = "required"  # enforce, and reject events whose type has no active schema


_ALIASES = {
    "disabled": ValidationMode.DISABLED,
    "disable": ValidationMode.DISABLED,
    "off": ValidationMode.DISABLED,
    "none": ValidationMode.DISABLED,
    "false": ValidationMode.DISABLED,
    "warn": ValidationMode.WARN,
    "warning": ValidationMode.WARN,
    "log": ValidationMode.WARN,
    "enforce": ValidationMode.ENFORCE,
    "enforced": ValidationMode.ENFORCE,
    "on": ValidationMode.ENFORCE,
    "true": ValidationMode.ENFORCE,
    "required": ValidationMode.REQUIRED,
    "require": ValidationMode.REQUIRED,
    "strict": ValidationMode.REQUIRED,
}


def parse_mode(text: str) -> ValidationMode | None:
    """The mode a spelling names (case and surrounding blanks ignored), ``None`` when unknown."""
    return _ALIASES.get(text.strip().lower())
