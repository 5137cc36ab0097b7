"""Answers that are not the API's (a redirect, a 2xx HTML page, a 2xx JSON without the fields a
call reads) are :class:`ApiError`s in both clients, and one ``ves: …`` line with exit 1 in the
CLI, never a success or a traceback (docs/sdk.md, "Errors"). The server is a real HTTP server on
127.0.0.1 (the standard library's) whose answers each test scripts; no sequencer is needed."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

import ves
from tests.ves.http_server import serving
from ves.cli import main as cli_main
from ves.client import ApiError, AsyncSequencerClient, SequencerClient

TENANT = "00000000-0000-0000-0000-000000000001"
STORE = "5603af72-63ef-4a9f-8dc0-79eee7a524f7"
LOGIN = "/admin/login/?next=/admin/api/v1/head"

# status, headers, body
Answer = tuple[int, dict[str, str], bytes]

REDIRECT: Answer = (302, {"Content-Type": "text/html; charset=utf-8", "Location": LOGIN}, b"")
HTML: Answer = (
    200,
    {"Content-Type": "text/html; charset=utf-8"},
    b"<html><head><title>x</title></head><body>Log in</body></html>",
)
JSON_AS_TEXT: Answer = (200, {"Content-Type": "text/plain"}, b'{"head_sequence": 5, "events": []}')
NOT_JSON: Answer = (200, {"Content-Type": "application/json"}, b"<html>")
OTHER_JSON: Answer = (200, {"Content-Type": "application/json"}, b'{"status": "ok"}')


@dataclass
class ScriptedServer:
    url: str = ""
    answer: Callable[[str], Answer] = lambda path: (200, {"Content-Type": "application/json"}, b"{}")


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    scripted = ScriptedServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, headers, body = scripted.answer(self.path)
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as scripted.url:
        yield scripted


def _head_sync(url: str) -> Any:
    with SequencerClient(url, "ss_key", retries=0) as client:
        return client.head(TENANT, STORE)


def _head_async(url: str) -> Any:
    async def head() -> Any:
        async with AsyncSequencerClient(url, "ss_key", retries=0) as client:
            return await client.head(TENANT, STORE)

    return asyncio.run(head())


CLIENTS = pytest.mark.parametrize("head", [_head_sync, _head_async], ids=["sync", "async"])


@CLIENTS
def test_a_redirect_is_an_api_error_naming_where_it_points(server: ScriptedServer, head: Callable[[str], Any]) -> None:
    server.answer = lambda path: REDIRECT
    with pytest.raises(ApiError) as raised:
        head(server.url + "/admin")
    error = raised.value
    assert type(error) is ApiError  # not a BadRequestError: the request may be fine, the URL is not the API's
    assert (error.status, error.code, error.title) == (302, "http_302", f"redirect to {LOGIN}")
    assert str(error).startswith(f"302 http_302: redirect to {LOGIN} (not followed")


@CLIENTS
@pytest.mark.parametrize(
    ("answer", "title"),
    [
        (HTML, "non-JSON response (text/html)"),
        (JSON_AS_TEXT, "non-JSON response (text/plain)"),  # JSON bytes, but not said to be JSON
        (NOT_JSON, "non-JSON response (application/json)"),  # said to be JSON, but is not
        (OTHER_JSON, "not an answer of /api/v1/head: no field 'head_sequence'"),
    ],
    ids=["html", "json-as-text", "not-json", "other-json"],
)
def test_a_2xx_that_is_not_the_apis_answer_is_an_api_error(
    server: ScriptedServer, head: Callable[[str], Any], answer: Answer, title: str
) -> None:
    server.answer = lambda path: answer
    with pytest.raises(ApiError) as raised:
        head(server.url)
    assert (raised.value.status, raised.value.title) == (200, title)
    if answer is HTML:
        assert raised.value.detail == "Log in"  # the page's text, tags and head dropped


@CLIENTS
@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/problem+json", "Application/JSON"]
)
def test_a_2xx_json_answer_is_read(server: ScriptedServer, head: Callable[[str], Any], content_type: str) -> None:
    server.answer = lambda path: (200, {"Content-Type": content_type}, b'{"head_sequence": 7}')
    assert head(server.url) == 7


# --- the CLI: one `ves:` line, exit 1 ------------------------------------------------------------


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, list[str]]:
    out = io.StringIO()
    status = cli_main(argv, out=out)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, out.getvalue(), err.splitlines()


@pytest.mark.parametrize("answer", [REDIRECT, HTML], ids=["redirect", "html"])
def test_cli_bundle_does_not_save_what_is_not_an_answer(
    server: ScriptedServer, answer: Answer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ves bundle`` saved the empty body of a 302 as ``""`` and exited 0."""
    server.answer = lambda path: answer
    out = tmp_path / "x.json"
    base = ["--url", server.url + "/admin", "--api-key", "k"]
    argv = [*base, "bundle", str(uuid.uuid4()), "--legacy", "--out", str(out)]

    status, printed, said = _run(argv, capsys)

    assert (status, printed, len(said), out.exists()) == (1, "", 1, False)
    assert said[0].startswith(f"ves: {answer[0]} http_{answer[0]}: ")


@pytest.mark.parametrize("answer", [REDIRECT, HTML, OTHER_JSON], ids=["redirect", "html", "other-json"])
def test_cli_tail_once_says_one_line(
    server: ScriptedServer, answer: Answer, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ves tail --once`` died with ``TypeError: string indices must be integers``."""
    server.answer = lambda path: answer
    argv = ["--url", server.url + "/admin", "tail", "--tenant", TENANT, "--store", STORE, "--once"]

    status, printed, said = _run(argv, capsys)

    assert (status, printed, len(said)) == (1, "", 1)
    expected = {
        id(REDIRECT): f"ves: 302 http_302: redirect to {LOGIN} (not followed",
        id(HTML): "ves: 200 http_200: non-JSON response (text/html): Log in",
        id(OTHER_JSON): "ves: 200 http_200: not an answer of /api/v1/events: no field 'events'",
    }[id(answer)]
    assert said[0].startswith(expected)


def test_the_cli_process_prints_one_line_and_exits_1(server: ScriptedServer, tmp_path: Path) -> None:
    """The console entry point itself, in its own process: no traceback reaches stderr."""
    server.answer = lambda path: REDIRECT
    env = {**os.environ, "PYTHONPATH": str(Path(ves.__file__).parent.parent)}
    for command in (
        ["tail", "--once"],
        ["checkpoint", "--sequencer-key", "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"],
    ):
        argv = [sys.executable, "-m", "ves", "--url", server.url + "/admin", command[0], "--tenant", TENANT]
        done = subprocess.run(  # noqa: S603
            [*argv, "--store", STORE, *command[1:]], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path
        )
        assert (done.returncode, done.stdout) == (1, ""), done.stderr
        assert done.stderr.startswith(f"ves: 302 http_302: redirect to {LOGIN}")
        assert done.stderr.count("\n") == 1
