"""The person a published record names: the holder of its valid resident ID (rule ``id``, as
``renfang resolve`` would link it), else a person of its own (``singleton``) until the next
``renfang resolve`` looks at it with every other record (ADR 0014, "Incremental publish")."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from renfang.linkage.normalize import id_key
from renfang.people.facts import person_placeholder
from renfang.people.models import IdType, Person
from renfang.sources.models import LinkRule, SourceRecord


def _person_for(record: SourceRecord, now: datetime.datetime) -> tuple[int, str, dict[str, Any]]:
    """The person a new record is: the holder of its valid resident ID, else a new one."""
    mapped = record.mapped if isinstance(record.mapped, dict) else {}
    key = id_key(str(mapped.get("id_type") or ""), str(mapped.get("id_number") or ""))
    if key.valid_resident_id:
        holder = (
            Person.objects.filter(
                id_type=IdType.RESIDENT_ID, id_number=key.number, merged_into__isnull=True
            )
            .values_list("pk", flat=True)
            .first()
        )
        if holder is not None:
            return holder, LinkRule.ID_NUMBER, {"rule": "id", "published": True}
    # Known to nobody yet: a person of its own; the golden refresh fills in who they are.
    return person_placeholder().pk, LinkRule.SINGLETON, {"rule": "singleton", "published": True}


def _holder(mapped: Mapping[str, Any]) -> int | None:
    """The person holding the record's valid resident ID, if anyone does."""
    key = id_key(str(mapped.get("id_type") or ""), str(mapped.get("id_number") or ""))
    if not key.valid_resident_id:
        return None
    found: int | None = (
        Person.objects.filter(
            id_type=IdType.RESIDENT_ID, id_number=key.number, merged_into__isnull=True
        )
        .values_list("pk", flat=True)
        .first()
    )
    return found
