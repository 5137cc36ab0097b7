"""House rules checked on the source tree (STYLE.md rules 13, 20, 21, 22, 29)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ["sequencer_project", "tenants", "events", "commitments", "payments", "schemas", "streams", "audit"]
SQL_LITERAL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\s", re.IGNORECASE)
# Trivial one-liners allowed outside sql/ (STYLE.md rule 20): probes and lock helpers.
ALLOWED_INLINE_SQL = {
    "SELECT 1",
    "SELECT pg_advisory_xact_lock(%s, %s)",
    "SELECT pg_try_advisory_xact_lock(%s, %s)",
    "SELECT pg_advisory_unlock(%s, %s)",
}


def _python_files() -> list[Path]:
    files: list[Path] = []
    for app in APPS:
        files.extend(p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts and "sql" not in p.parts)
    return files


def test_no_sql_statements_outside_sql_directories() -> None:
    offenders = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and SQL_LITERAL.match(node.value)
                and node.value.strip() not in ALLOWED_INLINE_SQL
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def _view_modules() -> list[Path]:
    """Every API view module and admin view module (STYLE.md rule 13 applies to all of them)."""
    found = {
        *ROOT.glob("*/api/views.py"),
        *ROOT.glob("*/api/*_views.py"),
        *ROOT.glob("*/admin_views.py"),
        *ROOT.glob("*/admin_pages.py"),
    }
    return sorted(path for path in found if path.parts[-3] != ".venv")


def orm_uses(source: str) -> list[str]:
    """``line: what`` for each models import, database connection or manager use in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith(".models"):
            found.append(f"{node.lineno}: imports {node.module}")
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "django.db"
            and any(alias.name in ("connection", "connections", "transaction") for alias in node.names)
        ):
            found.append(f"{node.lineno}: touches the database")
        if isinstance(node, ast.Attribute) and node.attr == "objects":
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_views_never_import_models_or_touch_the_orm() -> None:
    modules = _view_modules()
    assert {"tenants/admin_pages.py", "events/admin_pages.py", "commitments/api/bundle_views.py"} <= {
        str(path.relative_to(ROOT)) for path in modules
    }
    offenders = [f"{path.relative_to(ROOT)}:{use}" for path in modules for use in orm_uses(path.read_text("utf-8"))]
    assert offenders == []


def test_the_view_rule_flags_models_managers_and_connections() -> None:
    source = """
from tenants.models import Tenant
from django.db import connection
from tenants.selectors import tenant_get

def view(request):
    return Tenant.objects.filter(id=1), tenant_get(tenant_id=1)
"""
    assert orm_uses(source) == ["2: imports tenants.models", "3: touches the database", "7: Tenant.objects"]


# Names a handler may call besides its one data call: how the audit log names the caller.
NOT_DATA_CALLS = {"api_actor", "admin_actor"}


def data_calls(source: str) -> list[str]:
    """``line handler: calls`` for each request handler (an ``APIView`` method named after an HTTP
    verb, or a module-level function taking ``request``) that calls more than one function imported
    from a ``services`` or ``selectors`` module (classes from there, e.g. filters, are records)."""
    tree = ast.parse(source)
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and {"services", "selectors"} & set(node.module.split("."))
        for alias in node.names
        if not alias.name[:1].isupper() and alias.name not in NOT_DATA_CALLS
    }
    handlers = [
        (f"{cls.name}.{fn.name}", fn)
        for cls in tree.body
        if isinstance(cls, ast.ClassDef)
        for fn in cls.body
        if isinstance(fn, ast.FunctionDef) and fn.name in ("get", "post", "put", "patch", "delete")
    ] + [
        (fn.name, fn)
        for fn in tree.body
        if isinstance(fn, ast.FunctionDef) and fn.args.args and fn.args.args[0].arg == "request"
    ]
    found = []
    for name, handler in handlers:
        calls = [
            node.func.id
            for node in ast.walk(handler)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in imported
        ]
        if len(calls) > 1:
            found.append(f"{handler.lineno} {name}: {', '.join(calls)}")
    return found


def test_a_handler_calls_one_service_or_selector() -> None:
    """STYLE.md rule 13: a view parses, calls one service or selector, then serializes."""
    offenders = [
        f"{path.relative_to(ROOT)}:{found}" for path in _view_modules() for found in data_calls(path.read_text("utf-8"))
    ]
    assert offenders == []


def test_the_one_call_rule_flags_two_data_calls_and_passes_records_and_actors() -> None:
    source = """
from audit.services import api_actor
from payments.selectors import IntentFilters, payment_intent_list, payment_receipt_get
from tenants.services import api_key_revoke

class ReceiptApi:
    def get(self, request, intent_id):
        intent = payment_intent_list(filters=IntentFilters(limit=1))
        return intent, payment_receipt_get(intent_id=intent_id)

    def delete(self, request, key):
        return api_key_revoke(key=key, actor=api_actor(request.user))

def revoke_view(request):
    api_key_revoke(key=1, actor="x")
    api_key_revoke(key=2, actor="x")
"""
    assert data_calls(source) == [
        "7 ReceiptApi.get: payment_intent_list, payment_receipt_get",
        "14 revoke_view: api_key_revoke, api_key_revoke",
    ]


def test_every_sql_file_starts_with_a_header_comment() -> None:
    files = list(ROOT.glob("*/sql/*.sql"))
    assert files
    for path in files:
        assert path.read_text("utf-8").lstrip().startswith("--"), path


def test_sql_is_executed_with_named_or_positional_parameters_never_formatted() -> None:
    offenders = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "execute"
                and node.args
                and isinstance(node.args[0], ast.JoinedStr | ast.BinOp)
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_tasks_take_only_primitive_arguments() -> None:
    primitives = {"int", "str", "float", "bool", "None", "list[str]", "list[int]", "str | None"}
    offenders = []
    for path in ROOT.glob("*/tasks.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Call | ast.Attribute | ast.Name) and "task" in ast.unparse(d)
                for d in node.decorator_list
            ):
                for arg in node.args.args + node.args.kwonlyargs:
                    if arg.arg == "self":
                        continue
                    annotation = ast.unparse(arg.annotation) if arg.annotation else "missing"
                    if annotation not in primitives:
                        offenders.append(f"{path.relative_to(ROOT)}:{node.name}({arg.arg}: {annotation})")
    assert offenders == []
