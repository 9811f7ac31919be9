"""What a page or an export shows of a person, for one user: masked identifiers, only the
fields a department reader was granted, only the sensitive tags the role is entitled to.

Every page and export that shows a person builds it here, so masking has one door.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from renfang.accounts.access import Access, shown_id_number, shown_phone
from renfang.accounts.models import PersonField
from renfang.areas.models import Area
from renfang.codes.selectors import code_label, division_name
from renfang.houses.models import House
from renfang.people.models import (
    AttributeKind,
    Hukou,
    Person,
    PersonAttribute,
    PersonTag,
    Residence,
)
from renfang.people.presenters import (
    attribute_label,
    house_shown,
    person_category,
    person_title,
    visible_tags,
)
from renfang.web.labels import CATEGORY_LABEL_ONE


@dataclass(frozen=True)
class Identifier:
    """An ID or phone number as this user sees it. ``masked``: shown partly hidden, so the
    page may offer to show it in full."""

    shown: str
    masked: bool


def id_number_shown(
    access: Access, value: str, *, revealed: bool = False, id_type: str = ""
) -> Identifier:
    shown = value if revealed else shown_id_number(access, value, id_type)
    return Identifier(shown=shown, masked=shown != value)


def phone_shown(access: Access, value: str, *, revealed: bool = False) -> Identifier:
    shown = value if revealed else shown_phone(access, value)
    return Identifier(shown=shown, masked=shown != value)


# ---------------------------------------------------------------------------------------------
# The person page


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
    division_linked: bool  # an area page the user may open
    address: str
    household_type: str


@dataclass(frozen=True)
class ResidenceRow(FactRow):
    division: str | None  # None: whereabouts unknown
    division_name: str
    division_linked: bool
    house: House | None
    house_linked: bool
    relation: str


@dataclass(frozen=True)
class AttributeRow(FactRow):
    kind: str
    label: str
    value: str
    masked: bool  # a phone number shown masked: the page offers to show it in full


@dataclass(frozen=True)
class TagRow(FactRow):
    label: str
    sensitive: bool
    note: str


def _attribute_row(
    attribute: PersonAttribute, access: Access, today: datetime.date, revealed_phones: set[str]
) -> AttributeRow:
    value = attribute.value
    masked = False
    if attribute.kind == AttributeKind.PHONE:
        phone = phone_shown(access, value, revealed=value in revealed_phones)
        value, masked = phone.shown, phone.masked
    else:
        value = attribute_label(attribute.kind, value)
    return AttributeRow(
        valid_from=attribute.valid_from,
        valid_to=attribute.valid_to,
        current=attribute.is_valid_on(today),
        kind=attribute.kind,
        label=attribute.get_kind_display(),
        value=value,
        masked=masked,
    )


def _tag_rows(tags: list[PersonTag], access: Access, today: datetime.date) -> list[TagRow]:
    if not access.sees_field(PersonField.TAGS):
        return []
    return [
        TagRow(
            valid_from=t.valid_from,
            valid_to=t.valid_to,
            current=t.is_valid_on(today),
            label=code_label("person_tag", t.tag),
            sensitive=sensitive,
            note=t.note,
        )
        for t, sensitive in visible_tags(tags, access)
    ]


def _hukou_rows(
    hukous: list[Hukou], access: Access, areas: set[str], today: datetime.date
) -> list[HukouRow]:
    return [
        HukouRow(
            valid_from=h.valid_from,
            valid_to=h.valid_to,
            current=h.is_valid_on(today),
            division=h.division,
            division_name=division_name(h.division),
            division_linked=h.division in areas and access.covers(h.division),
            address=h.address,
            household_type=h.get_household_type_display(),
        )
        for h in reversed(hukous)
    ]


def _residence_rows(
    residences: list[Residence], access: Access, areas: set[str], today: datetime.date
) -> list[ResidenceRow]:
    return [
        ResidenceRow(
            valid_from=r.valid_from,
            valid_to=r.valid_to,
            current=r.is_valid_on(today),
            division=r.division,
            division_name=division_name(r.division) if r.division else "",
            division_linked=bool(r.division) and r.division in areas and access.covers(r.division),
            # A house outside the user's area is not theirs to see: only its division shows.
            house=house_shown(r, access),
            house_linked=house_shown(r, access) is not None,
            relation=r.get_relation_display(),
        )
        for r in reversed(residences)
    ]


def person_card(
    person: Person,
    access: Access,
    *,
    today: datetime.date,
    revealed_id_number: bool = False,
    revealed_phones: Iterable[str] = (),
) -> dict[str, Any]:
    """The person page's context: only what this user may see, identifiers masked unless
    the role sees them whole or the user has just asked to see one in full.

    ``person`` comes from ``person_get_for_user`` (facts prefetched)."""
    sees = access.sees_field
    hukous = list(person.hukous.all()) if sees(PersonField.HUKOU) else []
    residences = list(person.residences.all()) if sees(PersonField.RESIDENCES) else []
    divisions = {h.division for h in hukous} | {r.division for r in residences if r.division}
    areas = set(Area.objects.filter(code__in=divisions).values_list("code", flat=True))
    id_number = (
        id_number_shown(
            access, person.id_number, revealed=revealed_id_number, id_type=person.id_type
        )
        if sees(PersonField.ID_NUMBER)
        else None
    )
    category_label: str | Promise | None = None
    # The category says where the hukou is and whether the person is foreign.
    if sees(PersonField.HUKOU) and sees(PersonField.NATIONALITY):
        category_label = CATEGORY_LABEL_ONE[person_category(person, hukous, today)]
    attributes = [a for a in person.attributes.all() if sees(a.kind)]
    phones = set(revealed_phones)
    # The unmask action is for roles that see masked numbers and may ask for them whole.
    offers_unmask = access.may_unmask and not access.full_identifiers
    return {
        "person": person,
        "title": person_title(person, access),
        "today": today,
        "sees": {field: sees(field) for field in PersonField.values},
        "id_type_label": person.get_id_type_display(),
        "id_number": id_number,
        "sex_label": code_label("sex", person.sex),
        "ethnicity_label": code_label("ethnicity", person.ethnicity) if person.ethnicity else "",
        "nationality_label": code_label("nationality", person.nationality),
        "category_label": category_label,
        "hukous": _hukou_rows(hukous, access, areas, today),
        "residences": _residence_rows(residences, access, areas, today),
        "attributes": [_attribute_row(a, access, today, phones) for a in attributes],
        "shows_attributes": any(sees(kind) for kind in AttributeKind.values),
        "tags": _tag_rows(list(person.tags.all()), access, today),
        "offers_unmask": offers_unmask,
    }


# ---------------------------------------------------------------------------------------------
# Lists of people: search results, residents of a house, the Excel export


def lives_at(person: Person, access: Access) -> str:
    """Where a person lives today, in words, from the prefetched ``current_residences``; a
    house outside the user's area is named only by its division."""
    residences: list[Residence] = getattr(person, "current_residences", [])
    if not residences:
        return ""
    residence = residences[0]
    house = house_shown(residence, access)
    if house is not None:
        return house.address
    if residence.division:
        return division_name(residence.division)
    return _("whereabouts unknown")


@dataclass(frozen=True)
class PersonListRow:
    """One person in a list, as this user may see them; ``None``: a field not granted."""

    person_id: int
    title: str
    sex: str | None
    birth_date: datetime.date | None
    id_type: str | None  # the type's label when it is not the resident ID card
    id_number: str | None
    lives_at: str | None


def person_list_row(
    person: Person, access: Access, *, with_residence: bool = True
) -> PersonListRow:
    sees = access.sees_field
    return PersonListRow(
        person_id=person.pk,
        title=person_title(person, access),
        sex=code_label("sex", person.sex) if sees(PersonField.SEX) else None,
        birth_date=person.birth_date if sees(PersonField.BIRTH_DATE) else None,
        id_type=(
            str(person.get_id_type_display())
            if sees(PersonField.ID_NUMBER) and person.id_type != "resident_id"
            else None
        ),
        id_number=shown_id_number(access, person.id_number, person.id_type)
        if sees(PersonField.ID_NUMBER)
        else None,
        lives_at=lives_at(person, access)
        if with_residence and sees(PersonField.RESIDENCES)
        else None,
    )


def list_columns(access: Access) -> dict[str, bool]:
    """Which columns a list of people shows this user."""
    return {
        "name": access.sees_field(PersonField.NAME),
        "sex": access.sees_field(PersonField.SEX),
        "birth_date": access.sees_field(PersonField.BIRTH_DATE),
        "id_number": access.sees_field(PersonField.ID_NUMBER),
        "lives_at": access.sees_field(PersonField.RESIDENCES),
    }


@dataclass(frozen=True)
class ExportColumn:
    field: str
    header: str | Promise
    value: Callable[[Person, Access], Any]


PEOPLE_EXPORT_COLUMNS = (
    ExportColumn(PersonField.NAME, gettext_lazy("Name"), lambda p, a: p.name),
    ExportColumn(PersonField.SEX, gettext_lazy("Sex"), lambda p, a: code_label("sex", p.sex)),
    ExportColumn(PersonField.BIRTH_DATE, gettext_lazy("Birth date"), lambda p, a: p.birth_date),
    ExportColumn(
        PersonField.ID_NUMBER, gettext_lazy("ID type"), lambda p, a: p.get_id_type_display()
    ),
    ExportColumn(
        PersonField.ID_NUMBER,
        gettext_lazy("ID number"),
        lambda p, a: shown_id_number(a, p.id_number, p.id_type),
    ),
    ExportColumn(
        PersonField.NATIONALITY,
        gettext_lazy("Nationality"),
        lambda p, a: code_label("nationality", p.nationality),
    ),
    ExportColumn(PersonField.RESIDENCES, gettext_lazy("Lives at (today)"), lives_at),
)


def people_export_columns(access: Access) -> list[ExportColumn]:
    return [column for column in PEOPLE_EXPORT_COLUMNS if access.sees_field(column.field)]
