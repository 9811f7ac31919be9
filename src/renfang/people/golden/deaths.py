"""A death in a golden record: the person's residence and hukou end on the day they died.

A death date reaches the golden record from the sources authoritative for it (data/golden.toml:
the police register, then health, then civil affairs). Whoever lived somewhere lived there up to
that day, and the hukou of the dead is deregistered (注销) as of that day: the open residence and
hukou facts (stored, or planned by the same refresh for a person first recorded now) end on it,
and facts that would begin after it are not written, so the area's figures and the pages stop
counting the person — a dead person is in no count after death, not even as 空挂户 (registered
here, whereabouts unknown). The change lines of the residence and the hukou go out with the
death (``exchange.events.classify`` folds them into the ``person.died`` event instead of
reporting a departure).

Every dead person of a chunk is planned, not only those whose death date is new: a refresh
finds nothing left to end for most, and ends what older writes left open (before issue 12 a
death did not end the hukou; ADR 0028). Planned after the chunk (``golden_refresh._write``),
with one query per fact table for the chunk's dead: a handful of persons in a refresh.
"""

from __future__ import annotations

import datetime
from typing import Any

from renfang.audit.services import field_change
from renfang.core import bulk
from renfang.core.changes import FieldChange
from renfang.houses.models import House
from renfang.people.facts.lines import hukou_value, residence_value
from renfang.people.golden.facts import Writes
from renfang.people.models import Hukou, Residence


def plan_deaths(
    writes: Writes, changes: dict[int, list[FieldChange]], died: dict[int, datetime.date]
) -> None:
    """End the residences and hukous of the dead on the day of death: the stored ones still
    open then (closed, or retracted when they begin after it) and the ones this refresh
    inserts for them (ended, or not written when they begin after it); each ended fact adds
    its change line to the person's changes. Nothing left open: nothing planned."""
    if not died:
        return
    _end_stored_residences(writes, changes, died)
    _end_stored_hukous(writes, changes, died)
    for model in (Residence, Hukou):
        _end_inserts(writes, model, changes, died)


def _end_stored_residences(
    writes: Writes, changes: dict[int, list[FieldChange]], died: dict[int, datetime.date]
) -> None:
    rows = bulk.select_in(
        Residence,
        ["person_id", "id", "valid_from", "valid_to", "division", "house_id"],
        "person",
        sorted(died),
    )
    house_ids = sorted({row[5] for row in rows if row[5] is not None})
    codes = dict(bulk.select_in(House, ["id", "house_code"], "id", house_ids)) if house_ids else {}
    _end_stored(
        writes,
        Residence,
        changes,
        died,
        [(*row[:4], residence_value(row[2], row[3], row[4], codes.get(row[5]))) for row in rows],
    )


def _end_stored_hukous(
    writes: Writes, changes: dict[int, list[FieldChange]], died: dict[int, datetime.date]
) -> None:
    """The hukou deregistered (注销) as of the day of death."""
    rows = bulk.select_in(
        Hukou,
        ["person_id", "id", "valid_from", "valid_to", "division", "household_type"],
        "person",
        sorted(died),
    )
    _end_stored(
        writes,
        Hukou,
        changes,
        died,
        [(*row[:4], hukou_value(row[2], row[3], row[4], row[5])) for row in rows],
    )


def _end_stored(
    writes: Writes,
    model: type,
    changes: dict[int, list[FieldChange]],
    died: dict[int, datetime.date],
    stored: list[tuple[int, int, datetime.date | None, datetime.date | None, dict[str, Any]]],
) -> None:
    """End the stored facts (person, id, from, to, change value) still open after the day of
    death. One this refresh already ends (a move, a new hukou) ends on the day of death
    instead, if later: its change line is the refresh's own."""
    name = "residence" if model is Residence else "hukou"
    retracted = set(writes.retracts[model])
    closing = dict(writes.closes[model])
    for person_id, fact_id, start, end, value in stored:
        day = died[person_id]
        if fact_id in retracted:
            continue
        planned = closing.get(fact_id)
        if planned is not None:
            if planned > day:
                writes.closes[model].remove((fact_id, planned))
                writes.end(model, (fact_id, start, end), day)
                writes.spells_for.add(person_id)
            continue
        if end is not None and end <= day:
            continue
        writes.end(model, (fact_id, start, end), day)
        new_end = day if start is None or start <= day else None
        changes[person_id].append(
            field_change(name, value, {**value, "to": new_end.isoformat()} if new_end else None)
        )
        writes.spells_for.add(person_id)


def _end_inserts(
    writes: Writes,
    model: type,
    changes: dict[int, list[FieldChange]],
    died: dict[int, datetime.date],
) -> None:
    """The facts this refresh inserts for the dead (rows: person_id, valid_from, valid_to, …):
    ended on the day of death; one that begins after it never held and is not written, nor is
    its change line (so a refresh that finds the same again writes nothing again)."""
    name = "residence" if model is Residence else "hukou"
    kept: list[tuple[Any, ...]] = []
    for row in writes.inserts[model]:
        person_id, start, end = row[0], row[1], row[2]
        death = died.get(person_id)
        if death is None or (end is not None and end <= death):
            kept.append(row)
            continue
        line = _insert_line(changes[person_id], name, start)
        if start is not None and start > death:
            if line is not None:
                old = line.get("old")
                if isinstance(old, dict) and old.get("to") is None:
                    # What the refresh ended to open this one ends on the day of death.
                    line["new"] = {**old, "to": death.isoformat()}
                else:
                    changes[person_id].remove(line)
            continue
        kept.append((person_id, start, death, *row[3:]))
        if line is not None:
            line["new"] = {**line["new"], "to": death.isoformat()}
    writes.inserts[model] = kept


def _insert_line(
    lines: list[FieldChange], name: str, start: datetime.date | None
) -> FieldChange | None:
    """The change line of the open fact inserted from ``start``."""
    wanted = start.isoformat() if start else None
    for line in lines:
        new = line.get("new")
        if (
            line.get("field") == name
            and isinstance(new, dict)
            and new.get("from") == wanted
            and new.get("to") is None
        ):
            return line
    return None
