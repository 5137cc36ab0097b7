"""Every upper bound an app's API layer publishes in OpenAPI (``maxLength``, ``maxItems``,
``maximum``) names the constant the code enforces, never a bare number, so the document cannot
drift from the server. Read from the source with ``ast``; a limit that views and OpenAPI modules
share lives in ``<app>/limits.py`` (the views import the OpenAPI modules, not the other way)."""

from __future__ import annotations

import ast
import operator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("schemas", "tenants", "commitments", "events", "payments")
BOUNDS = {"maxLength", "maxItems", "maximum"}
# Numbers allowed as bounds, each with its reason.
ALLOWED: dict[tuple[str, str, int], str] = {
    ("events/api/openapi.py", "maximum", 255): "an element of a byte array",
    ("payments/api/openapi.py", "maxItems", 2): "sequence_range is a [start, end] pair",
    ("commitments/api/openapi.py", "maxItems", 2): "sequence_range is a [start, end] pair",
}


_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Pow: operator.pow}


def _number(node: ast.expr) -> int | None:
    """The value of ``node`` when it is an integer or arithmetic on integers only, else ``None``."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _number(node.left), _number(node.right)
        return None if left is None or right is None else int(_OPERATORS[type(node.op)](left, right))
    return None


def literal_bounds(source: str) -> list[tuple[str, int]]:
    """``(keyword, number)`` for every bound in ``source`` written as a number: a dict entry
    ``"maximum": 1000`` or a keyword argument ``maxItems=50``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        pairs: list[tuple[object, ast.expr]] = []
        if isinstance(node, ast.Dict):
            pairs = [(k.value, v) for k, v in zip(node.keys, node.values, strict=True) if isinstance(k, ast.Constant)]
        elif isinstance(node, ast.Call):
            pairs = [(k.arg, k.value) for k in node.keywords]
        for key, expression in pairs:
            number = _number(expression)
            if isinstance(key, str) and key in BOUNDS and number is not None:
                found.append((key, number))
    return found


def test_published_bounds_are_named_constants() -> None:
    found = [
        (str(path.relative_to(ROOT)), key, value)
        for app in APPS
        for path in sorted((ROOT / app / "api").glob("*.py"))
        for key, value in literal_bounds(path.read_text("utf-8"))
    ]
    assert [bound for bound in found if bound not in ALLOWED] == []
    assert set(ALLOWED) <= set(found), "an allowed number is gone: drop it from ALLOWED"


def test_the_check_flags_numbers_and_accepts_names() -> None:
    source = 'A = {"maxLength": 256, "minimum": 1}\nB = array(UUID, maxItems=2**6)\nC = {"maximum": LIMIT}\n'
    assert literal_bounds(source) == [("maxLength", 256), ("maxItems", 64)]
