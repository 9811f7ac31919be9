"""The register import's writes (``renfang register import`` plans them: which persons are
new, which facts the file adds and retracts, which identity fields it corrects): the persons
and their facts in bulk, their population spells, one audit event per person whose facts
changed and one for the import, and the change feed's events, in the import's transaction.

For a register of millions the audit detail of a new person is written straight as canonical
JSON text (``new_person_detail``); a test holds it together with the generic lines
(``change_lines``)."""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.utils import timezone
from tqdm import tqdm

from renfang.audit.context import os_user
from renfang.audit.models import Action
from renfang.audit.services import (
    SYSTEM,
    PendingEvent,
    User,
    audit_record_stream,
    field_change,
    is_recording,
    write_event,
)
from renfang.core import bulk
from renfang.core.changes import FieldChange
from renfang.core.writeguard import through_door
from renfang.exchange.events import PersonChange, publish_person_changes
from renfang.houses.models import House
from renfang.people.facts.columns import FACT_INSERT, PERSON_INSERT
from renfang.people.facts.lines import hukou_value, residence_value
from renfang.people.facts.spells import SPELL_COLUMNS, spell_rows
from renfang.people.models import (
    AttributeKind,
    Hukou,
    IdentityRevision,
    Person,
    PersonAttribute,
    Residence,
)
from renfang.stats.models import PopulationSpell
from renfang.stats.spells import Interval

_CHUNK = 5000
_ONE_DAY = datetime.timedelta(days=1)
SOURCE = "register"

# (valid_from, valid_to, division, house id); a first day None: since a day nobody knows
# (whereabouts unknown, ADR 0028)
ResidenceFact = tuple[datetime.date | None, datetime.date | None, str | None, int | None]
# (valid_from, valid_to, division, household type)
HukouFact = tuple[datetime.date | None, datetime.date | None, str, str]
# One line of a person's write event before it is written out: the field, the value before,
# the value after (a fact as its tuple; None: none).
Change = tuple[str, Any, Any]


class NewPerson(NamedTuple):
    """A person the register file brings, with the whole history the file states."""

    id_type: str
    id_number: str
    name: str
    sex: str
    birth_date: datetime.date | None
    nationality: str
    phone: str
    residences: list[ResidenceFact]
    hukous: list[HukouFact]
    overseas: bool


@dataclass
class RegisterWrites:
    """What a register import writes."""

    new_people: list[NewPerson] = field(default_factory=list)
    # (person, {field: (old, new)}) of identity fields the file corrects
    identity_updates: list[tuple[int, dict[str, tuple[Any, Any]]]] = field(default_factory=list)
    residences: list[tuple[int, ResidenceFact]] = field(default_factory=list)
    hukous: list[tuple[int, HukouFact]] = field(default_factory=list)
    phones: list[tuple[int, str, datetime.date | None]] = field(default_factory=list)
    phones_closed: list[int] = field(default_factory=list)
    retract_residences: list[int] = field(default_factory=list)
    retract_hukous: list[int] = field(default_factory=list)
    # The whole residence and hukou history of persons already known whose facts or identity
    # change (their population spells are rebuilt from it)
    history_of: dict[int, tuple[list[ResidenceFact], list[HukouFact]]] = field(default_factory=dict)
    overseas: dict[int, bool] = field(default_factory=dict)
    changes: dict[int, list[Change]] = field(default_factory=dict)  # of people already known
    new_ids: list[int] = field(default_factory=list)  # of new_people, in order, once written


# ---------------------------------------------------------------- writing


@through_door
def register_write(plan: RegisterWrites, *, progress: bool, stages: dict[str, float]) -> None:
    """Write the persons and facts of ``plan`` (``plan.new_ids`` are the new persons' ids)."""
    clock = time.monotonic()
    now = timezone.now()
    stamp = bulk.db_value(Residence, "recorded_at", now)
    yesterday = timezone.localdate(now) - _ONE_DAY

    if plan.identity_updates:
        _write_identity_updates(plan.identity_updates, now)
    _retract(Residence, plan.retract_residences, now)
    _retract(Hukou, plan.retract_hukous, now)
    for offset in range(0, len(plan.phones_closed), _CHUNK):
        PersonAttribute.objects.filter(id__in=plan.phones_closed[offset : offset + _CHUNK]).update(
            valid_to=yesterday
        )
    changed = list(plan.history_of)
    for offset in range(0, len(changed), _CHUNK):
        PopulationSpell.objects.filter(person_id__in=changed[offset : offset + _CHUNK]).delete()

    new_ids = bulk.reserve_ids(Person, len(plan.new_people))
    plan.new_ids = new_ids
    for pid, person in zip(new_ids, plan.new_people, strict=True):
        plan.residences.extend((pid, fact) for fact in person.residences)
        plan.hukous.extend((pid, fact) for fact in person.hukous)
        if person.phone:
            plan.phones.append((pid, person.phone, None))
    spells = _spells(plan)
    stages["plan"] = time.monotonic() - clock

    total = (
        len(plan.new_people)
        + len(plan.residences)
        + len(plan.hukous)
        + len(plan.phones)
        + len(spells)
    )
    with tqdm(total=total, unit=" rows", desc="write", disable=not progress) as bar:
        for label, model, columns, rows, count in (
            (
                "people",
                Person,
                PERSON_INSERT,
                _person_rows(new_ids, plan, stamp),
                len(plan.new_people),
            ),
            (
                "residences",
                Residence,
                FACT_INSERT[Residence],
                (
                    (pid, start, end, division, house, "", stamp)
                    for pid, (start, end, division, house) in plan.residences
                ),
                len(plan.residences),
            ),
            (
                "hukous",
                Hukou,
                FACT_INSERT[Hukou],
                (
                    (pid, start, end, division, "", household_type, stamp)
                    for pid, (start, end, division, household_type) in plan.hukous
                ),
                len(plan.hukous),
            ),
            (
                "phones",
                PersonAttribute,
                FACT_INSERT[PersonAttribute],
                (
                    (pid, AttributeKind.PHONE.value, phone, start, stamp)
                    for pid, phone, start in plan.phones
                ),
                len(plan.phones),
            ),
            ("population spells", PopulationSpell, SPELL_COLUMNS, spells, len(spells)),
        ):
            clock = time.monotonic()
            bar.set_postfix_str(label)
            with bulk.indexes_deferred(model, new_rows=count):
                bulk.insert(model, columns, rows, on_batch=bar.update)
            stages[label] = time.monotonic() - clock


def _intervals(
    residences: list[ResidenceFact], hukous: list[HukouFact]
) -> tuple[list[Interval], list[Interval]]:
    return (
        [Interval(start, end, division) for start, end, division, _ in residences],
        [Interval(start, end, division) for start, end, division, _ in hukous],
    )


def _spells(plan: RegisterWrites) -> list[tuple[object, ...]]:
    """The population spells of the persons written: cut from the facts they hold after the
    import (the file states a person's whole history), by the one builder."""
    rows: list[tuple[object, ...]] = []
    for person_id, (residences, hukous) in plan.history_of.items():
        rows.extend(
            spell_rows(person_id, plan.overseas[person_id], *_intervals(residences, hukous))
        )
    for person_id, person in zip(plan.new_ids, plan.new_people, strict=True):
        rows.extend(
            spell_rows(person_id, person.overseas, *_intervals(person.residences, person.hukous))
        )
    return rows


def _person_rows(
    new_ids: list[int], plan: RegisterWrites, stamp: object
) -> Iterator[tuple[object, ...]]:
    for pid, person in zip(new_ids, plan.new_people, strict=True):
        yield (
            pid,
            person.id_type,
            person.id_number,
            person.name,
            person.sex,
            person.birth_date,
            "",
            person.nationality,
            stamp,
            stamp,
            "{}",
        )


def _retract(model: type[Residence] | type[Hukou], ids: list[int], now: datetime.datetime) -> None:
    for offset in range(0, len(ids), _CHUNK):
        model.objects.filter(id__in=ids[offset : offset + _CHUNK]).update(retracted_at=now)


def _write_identity_updates(
    updates: list[tuple[int, dict[str, tuple[Any, Any]]]], now: datetime.datetime
) -> None:
    revisions = []
    for person_id, fields in updates:
        for name, (before, after) in fields.items():
            revisions.append(
                IdentityRevision(
                    person_id=person_id,
                    field=name,
                    old_value="" if before is None else str(before),
                    new_value="" if after is None else str(after),
                    reason="register import",
                )
            )
        Person.objects.filter(id=person_id).update(
            **{name: after for name, (_before, after) in fields.items()}, updated_at=now
        )
    IdentityRevision.objects.bulk_create(revisions, batch_size=1000)


# ---------------------------------------------------------------- auditing


def _residence_value(
    fact: ResidenceFact | None, house_codes: dict[int, str]
) -> dict[str, Any] | None:
    if fact is None:
        return None
    start, end, division, house_id = fact
    house = house_codes.get(house_id, str(house_id)) if house_id is not None else None
    return residence_value(start, end, division, house)


def _hukou_value(fact: HukouFact | None) -> dict[str, Any] | None:
    return hukou_value(*fact) if fact is not None else None


def change_lines(changes: list[Change], house_codes: dict[int, str]) -> list[FieldChange]:
    lines: list[FieldChange] = []
    for name, old, new in changes:
        if name == "residence":
            lines.append(
                field_change(
                    name, _residence_value(old, house_codes), _residence_value(new, house_codes)
                )
            )
        elif name == "hukou":
            lines.append(field_change(name, _hukou_value(old), _hukou_value(new)))
        else:
            lines.append(field_change(name, old, new))
    return lines


# The JSON text of a string exactly as json.dumps(ensure_ascii=False) writes it.
_json_text = json.encoder.encode_basestring


def new_person_detail(person: NewPerson, house_codes: dict[int, str], source: str) -> str:
    """The detail of a new person's write event, written straight as canonical JSON text
    (keys in sorted order, no spaces): for a register of millions, building the dicts and
    encoding them took longer than the rest of the audit. Its structure is the one
    ``change_lines`` builds; a test holds the two together."""
    birth = f'"{person.birth_date.isoformat()}"' if person.birth_date is not None else "null"
    parts = [
        f'{{"field":"id_type","new":{_json_text(person.id_type)},"old":null}}',
        f'{{"field":"id_number","new":{_json_text(person.id_number)},"old":null}}',
        f'{{"field":"name","new":{_json_text(person.name)},"old":null}}',
        f'{{"field":"sex","new":{_json_text(person.sex)},"old":null}}',
        f'{{"field":"birth_date","new":{birth},"old":null}}',
        f'{{"field":"nationality","new":{_json_text(person.nationality)},"old":null}}',
    ]
    for start, end, division, house_id in person.residences:
        house = "null"
        if house_id is not None:
            house = _json_text(house_codes.get(house_id, str(house_id)))
        parts.append(
            f'{{"field":"residence","new":{{"division":'
            f"{_json_text(division) if division is not None else 'null'},"
            f'"from":{_day_text(start)},"house":{house},'
            f'"to":{_day_text(end)}}},"old":null}}'
        )
    for start, end, division, household_type in person.hukous:
        parts.append(
            f'{{"field":"hukou","new":{{"division":{_json_text(division)},'
            f'"from":{_day_text(start)},"household_type":{_json_text(household_type)},'
            f'"to":{_day_text(end)}}},"old":null}}'
        )
    if person.phone:
        parts.append(f'{{"field":"phone","new":{_json_text(person.phone)},"old":null}}')
    return f'{{"changes":[{",".join(parts)}],"source":{_json_text(source)}}}'


def _day_text(day: datetime.date | None) -> str:
    return f'"{day.isoformat()}"' if day is not None else "null"


def _house_codes(plan: RegisterWrites) -> dict[int, str]:
    """The codes of the houses the changes name (an auditor knows a house by its code)."""
    ids: set[int] = set()
    for changes in plan.changes.values():
        for name, old, new in changes:
            if name == "residence":
                ids.update(fact[3] for fact in (old, new) if fact is not None and fact[3])
    ids.update(house_id for _pid, (*_, house_id) in plan.residences if house_id is not None)
    if len(ids) > 50_000:  # most of the houses: one pass over the table is cheaper
        return {
            house_id: code
            for house_id, code in House.objects.values_list("id", "house_code").iterator(
                chunk_size=20000
            )
            if house_id in ids
        }
    wanted = sorted(ids)
    codes: dict[int, str] = {}
    for offset in range(0, len(wanted), _CHUNK):
        codes.update(
            bulk.select_in(House, ["id", "house_code"], "id", wanted[offset : offset + _CHUNK])
        )
    return codes


@through_door
def register_publish(plan: RegisterWrites, today: datetime.date) -> None:
    """The change feed's events of the persons this import wrote (exchange.events)."""
    house_codes = _house_codes(plan)

    def changes() -> Iterator[PersonChange]:
        for person_id in sorted(plan.changes):
            lines = change_lines(plan.changes[person_id], house_codes)
            yield PersonChange(person_id=person_id, changes=lines, source=SOURCE)
        for person_id, person in zip(plan.new_ids, plan.new_people, strict=True):
            detail = json.loads(new_person_detail(person, house_codes, SOURCE))
            yield PersonChange(
                person_id=person_id, changes=detail["changes"], source=SOURCE, new=True
            )

    publish_person_changes(changes(), today=today)


@through_door
def register_audit(
    plan: RegisterWrites, summary: dict[str, int], *, source: str, file: str, actor: User | None
) -> None:
    """One write event per person whose facts changed, then one for the import."""
    if not is_recording():
        return
    house_codes = _house_codes(plan)

    def events() -> Iterable[PendingEvent]:
        for person_id in sorted(plan.changes):
            yield write_event(
                actor=actor,
                record_type="person",
                record_id=person_id,
                changes=change_lines(plan.changes[person_id], house_codes),
                source=source,
            )
        username = SYSTEM if actor is None else ""
        for person_id, person in zip(plan.new_ids, plan.new_people, strict=True):
            yield PendingEvent(
                action=Action.WRITE,
                user=actor,
                username=username,
                record_type="person",
                record_id=str(person_id),
                detail_text=new_person_detail(person, house_codes, source),
            )
        yield PendingEvent(
            action=Action.WRITE,
            user=actor,
            username=username,
            record_type="import",
            record_id=file,
            detail={
                "source": "register import",
                "file": file,
                **summary,
                "os_user": os_user(),
            },
        )

    audit_record_stream(events())
