"""Where each field of a person's golden record came from, and what the other sources say:
the person page's provenance panel (the web layer masks and filters by the user's grants;
the read of the person itself is audited by ``person_get_for_user``)."""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from renfang.accounts.access import Access
from renfang.accounts.models import PersonField
from renfang.people.golden.policy import GOLDEN_FIELDS, GoldenPolicy, golden_policy
from renfang.people.golden.records import Pick, Record, pick_golden, ranked, record_from
from renfang.people.models import Person
from renfang.sources.models import SourceRecord

FIELD_LABELS = {
    "id_type": _("ID type"),
    "id_number": _("ID number"),
    "name": _("full name"),
    "sex": _("sex"),
    "birth_date": _("birth date"),
    "nationality": _("nationality"),
    "ethnicity": _("ethnicity"),
    "hukou_division": _("hukou division"),
    "hukou_type": _("household type"),
    "hukou_address": _("hukou address"),
    "residence_division": _("residence division"),
    "residence_house_code": _("house code"),
    "residence_address": _("residence address"),
    "residence_from": _("living there since"),
    "residence_to": _("living there until"),
    "phone": _("phone"),
    "marital_status": _("marital status"),
    "education": _("education"),
    "employment": _("employment"),
    "tags": _("tags"),
}


# The fields that decide a person's category (people.categories): a source whose mere holding
# of a person tells the category (a police register record: registered; a residence permit:
# migrant) is named only to readers who see these (ADR 0022).
CATEGORY_FIELDS = (PersonField.NATIONALITY, PersonField.HUKOU)


def names_sources(access: Access) -> bool:
    """Whether the reader may be told which sources hold a person: only when its grant holds
    the fields that decide the person's category (every role but a department reader does).
    Otherwise the provenance shows each granted field's golden value alone: no source, no
    record id, no other sources' values, and the person's source records are not listed."""
    return all(access.sees_field(field) for field in CATEGORY_FIELDS)


@dataclass(frozen=True)
class OtherValue:
    """A value another record holds for the field."""

    source_code: str
    source_name: str
    value: str
    record_id: str  # the record's id within its source
    received_at: datetime.datetime
    record_pk: int = 0


@dataclass(frozen=True)
class FieldProvenance:
    """One field of the golden record: its value, the source and record it came from, and
    when that record was received; ``others``: the other records' values, best first."""

    field: str
    label: str
    value: str
    source_code: str
    source_name: str
    record_id: str
    as_of: datetime.datetime
    others: list[OtherValue] = dataclasses.field(default_factory=list)
    record_pk: int = 0


def _stored_pick(entry: object, by_pk: dict[int, Record]) -> Pick | None:
    """The golden record's stored choice for a field, while its record is still the person's."""
    if not isinstance(entry, dict):
        return None
    record = by_pk.get(entry.get("record"))  # type: ignore[arg-type]
    value = entry.get("value")
    if record is None or not isinstance(value, str):
        return None
    return Pick(value, record)


def person_provenance(
    person: Person, *, policy: GoldenPolicy | None = None
) -> list[FieldProvenance]:
    """Every field of the person's golden record that some source knows, in the order of
    ``GOLDEN_FIELDS``. The choice stored by the last ``golden_refresh`` is shown (it is what
    the person's fields say); a person the refresh has not seen yet (one only renfang's own
    register knows) is shown as the policy would choose."""
    policy = policy or golden_policy()
    while person.merged_into_id is not None:
        person = Person.objects.get(pk=person.merged_into_id)
    rows = list(
        SourceRecord.objects.filter(person=person)
        .select_related("source")
        .order_by("pk")
        .values_list("pk", "source__code", "source__name", "record_id", "received_at", "mapped")
    )
    records = [record_from(pk, code, received, mapped) for pk, code, _, _, received, mapped in rows]
    by_pk = {record.pk: record for record in records}
    names = {code: name for _, code, name, *_ in rows}
    record_ids = {pk: record_id for pk, _, _, record_id, *_ in rows}
    live = pick_golden(records, policy)
    provenance = []
    for name in GOLDEN_FIELDS:
        pick = _stored_pick(person.golden.get(name), by_pk) or live.get(name)
        if pick is None:
            continue
        chosen = pick.record
        others = [
            OtherValue(
                source_code=record.source,
                source_name=names[record.source],
                value=record.values[name],
                record_id=record_ids[record.pk],
                received_at=record.received_at,
                record_pk=record.pk,
            )
            for record in ranked(records, ("*",), policy)
            if record is not chosen and record.values.get(name)
        ]
        others.sort(key=lambda other: _rank(policy, name, other.source_code))
        provenance.append(
            FieldProvenance(
                field=name,
                label=str(FIELD_LABELS[name]),
                value=pick.value,
                source_code=chosen.source,
                source_name=names[chosen.source],
                record_id=record_ids[chosen.pk],
                as_of=chosen.received_at,
                others=others,
                record_pk=chosen.pk,
            )
        )
    return provenance


def _rank(policy: GoldenPolicy, name: str, source: str) -> int:
    rank = policy.rank(name, source)
    return len(policy.sources[name]) if rank is None else rank
