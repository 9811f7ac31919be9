"""Writing the change feed: the events of golden-record changes, in the caller's transaction.

Every writer of a person or a house (the golden refresh, the register import, merges and
splits, a house's use) hands its changes here, in the form its audit event already has
(``audit.services.field_change`` lines), in the same transaction: the change, its audit event
and its feed events commit together or not at all (ARCHITECTURE.md, invariant 1).

A person's changes become events by what they say (``classify``): a residence that starts
where there was none is an arrival (a birth, when the person is new and under a year old), one
that replaces another is a move, one that ends is a departure; a death date is a death (with
the residence and the hukou it ends: the hukou of the dead is deregistered, 注销); every other
field is a change. Sequence numbers come from ``EventHead``, locked until commit.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from renfang.core import bulk
from renfang.core.changes import FieldChange
from renfang.exchange.models import Event, EventHead, EventType
from renfang.people.categories import category
from renfang.people.models import Hukou, Person, Residence

_CHUNK = 5000
_BIRTH_DAYS = 366  # a new person younger than this is a birth, not an arrival

COLUMNS = [  # of Event, in the order the writer gives them (scripts/bench_feed.py too)
    "seq",
    "at",
    "type",
    "person_id",
    "house_code",
    "division",
    "division_before",
    "sex",
    "age",
    "category",
    "changes",
    "source",
]
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


@dataclass(frozen=True)
class PersonChange:
    """What one write did to one person: its audit lines, and what caused it."""

    person_id: int
    changes: Sequence[FieldChange]
    source: str
    new: bool = False  # the person was first recorded by this write
    # ``changes`` already written as JSON (``audit.services.changes_json``: its audit event's
    # lines), by a writer that rendered them for the audit: an event that carries all the
    # lines, as they are, is written with it instead of encoding them again.
    changes_text: str = ""


@dataclass(frozen=True)
class PendingFeedEvent:
    """An event before it has its sequence number (and, for persons, its snapshot)."""

    type: str
    changes: Sequence[FieldChange]
    source: str
    person_id: int | None = None
    house_code: str = ""
    division: str = ""
    division_before: str = ""
    new: bool = False  # the person's first event
    # For an event without a person (or one not found): its sex, age and category, if any (a
    # person's are taken from the person as the write left them, ``_snapshots``).
    facts: dict[str, Any] = field(default_factory=dict)
    changes_text: str = ""  # ``changes`` as a JSON array already (any key order), or ""


# ---------------------------------------------------------------- classifying


def _place(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _division(value: dict[str, Any] | None) -> str:
    return str(value.get("division") or "") if value else ""


def _is_open(value: dict[str, Any] | None, today: str) -> bool:
    """Whether a place (a line's old or new value) is open on ``today`` (ISO text)."""
    if value is None:
        return False
    end = value.get("to")
    return not end or str(end) >= today


def _movement(
    residence: Sequence[FieldChange], today: datetime.date
) -> tuple[str, str, str] | None:
    """What residence lines say happened: (type, division, division before), or None. A
    writer may say a move in one line (old place, new place) or in two (the old spell closed,
    a new one opened); a departure closes the open spell, an arrival opens one."""
    arrived: str | None = None
    left: str | None = None
    moved: tuple[str, str] | None = None
    on = today.isoformat()
    for line in residence:
        old, new = _place(line.get("old")), _place(line.get("new"))
        if old is None and _is_open(new, on):
            arrived = _division(new)
        elif old is not None and new is not None and _is_open(new, on):
            if (_division(old), old.get("house")) != (_division(new), new.get("house")):
                moved = (_division(new), _division(old))
        elif _is_open(old, on) or (old is not None and new is None):
            left = _division(old) or _division(new)
    if moved is not None:
        return (EventType.MOVED, *moved)
    if arrived is not None and left is not None:
        return (EventType.MOVED, arrived, left)
    if arrived is not None:
        return (EventType.ARRIVED, arrived, "")
    if left is not None:
        return (EventType.LEFT, "", left)
    return None


def classify(change: PersonChange, today: datetime.date) -> list[PendingFeedEvent]:
    """The events one person's change makes (see the module's docstring)."""
    lines = change.changes
    residence: list[FieldChange] = []
    died: list[FieldChange] = []
    for line in lines:  # (one pass: an import classifies millions of new persons)
        name = line.get("field")
        if name == "residence":
            residence.append(line)
        elif name == "death_date" and line["new"]:
            died.append(line)
    # The residence and the hukou a death ends go out with the death, not as a departure.
    ended = (
        [
            line
            for line in lines
            if line.get("field") in _ENDED_BY_DEATH and _ended_by_death(line, died)
        ]
        if died
        else []
    )
    if ended:
        residence = [line for line in residence if line not in ended]
    base = {"person_id": change.person_id, "source": change.source}
    events: list[PendingFeedEvent] = []
    movement = _movement(residence, today)
    if change.new:
        # A new person: one event with everything first known of them.
        kind = EventType.ARRIVED if movement and movement[0] == EventType.ARRIVED else None
        events.append(
            PendingFeedEvent(
                type=kind or EventType.CHANGED,
                changes=list(lines),
                division=movement[1] if movement else "",
                new=True,
                changes_text=change.changes_text,
                **base,  # type: ignore[arg-type]
            )
        )
    else:
        rest = [
            line
            for line in lines
            if line not in residence and line not in died and line not in ended
        ]
        # No residence and no death: the change event carries every line, as they are.
        whole = change.changes_text if not residence and not died else ""
        if movement is not None:
            events.append(
                PendingFeedEvent(
                    type=movement[0],
                    changes=residence,
                    division=movement[1],
                    division_before=movement[2],
                    **base,  # type: ignore[arg-type]
                )
            )
        elif residence:
            rest = residence + rest  # a residence corrected in place: a change like any other
        if rest:
            events.append(
                PendingFeedEvent(
                    type=EventType.CHANGED,
                    changes=rest,
                    changes_text=whole,
                    **base,  # type: ignore[arg-type]
                )
            )
    if died:
        where = next(
            (
                _division(_place(line.get("old")))
                for line in ended
                if line.get("field") == "residence"
            ),
            "",
        )
        events.append(
            PendingFeedEvent(
                type=EventType.DIED,
                changes=died + ended,
                division=where,
                **base,  # type: ignore[arg-type]
            )
        )
    return events


_ENDED_BY_DEATH = frozenset({"residence", "hukou"})


def _ended_by_death(line: FieldChange, died: Sequence[FieldChange]) -> bool:
    """A residence or hukou line that ends a fact on (or is retracted after) the day of
    death."""
    old, new = _place(line.get("old")), _place(line.get("new"))
    if old is None:
        # A new person's first residence, lived in until death.
        return new is not None and bool(new.get("to")) and new.get("to") == died[0]["new"]
    if old.get("to"):
        return False
    return new is None or new.get("to") == died[0]["new"]


def _hukou_ended(changes: Sequence[FieldChange]) -> str | None:
    for line in changes:
        if line.get("field") == "hukou":
            division = _division(_place(line.get("old")) or _place(line.get("new")))
            if division:
                return division
    return None


def merge_event(survivor: int, merged: int, source: str) -> PendingFeedEvent:
    """Person ``merged`` is now part of ``survivor`` (its id answers with the survivor's)."""
    return PendingFeedEvent(
        type=EventType.MERGED,
        person_id=survivor,
        changes=[{"field": "merged_from", "old": None, "new": merged}],
        source=source,
    )


def split_event(new_person: int, split_from: int, source: str) -> PendingFeedEvent:
    """Records of ``split_from`` are a person of their own now, ``new_person``."""
    return PendingFeedEvent(
        type=EventType.SPLIT,
        person_id=new_person,
        changes=[{"field": "split_from", "old": None, "new": split_from}],
        source=source,
    )


# ---------------------------------------------------------------- snapshots


def _age(birth: datetime.date | None, on: datetime.date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _open_divisions(
    model: type[Residence] | type[Hukou], ids: Sequence[int], today: datetime.date
) -> dict[int, str]:
    """Each person's division on ``today`` (the latest fact that holds on it)."""
    facts: dict[int, list[tuple[datetime.date | None, datetime.date | None, str]]] = {}
    for person_id, start, end, division in bulk.select_in(
        model, ["person_id", "valid_from", "valid_to", "division"], "person", ids
    ):
        facts.setdefault(person_id, []).append((start, end, division))
    found = {person_id: open_division(rows, today) for person_id, rows in facts.items()}
    return {person_id: division for person_id, division in found.items() if division}


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A person as a write left them, for their events: what the write knows already (a
    person it inserted), so that the feed need not read it back."""

    sex: str
    birth_date: datetime.date | None
    id_type: str
    nationality: str
    residence_division: str | None  # of the residence open today
    hukou_division: str | None  # of the hukou open today


def open_division(
    facts: Iterable[tuple[datetime.date | None, datetime.date | None, str]], today: datetime.date
) -> str | None:
    """The division of the latest of these facts (valid_from, valid_to, division) that holds
    on ``today`` (what ``Snapshot`` wants)."""
    found: tuple[datetime.date, str] | None = None
    for start, end, division in facts:
        if not division or (end is not None and end < today):
            continue
        if start is not None and start > today:
            continue
        key = start or datetime.date.min
        if found is None or key >= found[0]:
            found = (key, division)
    return found[1] if found is not None else None


# An event as it is written: the event; its type, house, division, sex, age and category.
_Stamped = tuple[PendingFeedEvent, str, str, str, str, int | None, str]


def _snapshots(
    events: list[PendingFeedEvent],
    today: datetime.date,
    known: Mapping[int, Snapshot] | None = None,
) -> Iterator[_Stamped]:
    """The events with the person's sex, age, category and area as the write left them
    (``known``: as the write says, the others read); an event without a person as it is."""
    known = known or {}
    ids = sorted(
        {
            event.person_id
            for event in events
            if event.person_id is not None and event.person_id not in known
        }
    )
    people: dict[int, tuple[str, datetime.date | None, str, str]] = {}
    residences: dict[int, str] = {}
    hukous: dict[int, str] = {}
    for pid, snapshot in known.items():
        people[pid] = (snapshot.sex, snapshot.birth_date, snapshot.id_type, snapshot.nationality)
        if snapshot.residence_division:
            residences[pid] = snapshot.residence_division
        if snapshot.hukou_division:
            hukous[pid] = snapshot.hukou_division
    for offset in range(0, len(ids), _CHUNK):
        chunk = ids[offset : offset + _CHUNK]
        for pk, sex, birth, id_type, nationality in bulk.select_in(
            Person, ["id", "sex", "birth_date", "id_type", "nationality"], "id", chunk
        ):
            people[pk] = (sex, birth, id_type, nationality)
        residences.update(_open_divisions(Residence, chunk, today))
        hukous.update(_open_divisions(Hukou, chunk, today))
    categories: dict[tuple[str, str, str | None], str] = {}
    for event in events:
        person_id = event.person_id
        if person_id is None or person_id not in people:
            facts = event.facts
            yield (
                event,
                event.type,
                event.house_code,
                event.division,
                facts.get("sex", ""),
                facts.get("age"),
                facts.get("category", ""),
            )
            continue
        sex, birth, id_type, nationality = people[person_id]
        hukou = hukous.get(person_id)
        kind = event.type
        if hukou is None and kind == EventType.DIED:
            # The hukou the death deregistered: the dead keep the category they died in.
            hukou = _hukou_ended(event.changes)
        if (
            kind == EventType.ARRIVED
            and event.new
            and birth is not None
            and (today - birth).days < _BIRTH_DAYS
        ):
            kind = EventType.BORN
        division = event.division
        if not division and kind != EventType.LEFT:
            # A death that ended no residence: where the person lived or was registered.
            division = residences.get(person_id) or hukou or ""
        key = (id_type, nationality, hukou)
        group = categories.get(key)
        if group is None:
            group = categories[key] = category(
                id_type=id_type, nationality=nationality, hukou_division=hukou
            ).value
        yield (event, kind, "", division, sex or "", _age(birth, today), group)


# ---------------------------------------------------------------- writing


def _reserve(count: int) -> int:
    """The first of ``count`` new sequence numbers; the head stays locked until commit, so the
    next writer waits and numbers follow commit order without a gap."""
    head = EventHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        EventHead.objects.get_or_create(pk=1, defaults={"last_seq": 0})
        head = EventHead.objects.select_for_update().get(pk=1)
    first = head.last_seq + 1
    EventHead.objects.filter(pk=1).update(last_seq=head.last_seq + count)
    return first


def _write(events: Iterable[_Stamped], at: datetime.datetime) -> int:
    pending = list(events)
    if not pending:
        return 0
    first = _reserve(len(pending))
    stamp = bulk.db_value(Event, "at", at)

    def rows() -> Iterator[tuple[Any, ...]]:
        for seq, (event, kind, house, division, sex, age, group) in enumerate(pending, first):
            yield (
                seq,
                stamp,
                kind,
                event.person_id,
                house,
                division,
                event.division_before,
                sex,
                age,
                group,
                event.changes_text or _JSON(list(event.changes)),
                event.source[:60],
            )

    return bulk.insert(Event, COLUMNS, rows())


def publish_person_changes(
    changes: Iterable[PersonChange],
    *,
    at: datetime.datetime | None = None,
    today: datetime.date | None = None,
    known: Mapping[int, Snapshot] | None = None,
) -> int:
    """The events of these persons' changes, in the caller's transaction (which must be
    open: an event without its change, or a change without its event, must not commit).
    ``known``: persons as the write left them, when it knows (not read again). Returns how
    many events were written."""
    assert transaction.get_connection().in_atomic_block, "publish inside the write's transaction"
    now = at or timezone.now()
    today = today or timezone.localdate(now)
    pending = [event for change in changes if change.changes for event in classify(change, today)]
    return _write(_snapshots(pending, today, known), now)


def publish(
    events: Iterable[PendingFeedEvent],
    *,
    at: datetime.datetime | None = None,
    today: datetime.date | None = None,
) -> int:
    """Events made by the caller (merges, splits, houses), in the caller's transaction;
    person events get their snapshot here."""
    assert transaction.get_connection().in_atomic_block, "publish inside the write's transaction"
    now = at or timezone.now()
    return _write(_snapshots(list(events), today or timezone.localdate(now)), now)
