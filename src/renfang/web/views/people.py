"""The person page: identity, derived category, hukou and residence history, attributes, tags,
and where each field came from (sources); showing a masked ID or phone number in full, once,
for a stated purpose (unmask). A person merged into another answers with the survivor."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from renfang.accounts.access import access_for
from renfang.audit.models import Action
from renfang.audit.services import audit_record
from renfang.linkage.selectors import person_resolve_merged
from renfang.people.models import Person
from renfang.people.selectors import (
    RevealRefused,
    people_visible_to,
    person_get_for_user,
    person_identifier_reveal_for_user,
)
from renfang.web.cards import person_card
from renfang.web.forms import MergeForm, RevealForm, SplitForm
from renfang.web.person_sources import sources_context

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
    access = access_for(request.user)
    context = person_card(
        person,
        access,
        today=timezone.localdate(),
        revealed_id_number=revealed_id_number,
        revealed_phones=revealed_phones or [],
    )
    context.update(sources_context(person, access, request.user))
    if access.resolves_identities:
        context["merge_form"] = MergeForm()
        context["split_form"] = SplitForm(
            record_choices=[(r.record.pk, r.record_id) for r in context["source_records"]]
        )
    context.update(extra)
    return render(request, TEMPLATE, context, status=status)


def _survivor_redirect(request: HttpRequest, person_id: int) -> HttpResponse | None:
    """A person merged into another: a redirect to the survivor, with a message, when the user
    may see the survivor; ``Http404`` (audited) when not; ``None`` for a person not merged."""
    survivor_id = person_resolve_merged(person_id)
    if survivor_id == person_id:
        return None
    if not people_visible_to(request.user).filter(pk=survivor_id).exists():
        audit_record(
            Action.DENIED,
            user=request.user,
            record_type="person",
            record_id=str(person_id),
            detail={"reason": "merged into a person outside the user's area"},
        )
        raise Http404
    messages.info(
        request,
        _("Person no. %(old)s was merged into this person; the old number leads here.")
        % {"old": person_id},
    )
    return redirect("web:person_detail", person_id=survivor_id)


@login_required
def person_detail(request: HttpRequest, person_id: int) -> HttpResponse:
    return _survivor_redirect(request, person_id) or _person_page(request, person_id)


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
