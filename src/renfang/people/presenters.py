"""What one user is shown of a person, whatever shows it: the person page and export
(``renfang.web.cards``) and the API (``renfang.people.api``) build their answers from these
pieces, so that a rule of showing (a title without the name, a house outside the area, a
sensitive tag, a coded attribute, the category) is written once."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence

from django.utils.translation import gettext as _

from renfang.accounts.access import Access
from renfang.accounts.models import PersonField
from renfang.codes.models import Code
from renfang.codes.selectors import code_label
from renfang.houses.models import House
from renfang.people.categories import Category, category
from renfang.people.models import AttributeKind, Hukou, Person, PersonTag, Residence

# Attribute kinds whose value is a code of the code set of the same name.
CODED_ATTRIBUTES = frozenset(
    {AttributeKind.EDUCATION, AttributeKind.MARITAL_STATUS, AttributeKind.EMPLOYMENT}
)


def person_title(person: Person, access: Access) -> str:
    """The person's name, or a neutral title for a reader not granted names."""
    if access.sees_field(PersonField.NAME):
        return person.name
    return _("Person no. %(id)s") % {"id": person.pk}


def attribute_label(kind: str, value: str) -> str:
    """An attribute's value in words: a coded one by its code set, any other as it is."""
    return code_label(kind, value) if kind in CODED_ATTRIBUTES else value


def sensitive_tag_codes(tags: Iterable[str]) -> set[str]:
    """Which of these person_tag codes the code set marks sensitive."""
    return set(
        Code.objects.filter(
            code_set_id="person_tag", sensitive=True, code__in=set(tags)
        ).values_list("code", flat=True)
    )


def visible_tags(tags: Sequence[PersonTag], access: Access) -> list[tuple[PersonTag, bool]]:
    """The tags the role may see, each with whether it is sensitive. A tag the role may not
    see is left out without a trace: "hidden" would tell."""
    sensitive = sensitive_tag_codes(t.tag for t in tags)
    return [
        (t, t.tag in sensitive)
        for t in tags
        if access.sees_tag(t.tag, sensitive=t.tag in sensitive)
    ]


def house_shown(residence: Residence, access: Access) -> House | None:
    """The residence's house if it lies in the user's area; a house outside is not theirs to
    see (only the residence's division is named)."""
    house: House | None = residence.house
    return house if house is not None and access.covers(house.area_id) else None


def person_category(person: Person, hukous: Iterable[Hukou], today: datetime.date) -> Category:
    """Where the hukou is today and whether the person is foreign (shown only to a role that
    sees both the hukou and the nationality)."""
    hukou_today = next((h for h in hukous if h.is_valid_on(today)), None)
    return category(
        id_type=person.id_type,
        nationality=person.nationality,
        hukou_division=hukou_today.division if hukou_today else None,
    )
