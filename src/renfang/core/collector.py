"""Python's cyclic garbage collector, kept calm while a bulk job runs.

A bulk job (a golden refresh, the check of a register file) makes millions of small objects
that die by reference counting, and almost no cycles; the cyclic collector, run every 700
allocations and scanning the whole heap every so often, took a sixth of a refresh's time and a
third of a register check's. It is off for the job (the peak memory stays what it was) and on
again after, whichever thread started a job first or ended last: one collector per process.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_calm_lock = threading.Lock()
_calm_depth = 0
_calm_was_on = True


@contextmanager
def collector_calm() -> Iterator[None]:
    global _calm_depth, _calm_was_on  # noqa: PLW0603 (one collector per process)
    with _calm_lock:
        if _calm_depth == 0:
            _calm_was_on = gc.isenabled()
            gc.disable()
        _calm_depth += 1
    try:
        yield
    finally:
        with _calm_lock:
            _calm_depth -= 1
            if _calm_depth == 0 and _calm_was_on:
                gc.enable()
