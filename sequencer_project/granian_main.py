"""granian as deployed (``scripts/web.sh``, ``WEB_SERVER=granian``): its command line, run after
the objects the web processes share are made.

granian starts its workers with multiprocessing's start method, ``fork`` on Linux, so what its
main process makes first its workers share, as gunicorn's workers share what its master makes
in ``on_starting`` (``docker/gunicorn.conf.py``): the stream heads the optimistic append guesses
from and the turns on a contended stream (ADR 0038).
"""

from __future__ import annotations

from granian.cli import entrypoint

from streams import head_hints, turns


def main() -> None:
    head_hints.SHARED.make_now()
    turns.SHARED.make_now()
    entrypoint()  # type: ignore[no-untyped-call]  # a click command, untyped


if __name__ == "__main__":
    main()
