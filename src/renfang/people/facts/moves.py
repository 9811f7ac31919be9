"""Merges (by a person or by ``renfang resolve``): what is known about a person goes to the
one it is merged into, and the change is recorded.

Every time-valid fact and revision follows the records, retracted ones too (they are history).
Conflicts follow too, with their status: a conflict a street officer settled, with a note,
stays settled on the survivor. Population spells do not move: they are derived from the
residence and hukou facts, and the survivor's are rebuilt from all of its facts
(``spells_rebuild_for``), or the person would count twice in the figures.

**Two facts of one person never overlap**: one residence at a time, one hukou, one value of
each attribute kind (one phone), one of each tag. When the facts that arrive overlap the
survivor's (or each other), nothing is overwritten or stretched; each fact is kept, closed
earlier or retracted (kept as history):

1. A fact that says what another one says (the same place, hukou, value or tag) on days the
   other covers adds nothing: retracted (of two identical ones, the merged person's).
2. The others are taken in this order, each keeping what the ones before it leave free: the
   one that holds longer first (open, or ending later: what the register holds today is
   never cut short by an older fact of the other person); on the same last day (two open
   facts), the one that began later (the newer news); on the same days, the survivor's own,
   then the one recorded first.
3. A fact that begins within one taken before it never held beside it: retracted. One that
   began earlier is **closed** the day before the first one taken before it begins: of two
   open residences, the older ends the day before the newer begins (as a move ends the old
   residence); of two partly overlapping, the earlier ends where the later begins.

The golden refresh that follows the merge then keeps or replaces the open facts left, as for
any other person.

``persons_merge`` is the whole merge of persons as the tables see it, and its record: the
merged person's audit event (``merged_into``), the survivor's (the facts it received, closed
or retracted: residences and hukous with their days, phones and other attributes and tags by
what they hold from today), and the feed's merge event and the survivor's change events, in
the caller's transaction. Who decided it, the ``PersonMerge`` record and the review queue are
linkage's."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from renfang.audit.models import Action
from renfang.audit.services import SYSTEM, PendingEvent, User, audit_record_many, field_change
from renfang.core import bulk
from renfang.core.changes import FieldChange
from renfang.core.writeguard import through_door
from renfang.exchange.events import PersonChange, merge_event, publish, publish_person_changes
from renfang.houses.models import House
from renfang.people.facts.lines import hukou_value, residence_value
from renfang.people.facts.spells import spells_rebuild_for
from renfang.people.facts.tables import close_facts, retract_facts
from renfang.people.models import (
    Conflict,
    ConflictStatus,
    Hukou,
    Person,
    PersonAttribute,
    PersonTag,
    Residence,
)
from renfang.stats.models import PopulationSpell

_CHUNK = 5000
_ONE_DAY = datetime.timedelta(days=1)


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
        field_ = relation.field
        assert isinstance(field_, models.ForeignKey)
        found.append((bulk.table(model), field_.column))
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


# ---------------------------------------------------------------- facts that overlap


@dataclass(frozen=True)
class Fact:
    """A stored fact as the overlap rule sees it: whose it was before the merge, its days
    (None: an unknown first day, or open), which facts it may not overlap (``key``: the
    attribute's kind, the tag) and what it holds."""

    pk: int
    owner: int
    start: datetime.date | None
    end: datetime.date | None
    key: str = ""
    value: tuple[Any, ...] = ()


@dataclass
class Untangled:
    """What the overlap rule does: facts given a (new) last day, facts retracted."""

    closes: dict[int, datetime.date] = field(default_factory=dict)
    retracts: set[int] = field(default_factory=set)


def _holds_longer(fact: Fact, survivor: int) -> tuple[Any, ...]:
    return (
        fact.end is None,
        fact.end or datetime.date.min,
        fact.start is not None,
        fact.start or datetime.date.min,
        fact.owner == survivor,
        -fact.pk,
    )


def _covers(other: Fact, fact: Fact) -> bool:
    """``other`` holds on every day ``fact`` does."""
    return (other.start or datetime.date.min) <= (fact.start or datetime.date.min) and (
        other.end or datetime.date.max
    ) >= (fact.end or datetime.date.max)


def untangle(facts: Sequence[Fact], survivor: int) -> Untangled:
    """The overlap rule (see the module's docstring) over the facts of one kind that the
    survivor holds after the merge."""
    done = Untangled()
    ranked = sorted(facts, key=lambda fact: _holds_longer(fact, survivor), reverse=True)
    for at, fact in enumerate(ranked):
        if any(
            other.value == fact.value
            and _covers(other, fact)
            and (index < at or (other.start, other.end) != (fact.start, fact.end))
            for index, other in enumerate(ranked)
            if other.pk != fact.pk and other.pk not in done.retracts
        ):
            done.retracts.add(fact.pk)
    taken: list[tuple[datetime.date | None, datetime.date | None]] = []
    for fact in ranked:
        if fact.pk in done.retracts:
            continue
        start = fact.start or datetime.date.min
        if any(
            (begin or datetime.date.min) <= start <= (end or datetime.date.max)
            for begin, end in taken
        ):
            done.retracts.add(fact.pk)
            continue
        last = fact.end or datetime.date.max
        for begin, _end in taken:
            if begin is not None and start < begin <= last:
                last = begin - _ONE_DAY
        end = None if last == datetime.date.max else last
        if end != fact.end:
            done.closes[fact.pk] = last
        taken.append((fact.start, end))
    return done


# Per fact table: the columns read after (id, person, first day, last day), and which of them
# say which facts may not overlap (the attribute's kind, the tag).
_READ: dict[type[models.Model], tuple[list[str], int | None]] = {
    Residence: (["division", "house_id"], None),
    Hukou: (["division", "household_type"], None),
    PersonAttribute: (["kind", "value"], 0),
    PersonTag: (["tag"], 0),
}


def _read_facts(model: type[models.Model], moves: Mapping[int, int]) -> dict[int, list[Fact]]:
    """The current facts of the merged persons and their survivors, by survivor."""
    columns, key_at = _READ[model]
    people = sorted({*moves, *moves.values()})
    found: dict[int, list[Fact]] = defaultdict(list)
    for offset in range(0, len(people), _CHUNK):
        for pk, owner, start, end, *values in bulk.select_in(
            model,
            ["id", "person_id", "valid_from", "valid_to", *columns],
            "person",
            people[offset : offset + _CHUNK],
        ):
            key = str(values[key_at]) if key_at is not None else ""
            found[moves.get(owner, owner)].append(
                Fact(pk=pk, owner=owner, start=start, end=end, key=key, value=tuple(values))
            )
    return found


@dataclass
class _Plan:
    """One table's facts of the survivors, and what the overlap rule does to them."""

    model: type[models.Model]
    facts: dict[int, list[Fact]]
    done: Untangled


def _plan(model: type[models.Model], moves: Mapping[int, int]) -> _Plan:
    facts = _read_facts(model, moves)
    done = Untangled()
    for survivor, held in facts.items():
        by_key: dict[str, list[Fact]] = defaultdict(list)
        for fact in held:
            by_key[fact.key].append(fact)
        for same in by_key.values():
            if len({fact.owner for fact in same}) < 2:  # nothing arrives, or nothing to meet
                continue
            found = untangle(same, survivor)
            done.closes.update(found.closes)
            done.retracts |= found.retracts
    return _Plan(model, facts, done)


# ---------------------------------------------------------------- the survivor's change lines


def _dated_lines(plan: _Plan, survivor: int, value: Any, name: str) -> Iterator[FieldChange]:
    """Residence and hukou lines: each fact received (as it is now), each of the survivor's
    closed or retracted (before, after)."""
    for fact in sorted(plan.facts.get(survivor, []), key=lambda fact: fact.pk):
        retracted = fact.pk in plan.done.retracts
        end = plan.done.closes.get(fact.pk, fact.end)
        if fact.owner != survivor:
            if not retracted:
                yield {"field": name, "old": None, "new": value(fact, end)}
        elif retracted:
            yield {"field": name, "old": value(fact, fact.end), "new": None}
        elif end != fact.end:
            yield {"field": name, "old": value(fact, fact.end), "new": value(fact, end)}


def _held(fact: Fact, end: datetime.date | None, today: datetime.date) -> bool:
    return end is None or end >= today


def _current_lines(
    plan: _Plan, survivor: int, name_of: Any, today: datetime.date
) -> Iterator[FieldChange]:
    """Attribute and tag lines, as the golden record writes them: what the survivor holds
    from today, before and after the merge (a phone or tag that had ended moves without a
    line)."""
    before: dict[str, set[str]] = defaultdict(set)
    after: dict[str, set[str]] = defaultdict(set)
    for fact in plan.facts.get(survivor, []):
        value = str(fact.value[-1])
        if fact.owner == survivor and _held(fact, fact.end, today):
            before[fact.key].add(value)
        end = plan.done.closes.get(fact.pk, fact.end)
        if fact.pk not in plan.done.retracts and _held(fact, end, today):
            after[fact.key].add(value)
    for key in sorted(before.keys() | after.keys()):
        old, new = sorted(before[key] - after[key]), sorted(after[key] - before[key])
        name = name_of(key)
        if name == "tag":
            yield from (field_change(name, None, tag) for tag in new)
            yield from (field_change(name, tag, None) for tag in old)
        elif old or new:
            yield {"field": name, "old": old[0] if old else None, "new": new[0] if new else None}


def _lines(
    plans: dict[type, _Plan], survivor: int, today: datetime.date, houses: dict[int, str]
) -> list[FieldChange]:
    def residence(fact: Fact, end: datetime.date | None) -> dict[str, Any]:
        division, house = fact.value
        return residence_value(fact.start, end, division, houses.get(house) if house else None)

    def hukou(fact: Fact, end: datetime.date | None) -> dict[str, Any]:
        division, household_type = fact.value
        return hukou_value(fact.start, end, division, household_type)

    return [
        *_dated_lines(plans[Residence], survivor, residence, "residence"),
        *_dated_lines(plans[Hukou], survivor, hukou, "hukou"),
        *_current_lines(plans[PersonAttribute], survivor, lambda kind: kind, today),
        *_current_lines(plans[PersonTag], survivor, lambda _tag: "tag", today),
    ]


def _house_codes(plan: _Plan) -> dict[int, str]:
    ids = sorted({fact.value[1] for held in plan.facts.values() for fact in held if fact.value[1]})
    return dict(bulk.select_in(House, ["id", "house_code"], "id", ids)) if ids else {}


# ---------------------------------------------------------------- the merge


@dataclass
class Merged:
    """A merge as the audit tells it: each merged person's event (``merged_into``) and each
    survivor's (the change lines of the facts it received, closed or retracted)."""

    moves: list[tuple[int, int]]
    lines: dict[int, list[FieldChange]]
    records: Mapping[int, Sequence[int]]
    actor: User | None
    source: str
    reason: str

    def events(self) -> Iterator[PendingEvent]:
        """The audit events, in the order of the merges (a survivor's after its first merged
        person's)."""
        merged_of: dict[int, list[int]] = defaultdict(list)
        for merged, survivor in self.moves:
            merged_of[survivor].append(merged)
        told: set[int] = set()
        for merged, survivor in self.moves:
            records = list(self.records.get(merged, ()))[:1000]
            yield self._event(
                merged,
                {
                    "changes": [{"field": "merged_into", "old": None, "new": survivor}],
                    "records": records,
                },
            )
            if survivor in told:
                continue
            told.add(survivor)
            absorbed = merged_of[survivor]
            detail: dict[str, Any] = {
                "merged": absorbed[0] if len(absorbed) == 1 else absorbed,
                "records": [record for pk in absorbed for record in self.records.get(pk, ())][
                    :1000
                ],
            }
            if self.lines.get(survivor):
                detail["changes"] = self.lines[survivor]
            yield self._event(survivor, detail)

    def _event(self, person_id: int, detail: dict[str, Any]) -> PendingEvent:
        detail["source"] = self.source
        if self.reason:
            detail["reason"] = self.reason
        return PendingEvent(
            action=Action.WRITE,
            user=self.actor,
            username=SYSTEM if self.actor is None else "",
            record_type="person",
            record_id=str(person_id),
            detail=detail,
        )


@through_door
def persons_merge(
    moves: Sequence[tuple[int, int]],
    now: datetime.datetime,
    *,
    records: Mapping[int, Sequence[int]] | None = None,
    actor: User | None = None,
    source: str = "merge",
    reason: str = "",
    audit_later: bool = False,
) -> Merged:
    """Merge each ``(merged, survivor)``: the merged person answers with the survivor's id
    (``merged_into``; an earlier merge into it follows to the survivor), its facts and
    conflicts are the survivor's, facts that would overlap are closed or retracted (see the
    module's docstring), and the survivors' population spells are rebuilt. The feed gets the
    merge events and the survivors' changes now; the audit gets the events of ``Merged``
    now, or, with ``audit_later``, from the caller, which must write ``Merged.events()`` in
    the same transaction (``renfang resolve``: last, in its run's audit stream, so that the
    chain's head is locked only at the end). ``records``: the source records that went with
    each merged person."""
    moves = list(moves)
    done = Merged(moves, {}, records or {}, actor, source, reason)
    if not moves:
        return done
    with transaction.atomic():
        today = timezone.localdate(now)
        survivor_of = dict(moves)
        plans = {model: _plan(model, survivor_of) for model in _READ}
        for merged, survivor in moves:
            Person.objects.filter(pk=merged).update(merged_into_id=survivor, updated_at=now)
        for merged, survivor in moves:
            Person.objects.filter(merged_into_id=merged).update(merged_into_id=survivor)
        facts_move(moves)
        for plan in plans.values():
            close_facts(plan.model, sorted(plan.done.closes.items()))
            retract_facts(plan.model, sorted(plan.done.retracts), now)
        survivors = list(dict.fromkeys(survivor for _, survivor in moves))
        spells_rebuild_for(survivors)
        houses = _house_codes(plans[Residence])
        for survivor in survivors:
            lines = _lines(plans, survivor, today, houses)
            if lines:
                done.lines[survivor] = lines
        publish(
            (merge_event(survivor, merged, source) for merged, survivor in moves),
            at=now,
            today=today,
        )
        publish_person_changes(
            (
                PersonChange(person_id=survivor, changes=lines, source=source)
                for survivor, lines in done.lines.items()
            ),
            at=now,
            today=today,
        )
        if not audit_later:
            audit_record_many(list(done.events()))
    return done


# ---------------------------------------------------------------- conflicts

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
    for pk, person_id, field_name, other_record, status in rows:
        owner = survivor_of.get(person_id, person_id)
        by_key[(owner, field_name, other_record)].append((pk, person_id, status))
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
