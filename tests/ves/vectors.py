"""Loaders for the trimmed shared vectors under ``tests/vectors/`` (see its README)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_DIR = Path(__file__).parents[1] / "vectors"


def load(name: str) -> Any:
    """Parse one vector file from ``tests/vectors``."""
    return json.loads((_DIR / name).read_text("utf-8"))


def unhex(text: str) -> bytes:
    """Decode bare or ``0x``-prefixed hex."""
    return bytes.fromhex(text.removeprefix("0x"))
