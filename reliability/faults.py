"""Scenario 3: PostgreSQL restarted and Redis stopped while clients write.

PostgreSQL is stopped with ``pg_ctl -m immediate`` (a crash: no checkpoint, WAL recovery on
start) and started again ``outage`` seconds later; nothing of the service is restarted. A probe
thread polls ``/ready`` throughout. Redis is killed (``SIGKILL``, no persistence: every queued
Celery message is lost) and started empty ``outage`` seconds later.
"""

from __future__ import annotations

import threading
import time

import httpx

from reliability.load import Ledger, LoadPlan, new_ledger, run_writers, stop_writers
from reliability.scenarios import CATCH_UP_SECONDS, Result, caught_up, check_streams, load_average, wait_until
from reliability.stack import BASE_URL, Stack

# A request that takes longer than this during an outage counts as hanging. It is far above the
# pool wait (DB_POOL_TIMEOUT_SECONDS, 10 s) and below gunicorn's worker timeout (40 s).
HANG_SECONDS = 30.0
# How long /ready may take to answer 200 again after PostgreSQL is back. A web process whose pool
# was in the middle of psycopg_pool's reconnection back-off (1 s, then 2 s, ...) when PostgreSQL
# returned opens no connection until that wait ends: measured up to ~1.8 s after ingest (served
# by the other process) had recovered (docs/reliability.md).
READY_RECOVERY_SECONDS = 10.0


class ReadyProbe(threading.Thread):
    """Polls ``/ready`` every 0.2 s, recording (time, status, seconds, problem code)."""

    def __init__(self) -> None:
        super().__init__(name="ready-probe", daemon=True)
        self.samples: list[tuple[float, int, float, str]] = []
        self.stop_requested = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=BASE_URL, timeout=HANG_SECONDS + 10) as client:
            while not self.stop_requested.is_set():
                started = time.monotonic()
                try:
                    response = client.get("/ready")
                    status, code = response.status_code, str(response.json().get("code", ""))
                except httpx.TransportError:
                    status, code = 0, "transport_error"
                except ValueError:  # not JSON: recorded, so the checks below can name it
                    status, code = response.status_code, "not_json"
                self.samples.append((started, status, time.monotonic() - started, code))
                time.sleep(0.2)

    def first(self, status: int, after: float) -> float | None:
        return next((t for t, s, _, _ in self.samples if s == status and t >= after), None)


def _since(moment: float | None, origin: float) -> float | None:
    return None if moment is None else round(moment - origin, 2)


def _first_ack_after(ledger: Ledger, moment: float) -> float | None:
    with ledger.lock:
        return next((t for t in ledger.ack_times if t >= moment), None)


def _acks_between(ledger: Ledger, start: float, end: float) -> int:
    with ledger.lock:
        return sum(1 for t in ledger.ack_times if start <= t <= end)


def postgres_restart(stack: Stack, *, outage: float, pace: float) -> Result:
    """PostgreSQL crashes and comes back: 503 problem+json fast, recovery without a restart."""
    result = Result("PostgreSQL crashed (pg_ctl -m immediate) and restarted during load")
    ledger, stores = new_ledger(stack, 8)
    writers = run_writers(LoadPlan(writers=8, streams=8, events=10**9), ledger, stores)
    probe = ReadyProbe()
    probe.start()
    time.sleep(pace)
    with ledger.lock:
        failures_before = len(ledger.failures)
    stack.postgres.stop("immediate")
    # pg_ctl -w returns once the postmaster has exited: PostgreSQL is down from here (a /ready
    # that started while pg_ctl was still stopping it may rightly have answered 200).
    down = time.monotonic()
    result.tried.append(f"pg_ctl stop -m immediate at {len(ledger.acks)} acknowledged events; down for {outage:.0f} s")
    time.sleep(outage)
    up = time.monotonic()
    stack.postgres.start()
    result.tried.append("pg_ctl start (crash recovery); gunicorn, worker and beat left running")
    recovered = wait_until(lambda: _first_ack_after(ledger, up) is not None, 60, step=0.1)
    time.sleep(pace)
    wait_until(lambda: probe.first(200, up) is not None, READY_RECOVERY_SECONDS, step=0.1)
    stop_writers(writers)
    probe.stop_requested.set()
    probe.join()
    catch_up = wait_until(lambda: caught_up(stack, ledger), CATCH_UP_SECONDS)

    with ledger.lock:
        outage_failures = ledger.failures[failures_before:]
    ready_down = [(s, seconds, code) for t, s, seconds, code in probe.samples if down <= t < up]
    slow = [
        f"{status} {code} after {seconds:.1f} s" for status, seconds, code in outage_failures if seconds > HANG_SECONDS
    ]
    slow += [f"/ready {s} after {seconds:.1f} s" for s, seconds, _ in ready_down if seconds > HANG_SECONDS]
    result.check("/ready answered 503 while PostgreSQL was down", [] if probe.first(503, down) else ["never 503"])
    result.check(
        "every /ready answer while PostgreSQL was down: 503 database_unavailable",
        [
            f"/ready {s} {code}"
            for t, s, seconds, code in probe.samples
            if down <= t and t + seconds < up and (s, code) != (503, "database_unavailable")
        ],
    )
    result.check(f"no request hung (> {HANG_SECONDS:.0f} s) while PostgreSQL was down", slow)
    result.check(
        "ingest recovered without restarting the service", [] if recovered is not None else ["no ingest within 60 s"]
    )
    result.check(
        "/ready back to 200",
        []
        if probe.first(200, up)
        else [f"not 200 within {pace + READY_RECOVERY_SECONDS:.0f} s after ingest recovered"],
    )
    result.check(
        "commitments and projections caught up after the restart", [] if catch_up is not None else ["not caught up"]
    )
    check_streams(result, stack, ledger)
    codes = sorted({f"{status} {code}" for status, _, code in outage_failures})
    result.figures.update(
        outage_seconds=round(up - down, 1),
        ready_first_503_after_seconds=_since(probe.first(503, down), down),
        ready_max_seconds_while_down=round(max((s for _, s, _ in ready_down), default=0), 2),
        ingest_failures_while_down=len(outage_failures),
        ingest_failure_answers=codes,
        ingest_failure_max_seconds=round(max((s for _, s, _ in outage_failures), default=0), 2),
        ready_200_after_start_seconds=_since(probe.first(200, up), up),
        first_ack_after_start_seconds=_since(_first_ack_after(ledger, up), up),
        catch_up_after_load_seconds=catch_up,
        load_average=load_average(),
    )
    return result


def _fail_open_count() -> float:
    """``rate_limit_fail_open_total`` summed over reasons, from the merged /metrics of all workers."""
    from reliability.stack import ADMIN_KEY

    text = httpx.get(f"{BASE_URL}/metrics", headers={"Authorization": f"ApiKey {ADMIN_KEY}"}, timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("rate_limit_fail_open_total{")
    )


def redis_stop(stack: Stack, *, outage: float, pace: float) -> Result:
    """Redis disappears: ingest keeps working (limiter fails open); background work resumes after."""
    result = Result("Redis killed and restarted empty during load")
    ledger, stores = new_ledger(stack, 8)
    writers = run_writers(LoadPlan(writers=8, streams=8, events=10**9), ledger, stores)
    time.sleep(pace)
    fail_open_before = _fail_open_count()
    with ledger.lock:
        failures_before = len(ledger.failures)
    down = time.monotonic()
    stack.redis.stop()
    result.tried.append(f"redis-server killed (SIGKILL) at {len(ledger.acks)} acknowledged events; down {outage:.0f} s")
    time.sleep(outage)
    up = time.monotonic()
    fail_open_during = _fail_open_count() - fail_open_before
    stack.redis.start()
    result.tried.append("redis-server started again, empty (queued Celery messages are gone)")
    # Deployments run the worker and beat under a supervisor (compose: restart: unless-stopped).
    # Losing the broker while a message is unacknowledged can kill the Celery worker (kombu
    # 5.7.0 raises an "unrecoverable" AttributeError in restore_unacked): do what the
    # supervisor does, and say so.
    exited = [name for name in ("worker", "beat") if not stack.services[name].alive()]
    for name in exited:
        stack.start(name)
        result.tried.append(f"{name} had exited during the outage: restarted, as the supervisor would")
    time.sleep(pace)
    stop_writers(writers)
    with ledger.lock:
        outage_failures = ledger.failures[failures_before:]
    acked_while_down = _acks_between(ledger, down, up)
    catch_up = wait_until(lambda: caught_up(stack, ledger), CATCH_UP_SECONDS)
    result.check("ingest kept acknowledging while Redis was down", [] if acked_while_down else ["nothing acknowledged"])
    result.check(
        "no ingest request failed because Redis was down",
        [f"{status} {code}" for status, _, code in outage_failures],
    )
    result.check("the rate limiter failed open (rate_limit_fail_open_total grew)", [] if fail_open_during else ["no"])
    result.check(
        "commitments and projections resumed and caught up after Redis returned",
        [] if catch_up is not None else [f"not caught up within {CATCH_UP_SECONDS:.0f} s"],
    )
    check_streams(result, stack, ledger)
    result.figures.update(
        outage_seconds=round(up - down, 1),
        exited_during_outage=exited,
        requests_acknowledged_while_down=acked_while_down,
        rate_limit_fail_open_while_down=int(fail_open_during),
        catch_up_after_load_seconds=catch_up,
        load_average=load_average(),
    )
    return result
