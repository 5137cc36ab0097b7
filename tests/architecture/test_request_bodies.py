"""API views read request bodies one way: ``sequencer_project.api.fields.request_fields``.

That reader refuses a wrong media type, an oversize body, malformed or hostile JSON and a body
that is not an object before any view code runs, and its field readers answer the problems
``docs/errors.md`` lists. A view that reads ``request.data``, ``request.body`` or the parsed
object by hand skips those guarantees, so this test names it. The hot-path ingest handlers
parse their envelopes themselves (``docs/performance.md``) and are the only exemptions.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Module path -> handler qualnames that read the body themselves (hot path).
EXEMPT: dict[str, set[str]] = {
    "events/api/views.py": {"EventIngestApi.post"},
    "events/api/ves_views.py": {"VesEventIngestApi.post"},
}
# Calls that read or parse a body; a view gets its body from ``request_fields`` instead.
BODY_READERS = {
    "read_json_body",
    "parse_json_body",
    "request_json_bytes",
    "read_json_bytes",
    "json_object",
    "loads",
    "Fields",
}
# Attributes holding the raw or parsed body (``Fields.body`` included: use its readers).
BODY_ATTRIBUTES = {"data", "body", "POST", "stream"}


def view_modules() -> list[Path]:
    """Every view module of the API packages."""
    return sorted({*ROOT.glob("*/api/views.py"), *ROOT.glob("*/api/*_views.py")})


def _called_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def body_reads(source: str, exempt: Iterable[str] = ()) -> list[str]:
    """``line: what`` for every hand read of a request body in ``source``, outside ``exempt``."""
    allowed = set(exempt)
    found: list[str] = []

    def visit(node: ast.AST, scope: tuple[str, ...]) -> None:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            scope = (*scope, node.name)
        if ".".join(scope) in allowed:
            return
        if isinstance(node, ast.Call) and _called_name(node) in BODY_READERS:
            found.append(f"{node.lineno}: {_called_name(node)}()")
        elif isinstance(node, ast.Attribute) and node.attr in BODY_ATTRIBUTES:
            found.append(f"{node.lineno}: {ast.unparse(node)}")
        for child in ast.iter_child_nodes(node):
            visit(child, scope)

    visit(ast.parse(source), ())
    return found


def test_views_read_bodies_only_through_request_fields() -> None:
    modules = view_modules()
    assert len(modules) >= 10  # the glob still finds the views
    offenders = [
        f"{path.relative_to(ROOT)}:{read}"
        for path in modules
        for read in body_reads(path.read_text("utf-8"), EXEMPT.get(str(path.relative_to(ROOT)), ()))
    ]
    assert offenders == []


def test_every_exemption_names_a_handler_that_still_reads_its_body() -> None:
    for module, handlers in EXEMPT.items():
        source = (ROOT / module).read_text("utf-8")
        assert body_reads(source) != body_reads(source, handlers), module


def test_the_rule_flags_each_hand_read_and_passes_the_reader() -> None:
    source = """
class ThingApi:
    def post(self, request):
        a = request.data["a"]
        b = json_object(read_json_body(request))
        c = Fields(b).uuid("c")
        d = request_fields(request).body.get("d")
        return request_fields(request).uuid("e")

    def put(self, request):
        return request_fields(request, error).raw("f")
"""
    assert body_reads(source) == [
        "4: request.data",
        "5: json_object()",
        "5: read_json_body()",
        "6: Fields()",
        "7: request_fields(request).body",
    ]
    assert body_reads(source, {"ThingApi.post"}) == []
