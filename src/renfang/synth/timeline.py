"""Where a household lived, spell by spell: houses in the district, or only a division.

A stay is ``(first day, last day or None while still there, residence division, house
code)``. Stays follow each other without gaps, so a person's register rows never overlap.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from renfang.synth.addresses import HouseClass
from renfang.synth.houses import SHARED, HouseStock
from renfang.synth.places import Geography
from renfang.synth.sampling import years

# A stay in the district has a placeholder for its house (and no division) until houses
# are packed.
Stay = tuple[int, int | None, str, str]
_MAX_STAYS = 40
_MIN_STAY = 20  # days: even a short-term let lasts a few weeks


class Timelines:
    def __init__(
        self,
        rng: random.Random,
        stock: HouseStock,
        geography: Geography,
        *,
        as_of: int,
        window_start: int,
    ) -> None:
        self.rng = rng
        self.stock = stock
        self.geography = geography
        self.as_of = as_of
        # The register's history begins here: moves before it are not known, so a stay
        # that began earlier runs unbroken to the first move after it.
        self.window_start = window_start

    def in_district(
        self,
        start: int,
        end: int | None,
        mean_stay_years: float,
        house_class: Callable[[], HouseClass],
    ) -> list[Stay]:
        """Stays in houses of the district from ``start`` to ``end`` (None: still there),
        moving house after stays of exponential length."""
        rng = self.rng
        stock = self.stock
        stop = self.as_of if end is None else end
        rate = 1 / years(mean_stay_years)
        stays: list[Stay] = []
        begin = start
        previous: HouseClass | None = None
        while True:
            cls = house_class()
            while cls == previous and cls in SHARED:
                # Beds of one kind are packed together: a move must change the kind, or the
                # next bed could be in the same house.
                cls = house_class()
            previous = cls
            move = max(begin, self.window_start) + _MIN_STAY + int(rng.expovariate(rate))
            if move > stop or len(stays) == _MAX_STAYS:
                stays.append((begin, end, "", stock.stay(cls, begin, end)))
                return stays
            stays.append((begin, move - 1, "", stock.stay(cls, begin, move - 1)))
            begin = move

    def elsewhere(self, start: int, end: int | None) -> Stay:
        """Living in another district of the city: known only to the street."""
        return (start, end, self.geography.street_elsewhere(self.rng), "")

    @staticmethod
    def unknown(start: int, end: int | None) -> Stay:
        """Whereabouts unknown (空挂): no residence division at all."""
        return (start, end, "", "")
