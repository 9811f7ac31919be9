"""A death in a golden record: the person's residence ends on the day they died.

A death date reaches the golden record from the sources authoritative for it (data/golden.toml:
the police register, then health, then civil affairs). Whoever lived somewhere lived there up to
that day: the open residence spell (stored, or planned by the same refresh for a person first
recorded now) ends on it, so the area's figures and the pages stop counting the person, and the
change line of the residence goes out with the death (``exchange.events.classify`` folds a
closing residence into the ``person.died`` event instead of reporting a departure).

Planned after the chunk (``golden_refresh._write``), with one query for the chunk's dead: a
handful of persons in a refresh, none in most.
"""

from __future__ import annotations

import datetime
from typing import Any

from renfang.audit.services import field_change
from renfang.core import bulk
from renfang.houses.models import House
from renfang.people.golden.facts import Writes
from renfang.people.golden.values import parse_day
from renfang.people.models import Residence


def deaths_in(changes: dict[int, list[dict[str, Any]]]) -> dict[int, datetime.date]:
    """The persons whose golden death date was set (or moved) by these changes."""
    died: dict[int, datetime.date] = {}
    for person_id, lines in changes.items():
        for line in lines:
            if line.get("field") == "death_date" and line.get("new"):
                day = parse_day(str(line["new"]))
                if day is not None:
                    died[person_id] = day
    return died


def _value(
    start: datetime.date | None, end: datetime.date | None, division: str | None, house: str | None
) -> dict[str, Any]:
    return {
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "division": division,
        "house": house,
    }


def plan_deaths(
    writes: Writes, changes: dict[int, list[dict[str, Any]]], died: dict[int, datetime.date]
) -> None:
    """End the residences of the dead on the day of death: the stored ones still open then
    (closed, or retracted when they begin after it) and the ones this refresh inserts for
    them; each ended residence adds its change line to the person's changes."""
    if not died:
        return
    ended = {fact_id for fact_id, _day in writes.closes[Residence]} | set(
        writes.retracts[Residence]
    )
    stored = [
        row
        for row in bulk.select_in(
            Residence,
            ["person_id", "id", "valid_from", "valid_to", "division", "house_id"],
            "person",
            sorted(died),
        )
        if row[1] not in ended
    ]
    house_ids = sorted({row[5] for row in stored if row[5] is not None})
    codes = dict(bulk.select_in(House, ["id", "house_code"], "id", house_ids)) if house_ids else {}
    for person_id, fact_id, start, end, division, house_id in stored:
        day = died[person_id]
        if end is not None and end <= day:
            continue
        house = codes.get(house_id)
        writes.end(Residence, (fact_id, start, end), day)
        new_end = day if start is None or start <= day else None
        changes[person_id].append(
            field_change(
                "residence",
                _value(start, end, division, house),
                _value(start, new_end, division, house) if new_end else None,
            )
        )
        writes.spells_for.add(person_id)
    inserts = writes.inserts[Residence]
    for index, row in enumerate(inserts):
        person_id, start, end = row[0], row[1], row[2]
        death = died.get(person_id)
        if death is None or (end is not None and end <= death) or start > death:
            continue
        inserts[index] = (person_id, start, death, *row[3:])
        for line in changes[person_id]:
            new = line.get("new")
            if (
                line.get("field") == "residence"
                and isinstance(new, dict)
                and new.get("from") == start.isoformat()
                and new.get("to") is None
            ):
                line["new"] = {**new, "to": death.isoformat()}
