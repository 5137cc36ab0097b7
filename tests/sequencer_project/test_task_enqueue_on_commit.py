"""``task_enqueue_on_commit``: a side effect by task name, sent only once the transaction commits."""

from __future__ import annotations

import ast
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from sequencer_project.celery import app, task_enqueue_on_commit
from tests.sequencer_project.broker_helpers import take_task_messages

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _take(queue_name: str, task: str, arg: str) -> bool:
    """Take the message of ``task`` whose first argument is ``arg`` off ``queue_name``; others go back."""
    return bool(take_task_messages(queue_name, task, wanted=lambda args: args[0] == arg, count=1))


def test_it_sends_the_named_task_to_its_routed_queue_once_the_transaction_commits(
    django_capture_on_commit_callbacks: Any,
) -> None:
    batch_id = str(uuid.uuid4())

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        task_enqueue_on_commit("commitments.commitment_anchor", batch_id)

    assert len(callbacks) == 1  # nothing is sent before the commit
    callbacks[0]()
    assert _take("commitments", "commitments.commitment_anchor", batch_id)


def test_a_rolled_back_transaction_sends_nothing(django_capture_on_commit_callbacks: Any) -> None:
    def enqueue_then_fail() -> None:
        with transaction.atomic():
            task_enqueue_on_commit("commitments.commitment_anchor", str(uuid.uuid4()))
            raise RuntimeError

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        enqueue_then_fail()

    assert callbacks == []


def _enqueued_names() -> dict[str, str]:
    """Every literal task name passed to ``task_enqueue_on_commit`` in the apps, with where."""
    names: dict[str, str] = {}
    for app_dir in ("events", "commitments", "payments", "tenants", "schemas", "sequencer_project"):
        for path in (ROOT / app_dir).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "task_enqueue_on_commit"
                    and node.args
                ):
                    first = node.args[0]
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    assert isinstance(first, ast.Constant), where
                    assert isinstance(first.value, str), where
                    names[first.value] = where
    return names


def test_every_task_name_enqueued_in_the_source_is_a_registered_task() -> None:
    app.loader.import_default_modules()  # what a worker does at start: import every tasks module
    names = _enqueued_names()

    assert {"commitments.commitment_anchor", "payments.batch_settle"} <= names.keys()
    unknown = {name: where for name, where in names.items() if name not in app.tasks}
    assert unknown == {}
