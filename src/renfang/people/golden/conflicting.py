"""Conflicts between a golden value and the other sources, as the golden refresh finds them:
opened once per (person, field, other record); opened again when the values change after
someone settled it; settled by themselves when the values come to agree or the record leaves
the person. Settling by a person is ``renfang.people.conflicts``."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from renfang.core.changes import FieldChange
from renfang.people.golden.records import Pick, Record
from renfang.people.golden.values import agree
from renfang.people.models import ConflictStatus

_CONFLICT_WIDTH = 300


@dataclass
class ConflictWrites:
    """What a chunk of a refresh writes to the conflicts, and what it needs to know."""

    fields: frozenset[str]  # the policy's conflict fields
    now: datetime.datetime
    agreed_note: str
    gone_note: str
    new: list[tuple[Any, ...]] = field(default_factory=list)  # rows of CONFLICT_INSERT
    # (id, golden_value, golden_source, other_value, status, note, settled_by_id, settled_at)
    updates: list[tuple[Any, ...]] = field(default_factory=list)


# (id, field, other_record_id, status, golden_value, golden_source, other_value, note,
#  settled_by_id, settled_at)
CONFLICT_FIELDS = [
    "id",
    "field",
    "other_record_id",
    "status",
    "golden_value",
    "golden_source",
    "other_value",
    "note",
    "settled_by_id",
    "settled_at",
]


def _conflict_line(name: str, old: Any, new: Any) -> FieldChange:
    return {"field": f"conflict.{name}", "old": old, "new": new}


def plan_conflicts(
    writes: ConflictWrites,
    person_id: int,
    *,
    picks: dict[str, Pick],
    records: list[Record],
    stored: list[tuple[Any, ...]],
) -> list[FieldChange]:
    """Another record whose value of a conflict field differs from the golden value is a
    conflict: opened once; reopened when the values change after it was settled; settled
    automatically when the values agree again (or the record left the person)."""
    if len(records) < 2 and not stored:
        return []  # one record cannot disagree with itself
    wanted: dict[tuple[str, int], tuple[str, str, str, str]] = {}
    fields = writes.fields
    for record in records:
        for name, value in record.values.items():
            if name not in fields:
                continue
            pick = picks.get(name)
            if pick is None or pick.record is record or agree(name, pick.value, value):
                continue
            if name == "id_number" and _another_document(picks, record):
                continue
            wanted[(name, record.pk)] = (
                pick.value[:_CONFLICT_WIDTH],
                pick.record.source,
                value[:_CONFLICT_WIDTH],
                record.source,
            )
    by_key = {(row[1], row[2]): row for row in stored}
    changes = []
    for (name, record_pk), (
        golden_value,
        golden_source,
        other_value,
        other_source,
    ) in wanted.items():
        row = by_key.pop((name, record_pk), None)
        shown = {"source": other_source, "value": other_value, "golden_source": golden_source}
        if row is None:
            writes.new.append(
                (
                    person_id,
                    name,
                    golden_value,
                    golden_source,
                    other_value,
                    other_source,
                    record_pk,
                    ConflictStatus.OPEN.value,
                    "",
                    writes.now,
                )
            )
            changes.append(_conflict_line(name, None, {**shown, "status": ConflictStatus.OPEN}))
            continue
        if (row[4], row[5], row[6]) == (golden_value, golden_source, other_value):
            continue  # as it was: open, sent for a visit, or settled by someone
        status, note, settled_by, settled_at = row[3], row[7], row[8], row[9]
        if status == ConflictStatus.SETTLED:  # a new disagreement: open again
            status, note, settled_by, settled_at = ConflictStatus.OPEN.value, "", None, None
        writes.updates.append(
            (row[0], golden_value, golden_source, other_value, status, note, settled_by, settled_at)
        )
        changes.append(
            _conflict_line(
                name,
                {"value": row[6], "golden_value": row[4], "status": row[3]},
                {**shown, "golden_value": golden_value, "status": status},
            )
        )
    belongs = {record.pk for record in records}
    agreed = [row for row in by_key.values() if row[2] in belongs]
    gone = [row for row in by_key.values() if row[2] not in belongs]
    changes += settle_open(writes, agreed, writes.agreed_note)
    changes += settle_open(writes, gone, writes.gone_note)
    return changes


def _another_document(picks: dict[str, Pick], record: Record) -> bool:
    """Whether the record's ID number is of another kind of document than the golden one (a
    passport beside a resident ID, a department's own person number): no contradiction."""
    golden_type = picks["id_type"].value if "id_type" in picks else ""
    other_type = record.values.get("id_type", "")
    return bool(golden_type and other_type and golden_type != other_type)


def settle_open(
    writes: ConflictWrites, stored: list[tuple[Any, ...]], note: str
) -> list[FieldChange]:
    """Settle the open (or sent for a visit) conflicts among ``stored``, with ``note``."""
    changes = []
    for row in stored:
        if row[3] == ConflictStatus.SETTLED:
            continue
        writes.updates.append(
            (row[0], *row[4:7], ConflictStatus.SETTLED.value, note[:300], None, writes.now)
        )
        changes.append(
            _conflict_line(
                row[1],
                {"value": row[6], "status": row[3]},
                {"value": row[6], "status": ConflictStatus.SETTLED, "note": note},
            )
        )
    return changes
