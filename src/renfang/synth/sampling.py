"""Weighted choice and dates as day numbers: the small tools every generator module shares.

Dates are proleptic ordinals (``datetime.date.toordinal``) while generating, because the
generator does arithmetic on millions of them; they become ISO text only when written.
"""

from __future__ import annotations

import datetime
import random
from bisect import bisect
from collections.abc import Mapping, Sequence
from itertools import accumulate
from typing import Generic, TypeVar

T = TypeVar("T")

DAYS_PER_YEAR = 365.25


class Weighted(Generic[T]):
    """A fixed weighted list to draw from many times (cumulative weights, bisect)."""

    __slots__ = ("_cumulative", "_items", "_total")

    def __init__(self, items: Sequence[T], weights: Sequence[float]) -> None:
        if not items or len(items) != len(weights):
            raise ValueError("a weighted list needs items and one weight each")
        self._items = list(items)
        self._cumulative = list(accumulate(weights))
        self._total = self._cumulative[-1]

    @classmethod
    def of(cls, table: Mapping[T, float]) -> Weighted[T]:
        return cls(list(table), list(table.values()))

    def draw(self, rng: random.Random) -> T:
        index = bisect(self._cumulative, rng.random() * self._total)
        return self._items[min(index, len(self._items) - 1)]

    @property
    def items(self) -> list[T]:
        return self._items


def ordinal(year: int, month: int = 1, day: int = 1) -> int:
    return datetime.date(year, month, day).toordinal()


def years(count: float) -> int:
    """A duration of ``count`` years in days."""
    return round(count * DAYS_PER_YEAR)


def birth_for_age(rng: random.Random, on: int, low: float, high: float) -> int:
    """A birth day such that the person is between ``low`` and ``high`` years old on ``on``."""
    return on - rng.randint(years(low), max(years(low), years(high) - 1))


def between(rng: random.Random, first: int, last: int) -> int:
    """A day from ``first`` to ``last`` inclusive (``first`` when the range is empty)."""
    return first if last <= first else rng.randint(first, last)


def recent_day(rng: random.Random, first: int, last: int, bias: float = 0.8) -> int:
    """A day from ``first`` to ``last``, more likely late than early (``bias`` below 1), the
    way departures grow with a district's migrant population."""
    if last <= first:
        return first
    return first + int((last - first) * rng.random() ** bias)


class DateText:
    """ISO text of day numbers, cached: a district has tens of thousands of distinct days."""

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[int, str] = {}

    def __call__(self, day: int) -> str:
        text = self._cache.get(day)
        if text is None:
            text = datetime.date.fromordinal(day).isoformat()
            self._cache[day] = text
        return text
