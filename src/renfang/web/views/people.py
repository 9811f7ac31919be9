"""The person page: identity, derived category, hukou and residence history, attributes, tags;
and showing a masked ID or phone number in full, once, for a stated purpose (unmask)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from renfang.accounts.access import access_for
from renfang.people.models import Person
from renfang.people.selectors import (
    RevealRefused,
    person_get_for_user,
    person_identifier_reveal_for_user,
)
from renfang.web.cards import person_card
from renfang.web.forms import RevealForm

TEMPLATE = "web/person_detail.html"


def _person_page(
    request: HttpRequest,
    person_id: int,
    *,
    status: int = 200,
    revealed_id_number: bool = False,
    revealed_phones: list[str] | None = None,
    **extra: Any,
) -> HttpResponse:
    try:
        person = person_get_for_user(request.user, person_id)
    except Person.DoesNotExist as exc:
        raise Http404 from exc
    context = person_card(
        person,
        access_for(request.user),
        today=timezone.localdate(),
        revealed_id_number=revealed_id_number,
        revealed_phones=revealed_phones or [],
    )
    context.update(extra)
    return render(request, TEMPLATE, context, status=status)


@login_required
def person_detail(request: HttpRequest, person_id: int) -> HttpResponse:
    return _person_page(request, person_id)


@login_required
@require_POST
def person_reveal(request: HttpRequest, person_id: int) -> HttpResponse:
    """Show the ID number or the phone numbers in full on this one response; nothing is kept,
    so the next visit shows them masked again. The selector audits it with the purpose."""
    form = RevealForm(request.POST)
    field = request.POST.get("field", "")
    if not form.is_valid():
        access = access_for(request.user)
        if "field" in form.errors or access.may_unmask or access.full_identifiers:
            # A missing purpose is the user's to fix (a refusal is the selector's to say).
            return _person_page(
                request, person_id, status=400, reveal_form=form, reveal_field=field
            )
    purpose = form.cleaned_data.get("purpose") or request.POST.get("purpose", "")
    try:
        values = person_identifier_reveal_for_user(
            request.user, person_id, field, purpose=str(purpose)
        )
    except Person.DoesNotExist as exc:
        raise Http404 from exc
    except RevealRefused:
        return _person_page(
            request,
            person_id,
            reveal_refused=_("Your role may not show this number in full."),
        )
    return _person_page(
        request,
        person_id,
        revealed_id_number=field == "id_number",
        revealed_phones=values if field == "phone" else [],
        revealed_field=field,
        revealed_purpose=purpose,
    )
