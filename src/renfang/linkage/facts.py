"""Moving what is known about a person to another one, for merges (by a person or by
``renfang resolve``): every time-valid fact and revision follows the records, retracted ones
too (they are history). Conflicts are dropped instead: the golden refresh recomputes them for
the survivor."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models

from renfang.core import bulk
from renfang.people.models import Conflict, Person

_CHUNK = 5000


def _fact_columns() -> list[tuple[str, str]]:
    """(table, column) of every foreign key to Person that holds facts about the person,
    found from the model registry so that a new app's facts move too."""
    from renfang.linkage.models import PersonMerge  # noqa: PLC0415
    from renfang.sources.models import SourceRecord  # noqa: PLC0415

    skipped: set[type[models.Model]] = {Person, PersonMerge, SourceRecord, Conflict}
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
    """Point the facts of each ``(merged, survivor)`` person at the survivor."""
    if not moves:
        return
    merged_ids = [merged for merged, _ in moves]
    for offset in range(0, len(merged_ids), _CHUNK):
        Conflict.objects.filter(person_id__in=merged_ids[offset : offset + _CHUNK]).delete()
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
