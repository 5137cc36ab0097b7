"""gunicorn settings for the web process (``gunicorn -c docker/gunicorn.conf.py sequencer_project.wsgi``).

Measured on the 2-core development machine (docs/performance.md): the service is CPU-bound,
so workers match the cores. Each worker runs WEB_THREADS threads (gthread, as
``sequencer_project.gunicorn_worker.RebalancingThreadWorker``, which closes a keep-alive
connection after WEB_KEEPALIVE_REQUESTS requests or WEB_KEEPALIVE_MAX_AGE_SECONDS so that
connections opened together do not stay on one worker; ADR 0037, and which bounds how long a
thread waits for a slow client's request bytes, WEB_REQUEST_READ_TIMEOUT_SECONDS and
WEB_REQUEST_HEADERS_TIMEOUT_SECONDS, docs/configuration.md "Slow clients"): concurrent ingest requests
for one stream inside a worker are then merged into one transaction (group commit, ADR 0014),
which is what lets one hot stream go past one transaction per WAL flush. WEB_THREADS=1 gives
plain sync workers (no grouping). Every value can be overridden from the environment; keep
DB_POOL_MAX_SIZE above WEB_THREADS (a thread keeps its pooled connection only while one stays
free for others).
"""

import multiprocessing
import os
import sys
from typing import Any


def _number(name: str, default: float, *, minimum: float, maximum: float = 2**31 - 1, kind: type = int) -> Any:
    """The environment's ``name`` as ``kind`` in ``minimum..maximum`` (``default`` when unset or
    empty); anything else stops the server with one line naming the variable (gunicorn would
    print its traceback of ``int()`` and say only that the config file failed). Its own reader,
    not ``gunicorn_worker._finite_setting``: importing the project here would load the metrics
    before their multiprocess directory is set (below)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or value != value or not minimum <= value <= maximum:
        sys.exit(
            f"{name} must be {'an integer' if kind is int else 'a number'} from {minimum} to {maximum}, not {raw!r}"
        )
    return value


bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8080')}"  # noqa: S104  (container port)
workers = _number("WEB_WORKERS", multiprocessing.cpu_count(), minimum=1)
threads = _number("WEB_THREADS", 8, minimum=1)
worker_class = os.environ.get("WEB_WORKER_CLASS") or (
    "sequencer_project.gunicorn_worker.RebalancingThreadWorker" if threads > 1 else "sync"
)
# The worker heartbeat's limit: a request the database answers is bounded by the statement timeout
# (30 s) plus margin; one waiting on a server that stopped answering is not (docs/operations.md,
# "A database that hangs"), and a gthread worker's heartbeat does not end it.
timeout = _number("WEB_TIMEOUT", 40, minimum=1)
# SIGTERM: stop accepting, let in-flight requests finish for up to this long.
graceful_timeout = _number("WEB_GRACEFUL_TIMEOUT", 30, minimum=0)
keepalive = _number("WEB_KEEPALIVE", 5, minimum=0)
# The longest request line (method, path with query, version) gunicorn reads before answering 414
# in HTML, outside the API's problems: gunicorn's ceiling rather than its 4,094-byte default, as
# the header-field limit (docs/errors.md, "Answered by the server").
limit_request_line = _number("WEB_LIMIT_REQUEST_LINE", 8190, minimum=0, maximum=8190)
# gunicorn's runtime control socket (gunicornc: worker counts, reload, shutdown) only where asked
# for: by default every gunicorn of a user shares one path ($HOME/.gunicorn/gunicorn.ctl), so a
# second instance on the machine (tests, load tests, a second service) took over the first's.
control_socket_disable = not os.environ.get("WEB_CONTROL_SOCKET")
if os.environ.get("WEB_CONTROL_SOCKET"):
    control_socket = os.environ["WEB_CONTROL_SOCKET"]
# Workers are not recycled unless WEB_MAX_REQUESTS is set (then after that many requests, plus up
# to WEB_MAX_REQUESTS_JITTER). A recycled worker's replacement imports the application (~0.7 s
# of CPU) before it accepts; when the other worker recycles within that time no process accepts,
# and every request waits (0.24-0.46 s measured). The old default of 100,000 recycled each worker
# about every minute under load; event by id read p99 441.5 ms with recycling against 21.7 ms
# without. The workers' memory stays flat under load (docs/performance.md, "Workers not
# recycled"; ADR 0044).
max_requests = _number("WEB_MAX_REQUESTS", 0, minimum=0)
max_requests_jitter = _number("WEB_MAX_REQUESTS_JITTER", 0, minimum=0)
# How long a thread may hold the GIL while another waits for it: Python's 5 ms by default.
# 1 ms was the default until two builds side by side under the same load (docs/performance.md,
# "The web's garbage collector; Python's switch interval") showed 5 ms ahead on every workload:
# 4-15 % more requests/s and 5-12 % less web CPU per request. Set here, in the master, so every
# forked worker inherits it.
sys.setswitchinterval(_number("WEB_GIL_SWITCH_INTERVAL_MS", 5.0, minimum=0.001, maximum=1000.0, kind=float) / 1000)
# The background before intake (ADR 0030): on cores the web shares with the Celery worker and
# PostgreSQL, the web runs at a lower priority, so when they are saturated the worker keeps
# projections and commitments within seconds and PostgreSQL (which every request waits on) runs
# first; ingest takes what is left. Idle cores still go to the web. 0 gives the scheduler's even
# split (the web then outruns the background under sustained load). No effect across
# containers, which the runtime's CPU weights split. Set in the master, inherited by its workers
# (scripts/web.sh applies it to granian too).
nice = _number("WEB_NICE", 10, minimum=-20, maximum=19)
os.nice(nice)
accesslog = os.environ.get("WEB_ACCESS_LOG", None)
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL", "info")
# --- Operations (docs/operations.md): metrics from every worker, graceful shutdown -------------
# prometheus_client multiprocess mode: each worker writes its metrics to files in this
# directory and /metrics merges them. It must be set before anything imports prometheus_client,
# which reads it once, at import: so before this file imports any of the project (the logging
# block below loads the sequencer_project package, whose Celery app loads the metrics), and
# the master reads this file first. Emptied at start so a previous run's counters do not leak
# in. Default: a per-port directory under the temp dir.
import shutil  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    str(Path(tempfile.gettempdir()) / f"sequencer-prometheus-{os.environ.get('PORT', '8080')}"),
)


# LOG_FORMAT=json (docs/operations.md, "HTTP hardening and logs"): gunicorn's own lines (boot,
# "Invalid request from ip=...", worker timeouts, shutdown; the access log when WEB_ACCESS_LOG is
# set) are JSON objects as the application's are, from the same formatter. Its handlers and where
# they write stay gunicorn's; only their formatter changes. Read as the settings read it (the
# environment, else .env): the master formats before any worker loads the settings.
from sequencer_project.logs import configured_log_format  # noqa: E402

if configured_log_format() == "json":
    import logging
    import logging.handlers

    from gunicorn.glogging import Logger

    from sequencer_project.logs import JsonFormatter

    class JsonLogger(Logger):  # type: ignore[misc]  # gunicorn has no type hints
        """gunicorn's logger with the application's JSON formatter on its error and access
        handlers (syslog's keep their format), and on the master's root logger, which nothing
        else configures there (a worker's settings replace it with the application's console),
        which Python's warnings go to as well."""

        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            formatter = JsonFormatter()
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    if not isinstance(handler, logging.handlers.SysLogHandler):
                        handler.setFormatter(formatter)
            root = logging.getLogger()
            if not root.handlers:
                console = logging.StreamHandler()
                console.setFormatter(formatter)
                root.addHandler(console)
            # Python's warnings (a library's UserWarning while a worker loads the application,
            # before Django configures logging) become records of "py.warnings" on that handler,
            # not plain text on stderr; the workers inherit it.
            logging.captureWarnings(True)

    logger_class = JsonLogger


def on_starting(server: Any) -> None:
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    # The workers share the stream heads the optimistic append guesses from, and the turns to
    # write a contended stream (ADR 0038).
    from streams import head_hints, turns

    head_hints.SHARED.make_now()
    turns.SHARED.make_now()


def child_exit(server: Any, worker: Any) -> None:
    # Live-only gauges (pool, breaker state) of a dead worker stop counting; its counters stay.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


# SIGTERM to the master: it stops accepting, each worker finishes the requests it is
# serving, and workers still busy after WEB_GRACEFUL_TIMEOUT are killed. Keep the orchestrator's
# grace period (docker stop -t, terminationGracePeriodSeconds) above WEB_GRACEFUL_TIMEOUT.


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    # The request id stays bound until the response is closed (sequencer_project/api/middleware.py);
    # a response the server never closes (start_response raised, a client gone) would leave it on
    # this thread for the next lines it logs. gunicorn runs this hook on the request's thread, in a
    # finally, after every request.
    from sequencer_project.api.request_id import forget_request_id

    forget_request_id()
