"""The person page's "sources" section: each field's golden value with the source, record and
date it came from and what other sources hold (provenance); the person's source records; the
merges and splits that made this person. Values are masked and granted like the rest of the
page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q

from renfang.accounts.access import Access, shown_text
from renfang.linkage.models import PersonMerge
from renfang.people.golden import names_sources, person_provenance
from renfang.people.golden.values import agree
from renfang.people.models import Person
from renfang.people.selectors import people_visible_to
from renfang.sources.models import SourceRecord
from renfang.sources.selectors import records_of_person
from renfang.web.sourcefields import ValueShower, field_label

User = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class OtherRow:
    source: str
    value: str
    record_id: str
    received_at: Any
    agrees: bool


@dataclass(frozen=True)
class ProvenanceRow:
    field: str
    label: str
    value: str
    source: str
    record_id: str
    as_of: Any
    others: list[OtherRow]


@dataclass(frozen=True)
class RecordRow:
    record: SourceRecord
    record_id: str
    source: str
    link_rule: str


@dataclass(frozen=True)
class MergeRow:
    merge: PersonMerge
    kind: str
    other_id: int | None  # None: the other person is outside the user's area
    this_survived: bool
    records: int


def _text(value: object) -> str:
    return "" if value is None else str(value)


def provenance_rows(person: Person, access: Access) -> list[ProvenanceRow]:
    """``person_provenance`` as the user may see it: fields not granted are left out, ID and
    phone numbers masked, record ids with identifiers in them masked."""
    provenance = list(person_provenance(person))
    shower = ValueShower(
        access,
        [{p.field: _text(p.value)} for p in provenance]
        + [{p.field: _text(o.value)} for p in provenance for o in p.others],
    )
    rows = []
    named = names_sources(access)
    for item in provenance:
        if not shower.sees(item.field):
            continue
        golden = _text(item.value)
        if not named:  # which sources hold the person would tell its category (ADR 0022)
            rows.append(
                ProvenanceRow(
                    field=item.field,
                    label=str(getattr(item, "label", "") or field_label(item.field)),
                    value=shower.text(item.field, golden) or "",
                    source="",
                    record_id="",
                    as_of=None,
                    others=[],
                )
            )
            continue
        rows.append(
            ProvenanceRow(
                field=item.field,
                label=str(getattr(item, "label", "") or field_label(item.field)),
                value=shower.text(item.field, golden) or "",
                source=_text(item.source_name or item.source_code),
                record_id=shown_text(access, _text(item.record_id)),
                as_of=item.as_of,
                others=[
                    OtherRow(
                        source=_text(other.source_name or other.source_code),
                        value=shower.text(item.field, _text(other.value)) or "",
                        record_id=shown_text(access, _text(other.record_id)),
                        received_at=other.received_at,
                        # As the conflicts judge it: 張偉 agrees with 张伟, 21 with 20.
                        agrees=agree(item.field, golden, _text(other.value)),
                    )
                    for other in item.others
                ],
            )
        )
    return rows


def record_rows(person: Person, access: Access) -> list[RecordRow]:
    if not names_sources(access):
        return []
    return [
        RecordRow(
            record=record,
            record_id=shown_text(access, record.record_id),
            source=record.source.name,
            link_rule=str(record.get_link_rule_display()) if record.link_rule else "",
        )
        for record in records_of_person(person)
    ]


def merge_rows(person: Person, user: User) -> list[MergeRow]:
    merges = list(
        PersonMerge.objects.filter(Q(survivor=person) | Q(merged=person)).order_by("-at", "-pk")
    )
    others = {m.merged_id if m.survivor_id == person.pk else m.survivor_id for m in merges}
    visible = set(people_visible_to(user).filter(pk__in=others).values_list("pk", flat=True))
    rows = []
    for merge in merges:
        this_survived = merge.survivor_id == person.pk
        other = merge.merged_id if this_survived else merge.survivor_id
        rows.append(
            MergeRow(
                merge=merge,
                kind=str(merge.get_kind_display()),
                other_id=other if other in visible else None,
                this_survived=this_survived,
                records=len(merge.records) if isinstance(merge.records, list) else 0,
            )
        )
    return rows


def sources_context(person: Person, access: Access, user: User) -> dict[str, Any]:
    """The context of the person page's sources section."""
    return {
        "provenance": provenance_rows(person, access),
        "source_records": record_rows(person, access),
        "merges": merge_rows(person, user),
        "resolves_identities": access.resolves_identities,
    }
