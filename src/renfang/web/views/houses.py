"""The house page: address, area, kind, use history, who lives there now and who lived there."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from renfang.accounts.access import access_for
from renfang.accounts.models import PersonField
from renfang.audit.services import audit_people_shown
from renfang.codes.selectors import code_label
from renfang.houses.models import House
from renfang.houses.selectors import house_get_for_user
from renfang.people.models import Residence
from renfang.people.selectors import residence_list_for_house_for_user
from renfang.web.cards import PersonListRow, list_columns, person_list_row
from renfang.web.scope import breadcrumb


@dataclass(frozen=True)
class ResidentRow:
    residence: Residence
    person: PersonListRow  # masked as the user must see it


@login_required
def house_detail(request: HttpRequest, house_code: str) -> HttpResponse:
    try:
        house = house_get_for_user(request.user, house_code)
    except House.DoesNotExist as exc:
        raise Http404 from exc
    access = access_for(request.user)
    today = timezone.localdate()
    uses = list(house.uses.all())
    # Who lives in a house is residence data: a department reader needs that field.
    shows_residents = access.sees_field(PersonField.RESIDENCES)
    residences = (
        [
            ResidentRow(r, person_list_row(r.person, access, with_residence=False))
            for r in residence_list_for_house_for_user(request.user, house)
        ]
        if shows_residents
        else []
    )
    # The residents shown are reads of those people (issue 11): one event names them all.
    audit_people_shown(
        request.user,
        [row.residence.person_id for row in residences],
        listed="house",
        record_type="house",
        record_id=house_code,
    )
    context = {
        "house": house,
        "breadcrumb": breadcrumb(house.area, access),
        "area_linked": access.covers(house.area_id),
        "kind_label": code_label("house_kind", house.kind),
        "uses": [
            {
                "use": use,
                "label": code_label("house_use", use.use),
                "current": use.is_valid_on(today),
            }
            for use in reversed(uses)
        ],
        "shows_residents": shows_residents,
        "columns": list_columns(access),
        "residents_now": [r for r in residences if r.residence.is_valid_on(today)],
        "residents_before": [
            r
            for r in residences
            if r.residence.valid_to is not None and r.residence.valid_to < today
        ],
        "residents_later": [
            r
            for r in residences
            # A house's residents always have a first day (only whereabouts unknown may not).
            if r.residence.valid_from is not None and r.residence.valid_from > today
        ],
    }
    return render(request, "web/house_detail.html", context)
