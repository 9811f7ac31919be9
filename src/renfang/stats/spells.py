"""Cutting a person's residence and hukou facts into population spells (a pure function)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import NamedTuple

_MIN = datetime.date.min
_MAX = datetime.date.max


class Interval(NamedTuple):
    """A fact's validity and its division. ``start``/``end`` None: unknown start / still holds."""

    start: datetime.date | None
    end: datetime.date | None
    division: str | None


class Spell(NamedTuple):
    valid_from: datetime.date | None
    valid_to: datetime.date | None
    residence_division: str | None
    hukou_division: str | None


def _until(intervals: Sequence[Interval], last_day: datetime.date) -> list[Interval]:
    """The intervals as they hold up to ``last_day`` (none after it)."""
    return [
        interval._replace(
            end=last_day if interval.end is None or interval.end > last_day else interval.end
        )
        for interval in intervals
        if interval.start is None or interval.start <= last_day
    ]


def _on(intervals: Sequence[Interval], day: datetime.date) -> Interval | None:
    for interval in intervals:
        if (interval.start or _MIN) <= day <= (interval.end or _MAX):
            return interval
    return None


def build_spells(
    residences: Sequence[Interval],
    hukous: Sequence[Interval],
    *,
    died: datetime.date | None = None,
) -> list[Spell]:
    """The days on which a person is in the register — lives somewhere known or unknown, or
    holds a hukou — cut wherever the residence division or the hukou division changes.

    Days with a hukou but no residence are spells of unknown whereabouts (空挂 when the hukou
    is in the area); days with neither are not in the register at all. A fact with no first
    day holds since always (ADR 0028). The dead are in no count after the day of death
    (``died``): their facts end then, even where an older write left them open.
    """
    if died is not None:
        residences, hukous = _until(residences, died), _until(hukous, died)
    if not residences and not hukous:
        return []
    cuts: set[datetime.date] = set()
    for interval in (*residences, *hukous):
        cuts.add(interval.start or _MIN)
        if interval.end is not None and interval.end < _MAX:
            cuts.add(interval.end + datetime.timedelta(days=1))
    points = sorted(cuts)
    spells: list[Spell] = []
    for index, start in enumerate(points):
        end = points[index + 1] - datetime.timedelta(days=1) if index + 1 < len(points) else _MAX
        residence = _on(residences, start)
        hukou = _on(hukous, start)
        if residence is None and hukou is None:
            continue
        residence_division = residence.division if residence else None
        hukou_division = hukou.division if hukou else None
        previous = spells[-1] if spells else None
        if (
            previous is not None
            and previous.valid_to is not None
            and previous.valid_to + datetime.timedelta(days=1) == start
            and previous.residence_division == residence_division
            and previous.hukou_division == hukou_division
        ):
            spells[-1] = previous._replace(valid_to=None if end == _MAX else end)
            continue
        spells.append(
            Spell(
                valid_from=None if start == _MIN else start,
                valid_to=None if end == _MAX else end,
                residence_division=residence_division,
                hukou_division=hukou_division,
            )
        )
    return spells
