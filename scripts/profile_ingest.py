"""Profile single-event legacy ingest through Django's WSGI handler, in process.

Calls the WSGI application gunicorn would call (no test client, no HTTP), with a stored API
key, on one hot stream, and prints CPU per request, the CPU its PostgreSQL backend spent per
event, and (``--profile``) where the request's goes.

    .venv/bin/python scripts/profile_ingest.py [--requests 2000] [--batch 1] [--payload-bytes 100] [--profile]
    .venv/bin/python scripts/profile_ingest.py --background 4 --streams 64 --requests 2368 [--batch 1]

``--threads N`` sends them from N threads at once (CPU is then the whole process's; PostgreSQL's
every backend's of the machine).

``--profile`` prints a cProfile of CPU time (``time.process_time``), sorted by cumulative time
(``--sort tottime``: by each function's own time).

``--background ROUNDS``: the background's cost per event at an ingest shape instead. Each round
sends ``--requests`` requests round robin over ``--streams`` stores, then runs one projection
tick (``projection_run_all``) and one commitment tick (``commitment_tick``) here, as the worker
would, and prints this process's CPU and PostgreSQL's (every ``postgres`` process of the machine,
from /proc) per event for each; the first round warms up and is not counted. 64 streams x 37
single events is what one 2 s tick meets at ~1,200 single events/s.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import os
import pstats
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sequencer_project.settings")

import django

django.setup()

import orjson  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from commitments.tasks import commitment_tick  # noqa: E402
from events.services.projections import projection_run_all  # noqa: E402
from loadtest.cpu import is_postgres, matching_cpu, parse_stat, snapshot  # noqa: E402
from sequencer_project.wsgi import application as wsgi_application  # noqa: E402
from tenants.services import api_key_create, tenant_create  # noqa: E402


def wsgi_environ(body: bytes, key: str) -> dict[str, object]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/events/ingest",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8080",
        "HTTP_AUTHORIZATION": f"ApiKey {key}",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        "SERVER_PROTOCOL": "HTTP/1.1",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--profile", action="store_true", help="print a CPU-time cProfile")
    parser.add_argument("--sort", default="cumulative", help="the profile's order: cumulative, tottime, ...")
    parser.add_argument("--payload-bytes", type=int, default=100)
    parser.add_argument("--batch", type=int, default=1, help="events per request")
    parser.add_argument("--streams", type=int, default=1, help="stores the requests go to, round robin")
    parser.add_argument("--threads", type=int, default=1, help="threads sending the requests at once, as a server's")
    parser.add_argument("--background", type=int, default=0, metavar="ROUNDS", help="measure the background instead")
    args = parser.parse_args()

    tenant = tenant_create(name=f"profile-{uuid.uuid4().hex[:8]}", actor="cli:profile_ingest")
    key = api_key_create(tenant=tenant, name="profile", can_write=True, actor="cli:profile_ingest").key
    stores = [uuid.uuid4() for _ in range(args.streams)]
    store_turn = itertools.cycle(stores)
    app = wsgi_application  # the application gunicorn serves (the lean API path)
    statuses: dict[str, int] = {}
    counting = threading.Lock()

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        with counting:
            statuses[status] = statuses.get(status, 0) + 1

    def body() -> bytes:
        store_id = next(store_turn)
        return orjson.dumps(
            {
                "events": [
                    {
                        "event_id": str(uuid.uuid4()),
                        "tenant_id": str(tenant.id),
                        "store_id": str(store_id),
                        "entity_type": "order",
                        "entity_id": f"order-{uuid.uuid4().hex[:6]}",
                        "event_type": "order.created",
                        "payload": {"note": "x" * args.payload_bytes},
                        "created_at": "2026-01-01T00:00:00Z",
                    }
                    for _ in range(args.batch)
                ]
            }
        )

    def one(body: bytes) -> None:
        result = app(wsgi_environ(body, key), start_response)
        b"".join(result)
        getattr(result, "close", lambda: None)()  # a Django response: ends the request (signals)

    if args.background:

        def ingest() -> None:
            for _ in range(args.requests):
                one(body())

        _measure_background(args.background, ingest, args)
        return
    for _ in range(max(200 // args.batch, 5)):
        one(body())
    bodies = [body() for _ in range(args.requests)]  # built before the clock: only the service is measured
    threaded = None
    if args.threads > 1:
        warm_ups = [body() for _ in range(args.threads * 10)]
        threaded = _warmed_threads(bodies, warm_ups, one, args.threads)
    statuses.clear()
    cprof = cProfile.Profile(time.process_time)
    if args.profile:
        cprof.enable()
    backend = _backend_pid()
    backend_cpu0, machine0 = _backend_cpu(backend), snapshot()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if threaded is None:
        for request_body in bodies:
            one(request_body)
    else:
        threaded()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    backend_cpu = _backend_cpu(backend) - backend_cpu0
    if args.threads > 1:  # each thread has its own connection: every backend of the machine
        backend_cpu = matching_cpu(machine0, snapshot(), is_postgres)
    if args.profile:
        cprof.disable()
        pstats.Stats(cprof).sort_stats(args.sort).print_stats(60)
    print(f"statuses: {statuses}")
    print(
        f"{args.requests} requests of {args.batch} events: {cpu / args.requests * 1e3:.3f} ms CPU/request, "
        f"{wall / args.requests * 1e3:.3f} ms wall/request, {cpu / args.requests / args.batch * 1e6:.1f} us CPU/event"
    )
    if args.threads > 1:
        print(f"PostgreSQL (every backend): {backend_cpu / args.requests / args.batch * 1e6:.1f} us CPU/event")
        return
    same = "" if _backend_pid() == backend else " (the connection changed during the run: not comparable)"
    print(f"PostgreSQL backend: {backend_cpu / args.requests / args.batch * 1e6:.1f} us CPU/event{same}")


def _warmed_threads(
    bodies: list[bytes], warm_ups: list[bytes], one: Callable[[bytes], None], threads: int
) -> Callable[[], None]:
    """``threads`` threads that have each sent their share of ``warm_ups`` (a connection of their
    own, its prepared statements) and wait; the function returned lets them send every body once,
    taking turns as a threaded server's would, and returns when they are done."""
    queue = iter(bodies)
    taking = threading.Lock()
    warmed = threading.Barrier(threads + 1)
    go = threading.Event()

    def serve(own_warm_ups: list[bytes]) -> None:
        for warm_up in own_warm_ups:
            one(warm_up)
        warmed.wait()
        go.wait()
        while True:
            with taking:
                request_body = next(queue, None)
            if request_body is None:
                connection.close()
                return
            one(request_body)

    connection.close()  # back to the pool: the server's threads have it to themselves
    workers = [threading.Thread(target=serve, args=(warm_ups[index::threads],)) for index in range(threads)]
    for worker in workers:
        worker.start()
    warmed.wait()

    def send() -> None:
        go.set()
        for worker in workers:
            worker.join()

    return send


def _backend_pid() -> int:
    """The PostgreSQL backend serving this thread's connection (the one the requests use)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def _backend_cpu(pid: int) -> float:
    """User + system CPU seconds of the (local) backend so far."""
    return parse_stat(Path(f"/proc/{pid}/stat").read_text())[2]


def _measure_background(rounds: int, ingest: Callable[[], object], args: argparse.Namespace) -> None:
    """Per round: ingest, then one projection tick and one commitment tick, each measured."""
    events = args.requests * args.batch
    totals = {"projections": [0.0, 0.0], "commitments": [0.0, 0.0]}
    wal_totals = {"ingest": 0, "projections": 0, "commitments": 0}
    profiles = {"projections": cProfile.Profile(time.process_time), "commitments": cProfile.Profile(time.process_time)}
    ticks: dict[str, Callable[[], object]] = {
        "projections": lambda: projection_run_all(batch_size=settings.PROJECTION_BATCH_SIZE, time_budget_seconds=60),
        "commitments": commitment_tick,
    }
    for round_number in range(rounds + 1):
        wal = {"ingest": _wal_position()}
        ingest()
        wal["ingest"] = _wal_position() - wal["ingest"]
        line = []
        for name, tick in ticks.items():
            profiling = args.profile and round_number > 0
            wal[name] = _wal_position()
            before, cpu0 = snapshot(), time.process_time()
            if profiling:
                profiles[name].enable()
            tick()
            if profiling:
                profiles[name].disable()
            cpu, after = time.process_time() - cpu0, snapshot()
            wal[name] = _wal_position() - wal[name]
            postgres = matching_cpu(before, after, is_postgres)
            line.append(f"{name} worker {cpu / events * 1e6:.1f} PostgreSQL {postgres / events * 1e6:.1f}")
            if round_number:  # the first round warms up
                totals[name][0] += cpu
                totals[name][1] += postgres
        if round_number:
            for name, written in wal.items():
                wal_totals[name] += written
        print(f"round {round_number}{' (warm-up)' if not round_number else ''}: {events} events; " + "; ".join(line))
    counted = events * rounds
    print(
        f"{rounds} rounds of {args.requests} requests x {args.batch} events over {args.streams} streams, "
        "CPU us per event: "
        + "; ".join(
            f"{name} worker {w / counted * 1e6:.1f} PostgreSQL {p / counted * 1e6:.1f}"
            for name, (w, p) in totals.items()
        )
        + f" (load average {os.getloadavg()[0]:.2f})"
    )
    print(
        "WAL bytes per event: " + "; ".join(f"{name} {written / counted:,.0f}" for name, written in wal_totals.items())
    )
    if args.profile:  # after the figures: the profiler's own cost is in them
        for name, profile in profiles.items():
            print(f"--- {name}, CPU time by function (own time first)")
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)


def _wal_position() -> int:
    """The cluster's WAL insert position in bytes (every database's writes, checkpoints' included)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn() - '0/0'")
        return int(cursor.fetchone()[0])


if __name__ == "__main__":
    main()
