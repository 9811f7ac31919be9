"""Publishing one record: a department's system sends a record of its source as it changes.

The record is one line of a JSON Lines import of the source (its columns → values) and takes
the import's path: the source's current mapping reads it (code translation, dates, IDs),
``records_store`` keeps it (a new record, a new version, or nothing when it is unchanged), its
unmapped codes are counted. A record that a file import would flag (a value that cannot be
read) is refused instead: the system that sent it is there to hear why and send it again.

Then, in the same transaction, the record is given its person and the person's golden record
is refreshed, which writes the audit events and the feed events of whatever changed
(``golden_refresh``). A new record with a valid resident ID that a person already holds is
linked to that person (rule ``id``, as ``renfang resolve`` would); any other new record becomes
a person of its own (``singleton``), until the next ``renfang resolve`` looks at it with every
other record (ADR 0014, "Incremental publish"). A changed record keeps its person. Sending the
same record again changes nothing and publishes nothing.

A publisher writes only within its grant (ADR 0022). A record that states a division outside
the publisher's areas, or sets a field (or a tag) the publisher is not granted, is refused
(``OutsideGrant``, audited as denied) before any person is looked up: the refusal depends on
the record and the grant alone. A record that would change a person the publisher cannot read
(the holder of its ID number, or the person the record is already linked to, lives outside the
publisher's areas) is held unapplied (``HeldRecord``) for someone who sees that person, audited
as denied, and answered exactly as a record of a new person would be. The answer names the
record and its status, never a person: publishing is no test of whether an ID number exists.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from renfang.accounts.access import SOURCE_FIELD_GRANTS, Access, access_for
from renfang.accounts.models import PersonField, PoliceArea, RoleGrant
from renfang.areas.models import Area
from renfang.audit.models import Action
from renfang.audit.services import User, audit_record
from renfang.codes.models import Code
from renfang.houses.models import House
from renfang.linkage.normalize import id_key
from renfang.people import identify
from renfang.people.facts import person_placeholder
from renfang.people.golden import golden_refresh
from renfang.people.models import IdType, Person
from renfang.people.selectors import people_in_area_q, people_visible_to
from renfang.sources.mapping import UNMAPPED, MappingError, parse_mapping
from renfang.sources.models import HeldRecord, LinkRule, Source, SourceRecord, UnmappedCode
from renfang.sources.readers import cell_text
from renfang.sources.services.sources import (
    SourceError,
    audit_write,
    history_publish_refused,
    history_sources,
)
from renfang.sources.services.store import IncomingRecord, records_store

_RECORD_ID_LENGTH = 200  # SourceRecord.record_id
_VALUE_LENGTH = 200  # UnmappedCode.value
# How many columns one record may have: a record, not a file.
MAX_COLUMNS = 200


class PublishRefused(ValueError):
    """The record cannot be taken; ``problems`` are (field, reason) pairs. Nothing was saved."""

    def __init__(self, problems: Iterable[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in self.problems))


class NotPublisher(PublishRefused):
    """The user is not one of the source's publishers."""


class OutsideGrant(NotPublisher):
    """The record states a division outside the publisher's areas or sets a field (a tag) the
    publisher is not granted; ``problems`` name each."""


@dataclass
class Published:
    """What publishing one record did. ``person_id`` and ``link_rule`` are for renfang's own
    use (the demo, tests): the API answers with the record and its status only. A held record
    has no person (``held``)."""

    record_id: str
    status: str  # "new", "changed" or "unchanged"
    person_id: int | None
    link_rule: str
    unmapped: list[tuple[str, str]] = field(default_factory=list)
    held: bool = False


def _row(values: Mapping[str, Any]) -> dict[str, str]:
    """The record as a row of a JSON Lines file: plain values as text, empty ones left out."""
    problems: list[tuple[str, str]] = []
    if len(values) > MAX_COLUMNS:
        problems.append(("-", _("more than %(n)d columns in one record") % {"n": MAX_COLUMNS}))
    row: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, dict | list):
            problems.append((str(key), _("a nested value: a record holds plain values only")))
            continue
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else cell_text(value)
        if text:
            row[str(key)] = text
    if problems:
        raise PublishRefused(problems)
    return row


def _incoming(source: Source, values: Mapping[str, Any]) -> IncomingRecord:
    mapping = source.current_mapping()
    if mapping is None:
        raise PublishRefused([("-", _("source %(code)s has no mapping") % {"code": source.code})])
    try:
        spec = parse_mapping(mapping.text)
    except MappingError as exc:
        raise PublishRefused(
            ("-", _("mapping version %(version)d: %(problem)s") % {
                "version": mapping.version, "problem": problem})
            for problem in exc.problems
        ) from exc  # fmt: skip
    row = _row(values)
    record_id, mapped, problems, unmapped = spec.apply(row)
    refusals: list[tuple[str, str]] = []
    if not record_id:
        columns = ", ".join(spec.record_id.columns)
        refusals.append(("record_id", _("no record id: %(columns)s empty") % {"columns": columns}))
    elif len(record_id) > _RECORD_ID_LENGTH:
        refusals.append(
            (
                "record_id",
                _("the record id has more than %(n)d characters") % {"n": _RECORD_ID_LENGTH},
            )
        )
    refusals += [(str(problem["field"]), str(problem["reason"])) for problem in problems]
    if refusals:
        raise PublishRefused(refusals)
    kept: list[dict[str, Any]] = [
        {
            "field": name,
            "value": value,
            "reason": _("%(value)r is not a code of %(field)s") % {"value": value, "field": name},
            "kind": UNMAPPED,
        }
        for name, value in dict.fromkeys(unmapped)
    ]
    return IncomingRecord(record_id, row, mapped, kept)


def _unmapped_of(problems: Any) -> set[tuple[str, str]]:
    if not isinstance(problems, list):
        return set()
    return {
        (str(p.get("field")), str(p.get("value"))[:_VALUE_LENGTH])
        for p in problems
        if isinstance(p, dict) and p.get("kind") == UNMAPPED
    }


def _unmapped_count(
    source: Source, before: set[tuple[str, str]], after: set[tuple[str, str]]
) -> None:
    """The source's unmapped codes, counted on: a code the record now carries is one record
    more, one it no longer carries one less (gone at none), as a file import would count."""
    now = timezone.now()
    for name, value in sorted(after - before):
        code, created = UnmappedCode.objects.get_or_create(
            source=source,
            field=name,
            value=value,
            defaults={"records": 1, "first_seen": now, "last_seen": now},
        )
        if not created:
            code.records += 1
            code.last_seen = now
            code.save(update_fields=["records", "last_seen"])
    for name, value in sorted(before - after):
        gone = UnmappedCode.objects.filter(source=source, field=name, value=value).first()
        if gone is None:
            continue
        if gone.records <= 1:
            gone.delete()
        else:
            gone.records -= 1
            gone.save(update_fields=["records"])


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


def _stated_divisions(mapped: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The divisions a record states, by field: its hukou and residence divisions and the
    division of the house it names (a house renfang does not know: its code, which begins
    with its committee's)."""
    stated = [
        (name, str(mapped[name]))
        for name in ("hukou_division", "residence_division")
        if mapped.get(name)
    ]
    house_code = str(mapped.get("residence_house_code") or "")
    if house_code:
        area = House.objects.filter(house_code=house_code).values_list("area_id", flat=True)
        stated.append(("residence_house_code", str(area.first() or house_code)))
    return stated


def _in_some_grant(division: str) -> bool:
    """Whether a division lies in an area some role is bound to: a hukou outside every such
    area (another district, another province) places the person in nobody's area and may be
    stated by any publisher (a migrant's residence permit always does)."""
    areas = RoleGrant.objects.exclude(area=None).values_list("area_id", flat=True)
    beats = PoliceArea.objects.values_list("committees__code", flat=True)
    return any(code and division.startswith(str(code)) for code in [*areas.distinct(), *beats])


def _grant_problems(access: Access, mapped: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What of a record lies outside the publisher's grant, by field (empty: nothing)."""
    problems: list[tuple[str, str]] = []
    for name, division in _stated_divisions(mapped):
        if name == "hukou_division" and not _in_some_grant(division):
            continue
        if not access.covers(division):
            problems.append(
                (name, _("division %(code)s lies outside your areas") % {"code": division})
            )
    for name, value in mapped.items():
        if value in (None, "") or name == "id_type" and not mapped.get("id_number"):
            continue
        granted = SOURCE_FIELD_GRANTS.get(str(name))
        if granted is None or not access.sees_field(granted):
            problems.append(
                (
                    str(name),
                    _("your grant does not include %(field)s") % {"field": granted or name},
                )
            )
    tags = str(mapped.get("tags") or "").split()
    if tags and access.sees_field(PersonField.TAGS):
        sensitive = set(
            Code.objects.filter(
                code_set_id="person_tag", sensitive=True, code__in=tags
            ).values_list("code", flat=True)
        )
        refused = [t for t in tags if not access.sees_tag(t, sensitive=t in sensitive)]
        if refused:
            problems.append(
                (
                    "tags",
                    _("your grant does not include the tags %(tags)s")
                    % {"tags": ", ".join(refused)},
                )
            )
    return problems


def _refuse_outside_grant(
    actor: User, source: Source, record_id: str, problems: list[tuple[str, str]]
) -> None:
    audit_record(
        Action.DENIED,
        user=actor,
        record_type="source_record",
        record_id=f"{source.code}:{record_id}"[:200],
        detail={
            "reason": "record outside the publisher's grant",
            "source": source.code,
            "fields": sorted({name for name, _reason in problems}),
        },
    )
    raise OutsideGrant(problems)


def _refuse_history(actor: User, source: Source) -> None:
    """A record sent to a source that keeps people's history: refused before it is read, and
    audited as denied when its sender is one of the source's publishers (a grant left from
    before the source kept a history, or before golden.toml named it)."""
    if actor.is_authenticated and source.publishers.filter(pk=actor.pk).exists():
        audit_record(
            Action.DENIED,
            user=actor,
            record_type="source",
            record_id=source.code,
            detail={"reason": "record published to a source that keeps people's history"},
        )
    raise NotPublisher([("-", history_publish_refused(source.code))])


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


def _may_change(actor: User, person_id: int) -> bool:
    """Whether a record may change the person: one the publisher reads, or one who lies in no
    area at all (no residence or hukou that any area holds: a person only records without a
    place made, whom nobody reads)."""
    if people_visible_to(actor).filter(pk=person_id).exists():
        return True
    roots = list(Area.objects.filter(parent__isnull=True).values_list("code", flat=True))
    return not Person.objects.filter(pk=person_id).filter(people_in_area_q(tuple(roots))).exists()


def _hold(
    source: Source,
    incoming: IncomingRecord,
    person_id: int,
    *,
    actor: User,
    known: bool,
    now: datetime.datetime,
) -> Published:
    """Keep a record that would change a person the publisher cannot read, unapplied; answer
    as a new (or changed) record is answered."""
    last = (
        HeldRecord.objects.filter(source=source, record_id=incoming.record_id)
        .order_by("-received_at", "-pk")
        .first()
    )
    if last is not None and last.raw == incoming.raw and last.person_id == person_id:
        status = "unchanged"
    else:
        status = "changed" if known or last is not None else "new"
        HeldRecord.objects.create(
            source=source,
            record_id=incoming.record_id,
            raw=incoming.raw,
            mapped=incoming.mapped,
            person_id=person_id,
            publisher_id=actor.pk if actor.is_authenticated else None,
            received_at=now,
        )
        audit_record(
            Action.DENIED,
            user=actor,
            record_type="person",
            record_id=person_id,
            detail={
                "reason": "published record held: the person is outside the publisher's areas",
                "source": source.code,
                "record_id": incoming.record_id,
            },
        )
    return Published(
        record_id=incoming.record_id,
        status=status,
        person_id=None,
        link_rule="",
        unmapped=sorted(_unmapped_of(incoming.problems)),
        held=True,
    )


def record_publish(
    source: Source,
    values: Mapping[str, Any],
    *,
    actor: User,
    today: datetime.date | None = None,
) -> Published:
    """Take one record of ``source`` from ``actor`` (a publisher of the source), see the
    module's docstring. Raises PublishRefused (field, reason) and saves nothing when the
    record cannot be read or ``actor`` may not publish to the source (nobody publishes to a
    source that keeps people's history, whatever grant is left on it: ADR 0033)."""
    if source.code in history_sources():
        _refuse_history(actor, source)
    if not actor.is_authenticated or not source.publishers.filter(pk=actor.pk).exists():
        raise NotPublisher(
            [("-", _("you may not publish records of source %(code)s") % {"code": source.code})]
        )
    incoming = _incoming(source, values)
    access = access_for(actor)
    problems = _grant_problems(access, incoming.mapped)
    if problems:
        _refuse_outside_grant(actor, source, incoming.record_id, problems)
    now = timezone.now()
    # A held record tells its publisher that the person exists outside its areas (by the
    # answer's timing, if nothing else): held records are identification attempts, bounded
    # like missed number searches; the bound is checked before any person is looked up, so a
    # refusal (IdentifyRefused) is the same whoever the record names (issue 11 review).
    identify.check_budget(actor, access, identify.PUBLISH)
    with transaction.atomic():
        Source.objects.select_for_update().filter(pk=source.pk).first()
        before = SourceRecord.objects.filter(source=source, record_id=incoming.record_id).first()
        # The person the record would change: the one it is linked to, or its ID's holder.
        linked = before.person_id if before is not None else None
        person_id = linked if linked is not None else _holder(incoming.mapped)
        if person_id is not None and not _may_change(actor, person_id):
            published = _hold(
                source, incoming, person_id, actor=actor, known=before is not None, now=now
            )
        else:
            published = _apply(source, incoming, before, actor=actor, today=today, now=now)
    identify.settle(actor, access, identify.PUBLISH, hit=not published.held)
    return published


def _apply(
    source: Source,
    incoming: IncomingRecord,
    before: SourceRecord | None,
    *,
    actor: User,
    today: datetime.date | None,
    now: datetime.datetime,
) -> Published:
    """Store the record, link it and refresh its person (inside the caller's transaction)."""
    stored = records_store(source, [incoming], source_import=None, received_at=now)
    if stored.unchanged:
        assert before is not None
        return Published(
            record_id=incoming.record_id,
            status="unchanged",
            person_id=before.person_id,
            link_rule=before.link_rule,
        )
    record = SourceRecord.objects.get(source=source, record_id=incoming.record_id)
    status = "new" if stored.new else "changed"
    _unmapped_count(
        source,
        _unmapped_of(before.problems) if before is not None else set(),
        _unmapped_of(incoming.problems),
    )
    if record.person_id is None:
        person_id, rule, detail = _person_for(record, now)
        SourceRecord.objects.filter(pk=record.pk).update(
            person_id=person_id, link_rule=rule, link_detail=detail, linked_at=now
        )
        record.person_id, record.link_rule = person_id, rule
    assert record.person_id is not None
    audit_write(
        actor,
        "source_record",
        record.pk,
        {
            "action": "record published",
            "source": source.code,
            "record_id": incoming.record_id,
            "version": record.version,
            "status": status,
            "person": record.person_id,
            "link_rule": record.link_rule,
        },
    )
    golden_refresh([record.person_id], actor=actor, today=today)
    return Published(
        record_id=incoming.record_id,
        status=status,
        person_id=record.person_id,
        link_rule=record.link_rule,
        unmapped=sorted(_unmapped_of(incoming.problems)),
    )


def held_records_for(user: User, source: Source) -> QuerySet[HeldRecord]:
    """The source's held records a reviewer may decide: those of persons the user reads, for
    a user who manages sources (others: none)."""
    if not access_for(user).manages_sources:
        return HeldRecord.objects.none()
    visible = people_visible_to(user).values("pk")
    return HeldRecord.objects.filter(source=source, person_id__in=visible).order_by(
        "received_at", "pk"
    )


class HeldRecordMissing(LookupError):
    """No such held record among those the user may decide."""


def held_record_decide(
    source: Source,
    held_id: int,
    *,
    apply: bool,
    actor: User,
    today: datetime.date | None = None,
) -> Published | None:
    """Apply a held record (as if its publisher had sent it now, read by the source's current
    mapping; the reviewer must be granted what it sets) or reject it; audited either way. A
    held record of a source that keeps people's history is never applied (ADR 0033).
    Raises HeldRecordMissing, PublishRefused."""
    held = held_records_for(actor, source).filter(pk=held_id).first()
    if held is None:
        raise HeldRecordMissing(held_id)
    detail = {
        "source": source.code,
        "record_id": held.record_id,
        "person": held.person_id,
        "publisher": held.publisher_id,
    }
    if not apply:
        with transaction.atomic():
            held.delete()
            audit_write(actor, "held_record", held_id, {"action": "held record rejected", **detail})
        return None
    if source.code in history_sources():
        raise PublishRefused([("-", history_publish_refused(source.code))])
    incoming = _incoming(source, held.raw)
    problems = _grant_problems(access_for(actor), incoming.mapped)
    if problems:
        raise OutsideGrant(problems)
    now = timezone.now()
    with transaction.atomic():
        Source.objects.select_for_update().filter(pk=source.pk).first()
        before = SourceRecord.objects.filter(source=source, record_id=incoming.record_id).first()
        held.delete()
        audit_write(actor, "held_record", held_id, {"action": "held record applied", **detail})
        return _apply(source, incoming, before, actor=actor, today=today, now=now)


def source_publishers_set(
    source: Source,
    *,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    actor: User | None,
) -> list[str]:
    """Let these users publish records of the source (``add``) or no longer (``remove``), by
    username; returns the publishers' usernames. Raises SourceError naming an unknown user,
    or when adding a publisher to a source that keeps people's history (ADR 0033: only
    ``renfang register import`` writes it; a publisher left on it may still be removed)."""
    users = get_user_model()
    add, remove = list(add), list(remove)
    if add and source.code in history_sources():
        raise SourceError(
            _(
                "source %(code)s keeps people's residence and hukou history (golden.toml, "
                "[history]): only renfang register import writes a history source; it has no "
                "publishers"
            )
            % {"code": source.code}
        )
    found = {
        user.get_username(): user
        for user in users.objects.filter(**{f"{users.USERNAME_FIELD}__in": add + remove})
    }
    unknown = [name for name in add + remove if name not in found]
    if unknown:
        raise SourceError(_("no such user: %(names)s") % {"names": ", ".join(unknown)})
    with transaction.atomic():
        before = set(source.publishers.values_list(users.USERNAME_FIELD, flat=True))
        source.publishers.add(*(found[name] for name in add))
        source.publishers.remove(*(found[name] for name in remove))
        after = set(source.publishers.values_list(users.USERNAME_FIELD, flat=True))
        if after != before:
            audit_write(
                actor,
                "source",
                source.code,
                {
                    "action": "publishers changed",
                    "added": sorted(after - before),
                    "removed": sorted(before - after),
                },
            )
    return sorted(after)
