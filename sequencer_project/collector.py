"""Python's garbage collector in the long-running processes: the started heap left out of it.

A started Django process holds a few hundred thousand objects (modules, settings, URL tables)
that live as long as it does. With Python's defaults, a collection of the oldest generation walks
all of them, and requests that make thousands of short-lived objects (a 100-event batch, a
projection batch) trigger such collections over and over. Each Celery worker process
(``sequencer_project.celery``) and each web process (``sequencer_project.wsgi``) calls
:func:`leave_started_heap_out` once it has imported what it serves (docs/performance.md, "The
worker's garbage collector" and "The web's garbage collector").
"""

from __future__ import annotations

import gc


def leave_started_heap_out(gen0_threshold: int) -> None:
    """Freeze the objects alive now (``gc.freeze``) and collect the youngest generation every
    ``gen0_threshold`` allocations instead of Python's 700; ``0`` leaves the collector as it is.
    Cycles made later are still collected."""
    if gen0_threshold <= 0:
        return
    gc.collect()  # what is already garbage is not frozen with the rest
    gc.freeze()
    gc.set_threshold(gen0_threshold, *gc.get_threshold()[1:])
