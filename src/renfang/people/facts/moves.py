"""Moving what is known about a person to another one, for merges (by a person or by
``renfang resolve``): every time-valid fact and revision follows the records, retracted ones
too (they are history). Conflicts follow too, with their status: a conflict a street officer
settled, with a note, stays settled on the survivor. Population spells do not move: they are
derived from the residence and hukou facts, and the survivor's are rebuilt from all of its
facts (``spells_rebuild_for``), or the person would count twice in the figures.

``persons_merge`` is the whole merge of persons as the tables see it; who decided it, the
``PersonMerge`` record and the review queue are linkage's."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Sequence

from django.db import connection, models

from renfang.core import bulk
from renfang.core.writeguard import through_door
from renfang.people.facts.spells import spells_rebuild_for
from renfang.people.models import Conflict, ConflictStatus, Person
from renfang.stats.models import PopulationSpell

_CHUNK = 5000


def _fact_columns() -> list[tuple[str, str]]:
    """(table, column) of every foreign key to Person that holds facts about the person,
    found from the model registry so that a new app's facts move too."""
    from renfang.linkage.models import PersonMerge  # noqa: PLC0415
    from renfang.sources.models import SourceRecord  # noqa: PLC0415

    skipped: set[type[models.Model]] = {
        Person,
        PersonMerge,
        SourceRecord,
        Conflict,
        PopulationSpell,
    }
    found: list[tuple[str, str]] = []
    for relation in Person._meta.related_objects:
        model = relation.related_model
        if not relation.one_to_many or not isinstance(model, type) or model in skipped:
            continue
        field = relation.field
        assert isinstance(field, models.ForeignKey)
        found.append((bulk.table(model), field.column))
    return found


def facts_move(moves: Sequence[tuple[int, int]]) -> None:
    """Point the facts of each ``(merged, survivor)`` person at the survivor; drop the merged
    persons' population spells (the caller rebuilds the survivors')."""
    if not moves:
        return
    merged_ids = [merged for merged, _ in moves]
    for offset in range(0, len(merged_ids), _CHUNK):
        PopulationSpell.objects.filter(person_id__in=merged_ids[offset : offset + _CHUNK]).delete()
    _conflicts_move(moves)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, column in _fact_columns():
            if bulk.is_postgresql():
                cursor.execute(
                    f"UPDATE {quote(table)} SET {quote(column)} = m.survivor "  # noqa: S608
                    f"FROM unnest(%s::bigint[], %s::bigint[]) AS m(merged, survivor) "
                    f"WHERE {quote(table)}.{quote(column)} = m.merged",
                    [merged_ids, [survivor for _, survivor in moves]],
                )
            else:
                cursor.executemany(
                    f"UPDATE {quote(table)} SET {quote(column)} = %s "  # noqa: S608
                    f"WHERE {quote(column)} = %s",
                    [(survivor, merged) for merged, survivor in moves],
                )


# Which of two conflicts about the same field and record to keep: the one people decided.
_DECIDED: dict[str, int] = {
    ConflictStatus.SETTLED.value: 2,
    ConflictStatus.VISIT.value: 1,
    ConflictStatus.OPEN.value: 0,
}


def _conflicts_move(moves: Sequence[tuple[int, int]]) -> None:
    """The merged persons' conflicts go to the survivor as they are (status, note, who
    settled). Where the survivor already has one about the same field and record, one is
    kept: the more decided (settled, then sent for a visit), the survivor's on a tie. The
    survivor's golden refresh then settles or reopens them as the values say."""
    survivor_of = dict(moves)
    people = sorted({*survivor_of, *survivor_of.values()})
    rows: list[tuple[int, int, str, int, str]] = []
    for offset in range(0, len(people), _CHUNK):
        rows.extend(
            Conflict.objects.filter(person_id__in=people[offset : offset + _CHUNK]).values_list(
                "pk", "person_id", "field", "other_record_id", "status"
            )
        )
    by_key: dict[tuple[int, str, int], list[tuple[int, int, str]]] = defaultdict(list)
    for pk, person_id, field, other_record, status in rows:
        owner = survivor_of.get(person_id, person_id)
        by_key[(owner, field, other_record)].append((pk, person_id, status))
    dropped: list[int] = []
    moved: dict[int, list[int]] = defaultdict(list)
    for (owner, _field, _record), found in by_key.items():
        keep = max(found, key=lambda row: (_DECIDED.get(row[2], 0), row[1] == owner, -row[0]))
        dropped.extend(pk for pk, _, _ in found if pk != keep[0])
        if keep[1] != owner:
            moved[owner].append(keep[0])
    _delete(Conflict, dropped)
    for owner, pks in moved.items():
        for offset in range(0, len(pks), _CHUNK):
            Conflict.objects.filter(pk__in=pks[offset : offset + _CHUNK]).update(person_id=owner)


def _delete(model: type[models.Model], pks: list[int]) -> None:
    for offset in range(0, len(pks), _CHUNK):
        model._default_manager.filter(pk__in=pks[offset : offset + _CHUNK]).delete()


@through_door
def persons_merge(moves: Sequence[tuple[int, int]], now: datetime.datetime) -> None:
    """Merge each ``(merged, survivor)``: the merged person answers with the survivor's id
    (``merged_into``; an earlier merge into it follows to the survivor), its facts and
    conflicts are the survivor's, and the survivors' population spells are rebuilt."""
    if not moves:
        return
    for merged, survivor in moves:
        Person.objects.filter(pk=merged).update(merged_into_id=survivor, updated_at=now)
    for merged, survivor in moves:
        Person.objects.filter(merged_into_id=merged).update(merged_into_id=survivor)
    facts_move(moves)
    spells_rebuild_for({survivor for _, survivor in moves})
