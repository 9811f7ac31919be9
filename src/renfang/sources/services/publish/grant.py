"""A publisher writes only within its grant (ADR 0022): what of a record lies outside it (a
division outside the publisher's areas, a field or tag it is not granted: refused and audited
as denied, before any person is looked up) and which persons a record may change (those the
publisher reads, or those in no area at all)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from renfang.accounts.access import SOURCE_FIELD_GRANTS, Access
from renfang.accounts.models import PersonField, PoliceArea, RoleGrant
from renfang.areas.models import Area
from renfang.audit.models import Action
from renfang.audit.services import User, audit_record
from renfang.codes.models import Code
from renfang.houses.models import House
from renfang.people.models import Person
from renfang.people.selectors import people_in_area_q, people_visible_to
from renfang.sources.models import Source
from renfang.sources.services.publish.outcomes import OutsideGrant


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


def _may_change(actor: User, person_id: int) -> bool:
    """Whether a record may change the person: one the publisher reads, or one who lies in no
    area at all (no residence or hukou that any area holds: a person only records without a
    place made, whom nobody reads)."""
    if people_visible_to(actor).filter(pk=person_id).exists():
        return True
    roots = list(Area.objects.filter(parent__isnull=True).values_list("code", flat=True))
    return not Person.objects.filter(pk=person_id).filter(people_in_area_q(tuple(roots))).exists()
