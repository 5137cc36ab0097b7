"""``ves tail`` in follow mode stops when the reader of its output goes away, even while the stream
is idle (docs/sdk.md, "Errors": ``ves tail … | head -1`` ends with status 141). Before, it noticed
only at its next write, so an idle stream kept it polling forever. Real pipes, a real ``head`` and
a real HTTP server (the standard library's, scripted) that answers one event, then none."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ves
from tests.ves.test_client_answers import STORE, TENANT, Answer, ScriptedServer, server  # noqa: F401
from ves.cli import EXIT_BROKEN_PIPE

ENV = {**os.environ, "PYTHONPATH": str(Path(ves.__file__).parent.parent)}
EVENT = {"sequence_number": 1, "event_id": "6f1c2c8e-3f59-4a43-9a55-2f0c5d1a7e10", "payload": {}}


def _one_event_then_none(path: str) -> Answer:
    """The VES page from sequence 1 holds one event; every later page is empty."""
    events = [EVENT] if "from=1&" in path or path.endswith("from=1") else []
    return 200, {"Content-Type": "application/json"}, json.dumps({"events": events}).encode()


def _tail(url: str) -> list[str]:
    base = [sys.executable, "-m", "ves", "--url", url, "tail", "--tenant", TENANT, "--store", STORE]
    return [*base, "--ves", "--interval", "0.2"]


def test_an_idle_follow_exits_141_once_its_reader_closes_the_pipe(server: ScriptedServer) -> None:  # noqa: F811
    server.answer = _one_event_then_none
    process = subprocess.Popen(  # noqa: S603
        _tail(server.url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, text=True
    )
    try:
        assert process.stdout is not None
        assert process.stderr is not None
        assert json.loads(process.stdout.readline()) == EVENT
        closed = time.monotonic()
        process.stdout.close()  # the reader goes away; no event will ever come to write
        status = process.wait(timeout=10)
        waited = time.monotonic() - closed
        assert (status, process.stderr.read()) == (EXIT_BROKEN_PIPE, "")
        assert waited < 5  # within an --interval or so, not at a next event
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.skipif(shutil.which("head") is None or shutil.which("bash") is None, reason="needs bash and head")
def test_tail_piped_into_head_ends_with_status_141(server: ScriptedServer) -> None:  # noqa: F811
    """The documented pipeline, as a shell runs it."""
    server.answer = _one_event_then_none
    script = f'{shlex.join(_tail(server.url))} | head -1; echo "status ${{PIPESTATUS[0]}}" >&2'
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=ENV, timeout=20)  # noqa: S603, S607

    assert json.loads(done.stdout) == EVENT
    assert done.stderr == f"status {EXIT_BROKEN_PIPE}\n"
