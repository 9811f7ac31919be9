"""Reads of linkage: the review queue of a user's area, one pair, where a merged-away person
went, and the links of every source record as a CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from renfang.audit.models import Action
from renfang.audit.services import PERSON_IDS, SYSTEM, User, audit_record
from renfang.core import bulk
from renfang.core.spreadsheets import csv_writer
from renfang.linkage.models import ReviewPair
from renfang.people.models import Person
from renfang.people.selectors import people_visible_to
from renfang.sources.models import Source, SourceRecord

_MAX_CHAIN = 100  # merges of merges: far more than ever happen


def _visible_q(user: User) -> Q:
    """Pairs both of whose records belong to persons the user may see (a record not linked
    to anyone yet says nothing against it, but one side must be linked). A pair that
    straddles two areas is for a level that sees both (the street, the district): a street
    officer must not see, or merge into one of theirs, a record of another street's person."""
    visible = people_visible_to(user)
    left_ok = Q(left__person_id__isnull=True) | Q(
        Exists(visible.filter(pk=OuterRef("left__person_id")))
    )
    right_ok = Q(right__person_id__isnull=True) | Q(
        Exists(visible.filter(pk=OuterRef("right__person_id")))
    )
    linked = Q(left__person_id__isnull=False) | Q(right__person_id__isnull=False)
    return left_ok & right_ok & linked


def review_pairs_for_user(user: User, status: str | None = "open") -> QuerySet[ReviewPair]:
    """The review queue of the user's area, most likely pairs first (``status`` None: all)."""
    pairs = ReviewPair.objects.filter(_visible_q(user))
    if status is not None:
        pairs = pairs.filter(status=status)
    return pairs.select_related("left__source", "right__source").order_by("-probability", "pk")


def review_pair_get_for_user(user: User, pk: int) -> ReviewPair:
    """One pair with both records, the read audited. Raises ``ReviewPair.DoesNotExist`` for
    a missing pair and for one outside the user's area alike (the second audited as denied)."""
    try:
        pair = (
            ReviewPair.objects.filter(_visible_q(user))
            .select_related("left__source", "right__source")
            .get(pk=pk)
        )
    except ReviewPair.DoesNotExist:
        if ReviewPair.objects.filter(pk=pk).exists():
            audit_record(
                Action.DENIED,
                user=user,
                record_type="review_pair",
                record_id=pk,
                detail={"reason": "outside the user's area"},
            )
        raise
    audit_record(
        Action.READ,
        user=user,
        record_type="review_pair",
        record_id=pair.pk,
        detail={
            "persons": [pair.left.person_id, pair.right.person_id],
            PERSON_IDS: [p for p in (pair.left.person_id, pair.right.person_id) if p is not None],
        },
    )
    return pair


def pair_weight(weights: dict[str, Any], field: str) -> tuple[float | None, str]:
    """The match weight and comparison level a review pair's comparison of ``field`` reached,
    from the pair's ``weights`` (``{field: {"weight", "level"}}``, or a bare weight as early
    runs wrote them); (None, "") when the pair has none for it."""
    entry = weights.get(field)
    if isinstance(entry, dict):
        weight = entry.get("weight")
        level = str(entry.get("level") or "")
        return (float(weight) if isinstance(weight, int | float) else None), level
    if isinstance(entry, int | float):
        return float(entry), ""
    return None, ""


def person_resolve_merged(person_id: int) -> int:
    """The person that ``person_id`` is now: itself, or the survivor it was merged into
    (following merges of merges)."""
    current = person_id
    for _ in range(_MAX_CHAIN):
        merged_into = (
            Person.objects.filter(pk=current).values_list("merged_into_id", flat=True).first()
        )
        if merged_into is None:
            return current
        current = merged_into
    return current


def links_export(path: Path, *, actor: User | None = None) -> int:
    """Write ``source,record_id,person_id`` for every source record (the person a merged-away
    person went to; empty when not linked yet); returns the rows written. Audited."""
    survivors = _survivors()
    record, source = bulk.table(SourceRecord), bulk.table(Source)
    sql = (
        f'SELECT s."code", r."record_id", r."person_id" FROM "{record}" r '  # noqa: S608
        f'JOIN "{source}" s ON s."id" = r."source_id" ORDER BY s."code", r."record_id"'
    )
    written = 0
    with path.open("w", encoding="utf-8", newline="") as out, connection.cursor() as cursor:
        writer = csv_writer(out)
        writer.writerow(["source", "record_id", "person_id"])
        cursor.execute(sql)
        while rows := cursor.fetchmany(20_000):
            writer.writerows(
                (code, record_id, "" if person is None else survivors.get(person, person))
                for code, record_id, person in rows
            )
            written += len(rows)
    audit_record(
        Action.EXPORT,
        user=actor,
        username=SYSTEM if actor is None else "",
        record_type="links",
        detail={"file": path.name, "rows": written},
    )
    return written


def _survivors() -> dict[int, int]:
    """Each merged-away person → the survivor at the end of its chain of merges."""
    merged: dict[int, int] = dict(
        Person.objects.filter(merged_into__isnull=False).values_list("pk", "merged_into_id")
    )
    resolved: dict[int, int] = {}
    for start in merged:
        current, seen = start, 0
        while current in merged and seen < _MAX_CHAIN:
            current = merged[current]
            seen += 1
        resolved[start] = current
    return resolved
