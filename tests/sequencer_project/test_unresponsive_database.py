"""A database that stops answering without closing anything (``docs/operations.md``,
"Database timeouts"): what the client's side bounds.

A stopped PostgreSQL process whose host still answers TCP (SIGSTOP, a paused VM) holds every
statement sent to it; no server-side timeout runs and TCP sees nothing wrong. Here a proxy in
front of the real test database stops forwarding bytes while keeping both sockets open, which is
what the service sees then. ``/ready`` answered only when the database resumed (an outside audit
waited 20 s; 50 s and no answer); it now answers 503 within ``READY_TIMEOUT_SECONDS``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
from django.db import connection

from tests.sequencer_project.ops_helpers import ROOT, child_database_url

pytestmark = pytest.mark.django_db(transaction=True)


def test_connections_carry_the_clients_tcp_deadlines() -> None:
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    sock = socket.socket(fileno=os.dup(raw.pgconn.socket))
    try:
        options = (
            sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
        )
    finally:
        sock.close()

    assert options == (1, 10, 5, 3, 15_000)


# The child: a freezable TCP proxy to the test database, Django set up behind it, then /ready
# before, during and after the freeze. Prints one JSON line.
_CHILD = r"""
import json, os, socket, sys, threading, time, urllib.parse

upstream = urllib.parse.urlsplit(os.environ["UPSTREAM_DATABASE_URL"])
frozen = threading.Event()
listener = socket.create_server(("127.0.0.1", 0))

def pump(source, sink):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            while frozen.is_set():
                time.sleep(0.01)
            sink.sendall(data)
    except OSError:
        pass

def accept():
    while True:
        client, _ = listener.accept()
        server = socket.create_connection((upstream.hostname, upstream.port or 5432))
        threading.Thread(target=pump, args=(client, server), daemon=True).start()
        threading.Thread(target=pump, args=(server, client), daemon=True).start()

threading.Thread(target=accept, daemon=True).start()
port = listener.getsockname()[1]
os.environ["DATABASE_URL"] = upstream._replace(netloc=f"{upstream.username}@127.0.0.1:{port}").geturl()

import django
django.setup()
from django.test import Client

def probe():
    started = time.monotonic()
    response = Client().get("/ready")
    return {"status": response.status_code, "retry_after": response.get("Retry-After"),
            "seconds": round(time.monotonic() - started, 2)}

before = probe()
together = []  # probes at the same moment share one ping, and each gets its answer
threads = [threading.Thread(target=lambda: together.append(probe()["status"])) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
frozen.set()
during = probe()
again = probe()
frozen.clear()
time.sleep(0.5)  # the held ping gets its answer and ends
after = probe()
print(json.dumps({"before": before, "together": together, "during": during, "again": again, "after": after}))
"""


def test_ready_answers_503_within_its_timeout_while_the_database_hangs_and_200_once_it_resumes() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sequencer_project.settings",
        "ALLOWED_HOSTS": "testserver",
        "UPSTREAM_DATABASE_URL": child_database_url(),
        "READY_TIMEOUT_SECONDS": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    done = subprocess.run(  # noqa: S603  (our own interpreter and code)
        [sys.executable, "-c", _CHILD], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])

    assert seen["before"]["status"] == 200
    assert seen["together"] == [200, 200, 200, 200]
    assert (seen["during"]["status"], seen["during"]["retry_after"]) == (503, "1")
    assert 0.9 <= seen["during"]["seconds"] < 3
    # the first ping still waits: the next probe answers at once, without a second one
    assert (seen["again"]["status"], seen["again"]["retry_after"]) == (503, "1")
    assert seen["again"]["seconds"] < 0.5
    assert seen["after"]["status"] == 200
