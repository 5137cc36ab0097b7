"""Load ``<app>/sql/*.sql`` files once, at import, into string constants.

Each file holds one statement with named parameters (``%(name)s``) and a header comment
saying what it does, which index or partition pruning it relies on, and what it locks.
"""

from __future__ import annotations

from pathlib import Path


def load_sql(package_dir: str | Path, name: str) -> str:
    """Return the text of ``name`` in the directory of the module file ``package_dir``."""
    path = Path(package_dir)
    if path.is_file():
        path = path.parent
    text = (path / name).read_text(encoding="utf-8")
    if not text.strip():
        raise ValueError(f"SQL file {name} is empty")
    return text
