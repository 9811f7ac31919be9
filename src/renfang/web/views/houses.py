"""The house page: address, area, kind, use history, who lives there now and who lived there."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from renfang.codes.selectors import code_label
from renfang.houses.models import House
from renfang.houses.selectors import house_get_for_user
from renfang.people.selectors import residence_list_for_house_for_user
from renfang.web.views.areas import breadcrumb


@login_required
def house_detail(request: HttpRequest, house_code: str) -> HttpResponse:
    try:
        house = house_get_for_user(request.user, house_code)
    except House.DoesNotExist as exc:
        raise Http404 from exc
    today = timezone.localdate()
    uses = list(house.uses.all())
    residences = list(residence_list_for_house_for_user(request.user, house))
    context = {
        "house": house,
        "breadcrumb": breadcrumb(house.area),
        "kind_label": code_label("house_kind", house.kind),
        "uses": [
            {
                "use": use,
                "label": code_label("house_use", use.use),
                "current": use.is_valid_on(today),
            }
            for use in reversed(uses)
        ],
        "residents_now": [r for r in residences if r.is_valid_on(today)],
        "residents_before": [
            r for r in residences if r.valid_to is not None and r.valid_to < today
        ],
        "residents_later": [r for r in residences if r.valid_from > today],
    }
    return render(request, "web/house_detail.html", context)
