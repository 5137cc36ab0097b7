"""orjson writing that survives integers PostgreSQL ``jsonb`` hands back wider than 64 bits (no Django import)."""

from typing import Any

import orjson

_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1  # what orjson can write


def huge_ints_as_floats(value: Any) -> Any:
    """``value`` with integers orjson cannot write turned back into floats.

    Such integers only come back from ``jsonb``: a client's ``1.8446744073709552e+19`` (a float,
    as orjson parsed it) is stored as an exact numeric and read back by psycopg as a Python int
    of 65 bits, which ``orjson.dumps`` refuses (it was a 500, found by schemathesis).
    """
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if _INT_MIN <= value <= _INT_MAX else float(value)
    if isinstance(value, dict):
        return {key: huge_ints_as_floats(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [huge_ints_as_floats(item) for item in value]
    return value


def dumps(value: Any, option: int = 0) -> bytes:
    """``orjson.dumps``, retried once with huge integers as floats (never on the normal path)."""
    try:
        return orjson.dumps(value, option=option)
    except orjson.JSONEncodeError as exc:
        if "64-bit" not in str(exc):
            raise
        return orjson.dumps(huge_ints_as_floats(value), option=option)
