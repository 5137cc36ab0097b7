"""Load ``<app>/sql/*.sql`` files once, at import, into string constants.

Each file holds one statement with named parameters (``%(name)s``; arrays as ``%(name)b``,
bound in binary: psycopg writes a text array element by element in Python, about five times
slower, and a ``bytea`` array's elements as escaped text, fifty times) and a header comment
saying what it does, which index or partition pruning it relies on, and what it locks. The
loaded text drops whole-line comments and indentation: the statement is what the server needs,
and psycopg caches its parsing of a query only up to 4,096 characters (a header comment pushed
the ingest statement past that, so every execution re-parsed it).
"""

from __future__ import annotations

from pathlib import Path


def load_sql(package_dir: str | Path, name: str) -> str:
    """Return the text of ``name`` in the directory of the module file ``package_dir``."""
    path = Path(package_dir)
    if path.is_file():
        path = path.parent
    text = (path / name).read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines()]
    statement = "\n".join(line for line in lines if line and not line.startswith("--"))
    if not statement:
        raise ValueError(f"SQL file {name} is empty")
    return statement
