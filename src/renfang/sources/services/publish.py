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
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from renfang.audit.services import User
from renfang.linkage.normalize import id_key
from renfang.people.golden import golden_refresh
from renfang.people.models import IdType, Person
from renfang.sources.mapping import UNMAPPED, MappingError, parse_mapping
from renfang.sources.models import LinkRule, Source, SourceRecord, UnmappedCode
from renfang.sources.readers import cell_text
from renfang.sources.services.sources import SourceError, audit_write
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


@dataclass
class Published:
    """What publishing one record did."""

    record_id: str
    status: str  # "new", "changed" or "unchanged"
    person_id: int | None
    link_rule: str
    unmapped: list[tuple[str, str]] = field(default_factory=list)


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
    person = Person.objects.create(name="", sex="")
    return person.pk, LinkRule.SINGLETON, {"rule": "singleton", "published": True}


def record_publish(
    source: Source,
    values: Mapping[str, Any],
    *,
    actor: User,
    today: datetime.date | None = None,
) -> Published:
    """Take one record of ``source`` from ``actor`` (a publisher of the source), see the
    module's docstring. Raises PublishRefused (field, reason) and saves nothing when the
    record cannot be read or ``actor`` may not publish to the source."""
    if not actor.is_authenticated or not source.publishers.filter(pk=actor.pk).exists():
        raise NotPublisher(
            [("-", _("you may not publish records of source %(code)s") % {"code": source.code})]
        )
    incoming = _incoming(source, values)
    now = timezone.now()
    with transaction.atomic():
        Source.objects.select_for_update().filter(pk=source.pk).first()
        before = SourceRecord.objects.filter(source=source, record_id=incoming.record_id).first()
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


def source_publishers_set(
    source: Source,
    *,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    actor: User | None,
) -> list[str]:
    """Let these users publish records of the source (``add``) or no longer (``remove``), by
    username; returns the publishers' usernames. Raises SourceError naming an unknown user."""
    users = get_user_model()
    add, remove = list(add), list(remove)
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
