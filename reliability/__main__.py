"""``python -m reliability [--full] [--only NAME ...]``: run the reliability scenarios and print
what was tried and what survived (docs/reliability.md). Exit status 1 when a property failed.

The quick form (CI, ``make reliability``) runs every scenario with fewer events; ``--full`` runs
the full sizes of docs/reliability.md (20,000 events per writer scenario).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from reliability import faults, scenarios
from reliability.scenarios import Result
from reliability.stack import Stack, running_stack

# Events per writer scenario; seconds between crash/fault steps; seconds a dependency stays down.
SIZES = {
    "quick": {"writer_events": 2_000, "pace": 2.0, "outage": 6.0},
    "full": {"writer_events": 20_000, "pace": 8.0, "outage": 20.0},
}


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _print(result: Result) -> None:
    _say(f"\n== {result.name}: {'SURVIVED' if result.ok else 'FAILED'}")
    for line in result.tried:
        _say(f"   tried: {line}")
    for name, violations in result.properties:
        _say(f"   [{'ok' if not violations else 'FAIL'}] {name}: {len(violations)} violations")
        for violation in violations[:5]:
            _say(f"          {violation}")
    _say("   figures: " + ", ".join(f"{key}={value}" for key, value in result.figures.items()))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability", description=__doc__)
    parser.add_argument("--full", action="store_true", help="the full sizes (slow: tens of minutes)")
    parser.add_argument("--only", nargs="*", default=None, help="scenario names: writers crashes postgres redis")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs) afterwards")
    args = parser.parse_args()
    size = SIZES["full" if args.full else "quick"]
    events = int(size["writer_events"])
    plan: dict[str, Callable[[Stack], list[Result]]] = {
        "writers": lambda s: [
            scenarios.concurrent_writers(s, streams=1, events=events),
            scenarios.concurrent_writers(s, streams=64, events=events),
        ],
        "crashes": lambda s: [scenarios.crashes(s, pace=size["pace"])],
        "postgres": lambda s: [faults.postgres_restart(s, outage=size["outage"], pace=size["pace"])],
        "redis": lambda s: [faults.redis_stop(s, outage=size["outage"], pace=size["pace"])],
    }
    chosen = args.only or list(plan)
    started = time.monotonic()
    _say(f"reliability ({'full' if args.full else 'quick'} form): {', '.join(chosen)}")
    results: list[Result] = []
    with running_stack(keep=args.keep) as stack:
        _say(f"stack up in {stack.workdir}: PostgreSQL :5440, Redis :6390, gunicorn :8140, Celery worker, beat")
        for name in chosen:
            for result in plan[name](stack):
                _print(result)
                results.append(result)
    failed = [r.name for r in results if not r.ok]
    _say(
        f"\n{len(results) - len(failed)} of {len(results)} scenarios survived in {time.monotonic() - started:.0f} s"
        + (f"; FAILED: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
