"""Population spells (stats.PopulationSpell): the cut of a person's residence and hukou facts
into the intervals the statistics count (ADR 0004, ADR 0008), rebuilt one way only: from the
person's current facts, by ``stats.spells.build_spells``, whenever the door changes them."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import connection

from renfang.core import bulk
from renfang.core.writeguard import through_door
from renfang.people.categories import is_overseas
from renfang.people.models import Hukou, Person, Residence
from renfang.stats.models import PopulationSpell
from renfang.stats.spells import Interval, build_spells

_CHUNK = 5000
SPELL_COLUMNS = [
    "person_id",
    "valid_from",
    "valid_to",
    "residence_division",
    "hukou_division",
    "overseas",
]


def _start_key(interval: Interval) -> tuple[int, str]:
    return (interval.start.toordinal() if interval.start else 0, interval.division or "")


def spell_rows(
    person_id: int,
    overseas: bool,
    residences: Sequence[Interval],
    hukous: Sequence[Interval],
    died: datetime.date | None = None,
) -> list[tuple[object, ...]]:
    """The population spells of one person, as rows of ``SPELL_COLUMNS`` (the dead are in
    none after the day of death)."""
    return [
        (
            person_id,
            spell.valid_from,
            spell.valid_to,
            spell.residence_division,
            spell.hukou_division,
            overseas,
        )
        for spell in build_spells(
            sorted(residences, key=_start_key), sorted(hukous, key=_start_key), died=died
        )
    ]


def spells_rebuild(overseas: Mapping[int, bool]) -> int:
    """Rebuild the population spells of these people (person id → overseas) from their
    current residence and hukou facts. Returns how many spells were written."""
    ids = sorted(overseas)
    written = 0
    for offset in range(0, len(ids), _CHUNK):
        chunk = ids[offset : offset + _CHUNK]
        residences: dict[int, list[Interval]] = defaultdict(list)
        hukous: dict[int, list[Interval]] = defaultdict(list)
        for person_id, start, end, division in bulk.select_in(
            Residence, ["person_id", "valid_from", "valid_to", "division"], "person", chunk
        ):
            residences[person_id].append(Interval(start, end, division or None))
        for person_id, start, end, division in bulk.select_in(
            Hukou, ["person_id", "valid_from", "valid_to", "division"], "person", chunk
        ):
            hukous[person_id].append(Interval(start, end, division or None))
        died = {
            person_id: day
            for person_id, day in bulk.select_in(Person, ["id", "death_date"], "id", chunk)
            if day is not None
        }
        _delete_spells(chunk)
        written += _insert_spells(chunk, overseas, residences, hukous, died)
    return written


def _insert_spells(
    person_ids: Iterable[int],
    overseas: Mapping[int, bool],
    residences: Mapping[int, list[Interval]],
    hukous: Mapping[int, list[Interval]],
    died: Mapping[int, datetime.date],
) -> int:
    """The persons' spells cut from their facts (``spell_rows``), inserted."""
    return bulk.insert(
        PopulationSpell,
        SPELL_COLUMNS,
        (
            row
            for person_id in person_ids
            for row in spell_rows(
                person_id,
                overseas[person_id],
                residences.get(person_id, []),
                hukous.get(person_id, []),
                died.get(person_id),
            )
        ),
    )


def spells_of_new(
    overseas: Mapping[int, bool],
    residences: Iterable[Sequence[Any]],
    hukous: Iterable[Sequence[Any]],
    died: Mapping[int, datetime.date],
) -> int:
    """The population spells of persons who had no facts before this transaction (a refresh
    that inserts them: ``golden_refresh(new=…)``), from the facts written for them, as rows
    of ``FACT_INSERT`` (person_id, valid_from, valid_to, division, …): no fact to read back,
    no spell to delete. Returns how many spells were written."""
    residence_of: dict[int, list[Interval]] = defaultdict(list)
    hukou_of: dict[int, list[Interval]] = defaultdict(list)
    for intervals, rows in ((residence_of, residences), (hukou_of, hukous)):
        for row in rows:
            if row[0] in overseas:
                intervals[row[0]].append(Interval(row[1], row[2], row[3] or None))
    return _insert_spells(sorted(overseas), overseas, residence_of, hukou_of, died)


def _delete_spells(person_ids: list[int]) -> None:
    """The persons' spells, deleted (PostgreSQL: the ids as one array, not thousands of
    parameters)."""
    if not bulk.is_postgresql():
        PopulationSpell.objects.filter(person_id__in=person_ids).delete()
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{bulk.table(PopulationSpell)}" '  # noqa: S608 (the model's table)
            "WHERE person_id = ANY(%s::bigint[])",
            [bulk.int_array(person_ids)],
        )


@through_door
def spells_rebuild_for(person_ids: Iterable[int]) -> int:
    """Rebuild the population spells of these persons (merged ones have none: their facts
    went to the survivor); returns the spells written."""
    overseas: dict[int, bool] = {}
    ids = sorted(set(person_ids))
    for offset in range(0, len(ids), _CHUNK):
        chunk = ids[offset : offset + _CHUNK]
        PopulationSpell.objects.filter(
            person_id__in=chunk, person__merged_into__isnull=False
        ).delete()
        for pk, id_type, nationality in Person.objects.filter(
            pk__in=chunk, merged_into__isnull=True
        ).values_list("pk", "id_type", "nationality"):
            overseas[pk] = is_overseas(id_type or "", nationality or "")
    return spells_rebuild(overseas) if overseas else 0
