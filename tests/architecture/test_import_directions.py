"""Import directions between the top-level packages, read from the source with ``ast``.

Apps depend downwards only: every app may import ``ves`` (the pure library) and
``sequencer_project`` (framework glue), never the other way round; the shared kernel
(``streams``, ``audit``) imports neither identity nor the domain apps; identity (``tenants``)
never imports ``events``; ``events`` never imports ``commitments`` or ``payments``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GLUE = {"ves", "sequencer_project"}
KERNEL = GLUE | {"streams", "audit"}
# What each top-level package may import besides itself.
ALLOWED: dict[str, set[str]] = {
    "ves": set(),
    "sequencer_project": {"ves"},
    "streams": GLUE,
    "audit": GLUE,
    "tenants": KERNEL,
    "schemas": KERNEL | {"tenants"},
    "events": KERNEL | {"tenants", "schemas"},
    "commitments": KERNEL | {"tenants", "schemas", "events"},
    "payments": KERNEL | {"tenants", "schemas", "events"},
}
# Modules allowed one named import against the direction, each with its reason.
EXCEPTIONS: dict[str, set[str]] = {
    # The composition root: mounts the WSGI endpoints and admin pages the apps define.
    "sequencer_project/wsgi.py": {"events"},
    "sequencer_project/admin_site.py": {"events", "tenants"},
    # DRF's authentication class (named by path in settings) resolves a credential through
    # tenants' selectors; the principal it builds is sequencer_project's.
    "sequencer_project/api/authentication.py": {"tenants"},
    # The granian launcher, a composition root like the WSGI module: it makes the objects the web
    # processes share (stream heads and turns, ADR 0038) before granian forks its workers.
    "sequencer_project/granian_main.py": {"streams"},
}


def imported_packages(source: str, known: Iterable[str]) -> set[str]:
    """The top-level packages among ``known`` that ``source`` imports (anywhere, also in functions)."""
    roots = set(known)
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        found.update(name.split(".")[0] for name in names if name.split(".")[0] in roots)
    return found


def violations(
    imports: Mapping[str, set[str]], allowed: Mapping[str, set[str]], exceptions: Mapping[str, set[str]]
) -> list[str]:
    """``module imports package`` for every edge against ``allowed``, plus unused exceptions.

    ``imports`` maps a module path (``<package>/…``) to the top-level packages it imports.
    """
    found = []
    used: set[tuple[str, str]] = set()
    for module, packages in sorted(imports.items()):
        owner = module.split("/")[0]
        for package in sorted(packages - {owner} - allowed[owner]):
            if package in exceptions.get(module, set()):
                used.add((module, package))
            else:
                found.append(f"{module} imports {package}")
    found.extend(
        f"{module} no longer imports {package}: drop the exception"
        for module, packages in sorted(exceptions.items())
        for package in sorted(packages)
        if (module, package) not in used
    )
    return found


def _source_imports() -> dict[str, set[str]]:
    imports = {}
    for package in ALLOWED:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                imports[str(path.relative_to(ROOT))] = imported_packages(path.read_text("utf-8"), ALLOWED)
    return imports


def test_every_import_follows_the_intended_direction() -> None:
    assert violations(_source_imports(), ALLOWED, EXCEPTIONS) == []


def test_identity_and_schemas_never_import_events_and_events_never_imports_commitments_or_payments() -> None:
    assert "events" not in ALLOWED["tenants"] | ALLOWED["schemas"]
    assert not {"commitments", "payments"} & ALLOWED["events"]
    assert all(not ALLOWED[glue] - GLUE for glue in GLUE)


def test_the_check_catches_a_back_edge_and_an_unneeded_exception() -> None:
    graph = {
        "sequencer_project/api/body.py": imported_packages("from events import errors\n", ALLOWED),
        "tenants/api/views.py": imported_packages("def f():\n    import events.api.views\n", ALLOWED),
        "events/services/ingest.py": imported_packages("from payments.models import X\nimport ves.jcs\n", ALLOWED),
        "commitments/tasks.py": imported_packages("from events.models import Event\n", ALLOWED),
        "payments/sql/__init__.py": imported_packages("from . import x\nimport os\n", ALLOWED),
    }

    assert violations(graph, ALLOWED, {"schemas/services.py": {"events"}}) == [
        "events/services/ingest.py imports payments",
        "sequencer_project/api/body.py imports events",
        "tenants/api/views.py imports events",
        "schemas/services.py no longer imports events: drop the exception",
    ]
