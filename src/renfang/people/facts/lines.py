"""The values a residence or a hukou fact takes in a change line (the audit's and the feed's):
its first and last day as ISO dates (None: an unknown day, or open) and what it holds."""

from __future__ import annotations

import datetime
from typing import Any


def _day(day: datetime.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def residence_value(
    start: datetime.date | None, end: datetime.date | None, division: str | None, house: str | None
) -> dict[str, Any]:
    """A residence fact; ``house`` is the house's code (an auditor knows a house by it)."""
    return {"from": _day(start), "to": _day(end), "division": division, "house": house}


def hukou_value(
    start: datetime.date | None, end: datetime.date | None, division: str, household_type: str
) -> dict[str, Any]:
    """A hukou fact."""
    return {
        "from": _day(start),
        "to": _day(end),
        "division": division,
        "household_type": household_type,
    }
