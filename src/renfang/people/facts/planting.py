"""For tests only: plant a state of the door's tables that no path of renfang writes by itself
(a provenance typed by hand, population spells without the facts they come from, a whole
database wiped between transactional tests). ``with by_hand(): …`` opens the door for the
block, visibly; production code never imports this module (``test_one_door.py`` says so)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from renfang.core import writeguard


@contextmanager
def by_hand() -> Iterator[None]:
    with writeguard.door():
        yield
