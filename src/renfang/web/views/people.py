"""The person page: identity, derived category, hukou and residence history, attributes, tags."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from renfang.areas.models import Area
from renfang.codes.models import Code
from renfang.codes.selectors import code_label, division_name
from renfang.houses.models import House
from renfang.people.categories import category
from renfang.people.models import AttributeKind, Person
from renfang.people.selectors import person_get_for_user
from renfang.web.labels import CATEGORY_LABEL_ONE


@dataclass(frozen=True)
class FactRow:
    """One time-valid fact as the page shows it."""

    valid_from: datetime.date | None
    valid_to: datetime.date | None
    current: bool


@dataclass(frozen=True)
class HukouRow(FactRow):
    division: str
    division_name: str
    division_is_area: bool
    address: str
    household_type: str


@dataclass(frozen=True)
class ResidenceRow(FactRow):
    division: str | None  # None: whereabouts unknown
    division_name: str
    division_is_area: bool
    house: House | None
    relation: str


@dataclass(frozen=True)
class AttributeRow(FactRow):
    kind: str
    value: str


@dataclass(frozen=True)
class TagRow(FactRow):
    label: str
    sensitive: bool
    note: str


# Attribute kinds whose value is a code of the code set of the same name.
_CODED_ATTRIBUTES = frozenset(
    {AttributeKind.EDUCATION, AttributeKind.MARITAL_STATUS, AttributeKind.EMPLOYMENT}
)


def _attribute_value(kind: str, value: str) -> str:
    return code_label(kind, value) if kind in _CODED_ATTRIBUTES else value


@login_required
def person_detail(request: HttpRequest, person_id: int) -> HttpResponse:
    try:
        person = person_get_for_user(request.user, person_id)
    except Person.DoesNotExist as exc:
        raise Http404 from exc
    today = timezone.localdate()
    hukous = list(person.hukous.all())
    residences = list(person.residences.all())
    tags = list(person.tags.all())
    divisions = {h.division for h in hukous} | {r.division for r in residences if r.division}
    areas = set(Area.objects.filter(code__in=divisions).values_list("code", flat=True))
    sensitive_tags = set(
        Code.objects.filter(
            code_set_id="person_tag", sensitive=True, code__in={t.tag for t in tags}
        ).values_list("code", flat=True)
    )
    hukou_today = next((h for h in hukous if h.is_valid_on(today)), None)
    person_category = category(
        id_type=person.id_type,
        nationality=person.nationality,
        hukou_division=hukou_today.division if hukou_today else None,
    )
    context = {
        "person": person,
        "today": today,
        "id_type_label": person.get_id_type_display(),
        "sex_label": code_label("sex", person.sex),
        "ethnicity_label": code_label("ethnicity", person.ethnicity) if person.ethnicity else "",
        "nationality_label": code_label("nationality", person.nationality),
        "category_label": CATEGORY_LABEL_ONE[person_category],
        "hukous": [
            HukouRow(
                valid_from=h.valid_from,
                valid_to=h.valid_to,
                current=h.is_valid_on(today),
                division=h.division,
                division_name=division_name(h.division),
                division_is_area=h.division in areas,
                address=h.address,
                household_type=h.get_household_type_display(),
            )
            for h in reversed(hukous)
        ],
        "residences": [
            ResidenceRow(
                valid_from=r.valid_from,
                valid_to=r.valid_to,
                current=r.is_valid_on(today),
                division=r.division,
                division_name=division_name(r.division) if r.division else "",
                division_is_area=r.division in areas,
                house=r.house,
                relation=r.get_relation_display(),
            )
            for r in reversed(residences)
        ],
        "attributes": [
            AttributeRow(
                valid_from=a.valid_from,
                valid_to=a.valid_to,
                current=a.is_valid_on(today),
                kind=a.get_kind_display(),
                value=_attribute_value(a.kind, a.value),
            )
            for a in person.attributes.all()
        ],
        "tags": [
            TagRow(
                valid_from=t.valid_from,
                valid_to=t.valid_to,
                current=t.is_valid_on(today),
                label=code_label("person_tag", t.tag),
                sensitive=t.tag in sensitive_tags,
                note=t.note,
            )
            for t in tags
        ],
    }
    return render(request, "web/person_detail.html", context)
