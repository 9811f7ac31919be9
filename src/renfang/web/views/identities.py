"""Identity resolution (身份识别) by people: the review queue of pairs ``renfang resolve`` was
unsure of, one pair side by side with its match weights and the decision; merging another
person into this one and splitting records off to a new person.

Only roles that resolve identities (``resolves_identities``) reach these pages, and only for
pairs and persons of their area: a pair is in the area when both records' persons are (a pair
straddling two areas is for a level that sees both). Anything else answers "not found", audited
as denied. The linkage services write and audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from renfang.accounts.access import Access, shown_text
from renfang.accounts.powers import access_with_power
from renfang.audit.models import Action
from renfang.audit.services import PERSON_IDS, audit_record
from renfang.linkage.models import ReviewPair, ReviewStatus
from renfang.linkage.selectors import (
    pair_weight,
    review_pair_get_for_user,
    review_pairs_for_user,
)
from renfang.linkage.services import LinkageError, person_merge, person_split, review_decide
from renfang.people.models import Person
from renfang.people.presenters import person_title
from renfang.people.selectors import people_visible_to, person_get_for_user
from renfang.sources.models import SourceRecord
from renfang.web.cards import person_list_row
from renfang.web.exports import EXPORT_LIMIT, xlsx_response
from renfang.web.forms import MergeForm, ReviewDecisionForm, SplitForm
from renfang.web.sourcefields import ValueShower, field_label, field_order

POWER = "resolves_identities"
PAGE_SIZE = 50
STATUSES = {s.value: s.label for s in ReviewStatus}


def _access(request: HttpRequest) -> Access:
    return access_with_power(request.user, POWER, path=request.path)


def _status(request: HttpRequest) -> str:
    status = request.GET.get("status", ReviewStatus.OPEN)
    return status if status in STATUSES else ReviewStatus.OPEN


@dataclass(frozen=True)
class PairRow:
    pair: ReviewPair
    left_name: str | None
    right_name: str | None
    left_source: str
    right_source: str


def _pair_row(pair: ReviewPair, shower: ValueShower) -> PairRow:
    left: SourceRecord = pair.left
    right: SourceRecord = pair.right
    return PairRow(
        pair=pair,
        left_name=shower.text("name", left.mapped.get("name", "")),
        right_name=shower.text("name", right.mapped.get("name", "")),
        left_source=left.source.name,
        right_source=right.source.name,
    )


def _pairs(request: HttpRequest, status: str) -> Any:
    return review_pairs_for_user(request.user, status=status).select_related(
        "left__source", "right__source"
    )


def _people_of(pairs: list[Any]) -> list[int]:
    """The people whose records the pairs show (issue 11: "who has read this person")."""
    people = (pair.left.person_id for pair in pairs), (pair.right.person_id for pair in pairs)
    return list(dict.fromkeys(p for side in people for p in side if p is not None))


@login_required
def review_list(request: HttpRequest) -> HttpResponse:
    access = _access(request)
    status = _status(request)
    page = Paginator(_pairs(request, status), PAGE_SIZE).get_page(request.GET.get("page"))
    pairs = list(page.object_list)
    shower = ValueShower(access)
    audit_record(
        Action.SEARCH,
        user=request.user,
        record_type="review_pair",
        detail={"list": "review pairs", "status": status, PERSON_IDS: _people_of(pairs)},
    )
    return render(
        request,
        "web/review_list.html",
        {
            "page": page,
            "rows": [_pair_row(pair, shower) for pair in pairs],
            "status": status,
            "statuses": STATUSES,
            "export_limit": EXPORT_LIMIT,
        },
    )


@login_required
def review_export(request: HttpRequest) -> HttpResponse:
    access = _access(request)
    status = _status(request)
    fetched = list(islice(_pairs(request, status).iterator(chunk_size=2000), EXPORT_LIMIT + 1))
    truncated = len(fetched) > EXPORT_LIMIT
    shower = ValueShower(access)
    rows = []
    for pair in fetched[:EXPORT_LIMIT]:
        row = _pair_row(pair, shower)
        rows.append(
            [
                pair.pk,
                pair.get_status_display(),
                round(pair.probability, 4),
                round(pair.match_weight, 2),
                row.left_source,
                shown_text(access, pair.left.record_id),
                row.left_name,
                row.right_source,
                shown_text(access, pair.right.record_id),
                row.right_name,
            ]
        )
    audit_record(
        Action.EXPORT,
        user=request.user,
        record_type="review_pair",
        detail={
            "list": "review pairs",
            "status": status,
            "rows": len(rows),
            "truncated": truncated,
            PERSON_IDS: _people_of(fetched[:EXPORT_LIMIT]),
        },
    )
    return xlsx_response(
        filename=f"renfang-review-{timezone.localdate().isoformat()}.xlsx",
        title=_("Review queue"),
        header=[
            _("Pair"),
            _("Status"),
            _("Match probability"),
            _("Match weight"),
            _("Source"),
            _("Record"),
            _("Name"),
            _("Other source"),
            _("Other record"),
            _("Other name"),
        ],
        rows=rows,
        truncated=truncated,
    )


@dataclass(frozen=True)
class Side:
    """One record of a pair as the reviewer sees it."""

    record: SourceRecord
    record_id: str
    person_id: int | None
    person_title: str
    person_visible: bool


@dataclass(frozen=True)
class FieldRow:
    field: str
    label: str
    left: str | None
    right: str | None
    agree: bool
    weight: float | None
    level: str


def _side(record: SourceRecord, access: Access, visible: set[int]) -> Side:
    person_id = record.person_id
    shown = person_id is not None and person_id in visible
    title = ""
    if shown and record.person is not None:
        title = person_title(record.person, access)
    return Side(
        record=record,
        record_id=shown_text(access, record.record_id),
        person_id=person_id if shown else None,
        person_title=title,
        person_visible=shown,
    )


def pair_fields(pair: ReviewPair, shower: ValueShower) -> list[FieldRow]:
    """The two records field by field (only fields the user may see), each with its match
    weight and comparison level; comparisons that are not one field (an address made of
    several) come last."""
    left, right = pair.left.mapped, pair.right.mapped
    weights: dict[str, Any] = pair.weights if isinstance(pair.weights, dict) else {}
    rows = []
    for field in field_order({*left, *right}):
        if not shower.sees(field):
            continue
        weight, level = pair_weight(weights, field)
        left_text = shower.text(field, left.get(field, ""))
        right_text = shower.text(field, right.get(field, ""))
        rows.append(
            FieldRow(
                field=field,
                label=field_label(field),
                left=left_text,
                right=right_text,
                agree=bool(left.get(field)) and left.get(field) == right.get(field),
                weight=weight,
                level=level,
            )
        )
    for comparison in sorted(set(weights) - {*left, *right}):
        if comparison in {*left, *right}:
            continue
        weight, level = pair_weight(weights, comparison)
        rows.append(
            FieldRow(
                field=comparison,
                label=field_label(comparison),
                left=None,
                right=None,
                agree=False,
                weight=weight,
                level=level,
            )
        )
    return rows


def _pair_or_404(request: HttpRequest, pair_id: int) -> ReviewPair:
    try:
        return review_pair_get_for_user(request.user, pair_id)
    except ReviewPair.DoesNotExist as exc:
        raise Http404 from exc


def _pair_page(
    request: HttpRequest,
    pair: ReviewPair,
    access: Access,
    *,
    form: ReviewDecisionForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    records = [pair.left, pair.right]
    shower = ValueShower(access, [r.mapped for r in records])
    person_ids = {r.person_id for r in records if r.person_id is not None}
    visible = set(
        people_visible_to(request.user).filter(pk__in=person_ids).values_list("pk", flat=True)
    )
    next_pair = (
        review_pairs_for_user(request.user, status=ReviewStatus.OPEN).exclude(pk=pair.pk).first()
    )
    context = {
        "pair": pair,
        "left": _side(pair.left, access, visible),
        "right": _side(pair.right, access, visible),
        "fields": pair_fields(pair, shower),
        "form": form or ReviewDecisionForm(),
        "error": error,
        "next_pair": next_pair,
        "same_person": pair.left.person_id is not None
        and pair.left.person_id == pair.right.person_id,
    }
    return render(request, "web/review_detail.html", context, status=status)


@login_required
def review_detail(request: HttpRequest, pair_id: int) -> HttpResponse:
    access = _access(request)
    pair = _pair_or_404(request, pair_id)
    return _pair_page(request, pair, access)


@login_required
@require_POST
def review_decide_view(request: HttpRequest, pair_id: int) -> HttpResponse:
    access = _access(request)
    pair = _pair_or_404(request, pair_id)
    form = ReviewDecisionForm(request.POST)
    if not form.is_valid():
        return _pair_page(request, pair, access, form=form, status=400)
    same = form.cleaned_data["decision"] == "same"
    try:
        review_decide(pair, same=same, user=request.user, note=form.cleaned_data["note"])
    except LinkageError as exc:
        return _pair_page(request, pair, access, form=form, error=str(exc), status=400)
    messages.success(
        request,
        _("Linked: the two records are one person.") if same else _("Kept apart."),
    )
    return redirect("web:review_detail", pair_id=pair.pk)


# ---------------------------------------------------------------------------------------------
# Merge and split, from the person page


def _person_or_404(request: HttpRequest, person_id: int) -> Person:
    try:
        return person_get_for_user(request.user, person_id)
    except Person.DoesNotExist as exc:
        raise Http404 from exc


def _visible_person(request: HttpRequest, person_id: int) -> Person | None:
    """The other person of a merge, if the user may see them (the attempt on one they may not
    is audited as denied, and looks like a missing one)."""
    try:
        return person_get_for_user(request.user, person_id, purpose="merge")
    except Person.DoesNotExist:
        return None


def _merge_other(request: HttpRequest, person: Person, form: MergeForm) -> Person | None:
    """The other person of a valid merge form, or ``None`` with the form's error set."""
    other_id = form.cleaned_data["other"]
    if other_id == person.pk:
        form.add_error("other", _("A person cannot be merged into themselves."))
        return None
    other = _visible_person(request, other_id)
    if other is None:
        form.add_error("other", _("No person with this number in your area."))
    return other


@login_required
def person_merge_view(request: HttpRequest, person_id: int) -> HttpResponse:
    """Merge another person into this one: GET ``?other=`` shows the two to confirm, POST with
    a reason does it. The other person's records, facts and id go to this one; their old id
    keeps answering with this person."""
    access = _access(request)
    person = _person_or_404(request, person_id)
    form = MergeForm(request.POST if request.method == "POST" else request.GET)
    context: dict[str, Any] = {
        "person": person,
        "title": person_title(person, access),
        "form": form,
    }
    other = _merge_other(request, person, form) if form.is_valid() else None
    if other is None:
        return render(request, "web/person_merge.html", context, status=400)
    context["other"] = other
    context["rows"] = [person_list_row(p, access, with_residence=False) for p in (person, other)]
    if request.method != "POST":
        return render(request, "web/person_merge.html", context)
    reason = str(form.cleaned_data.get("reason") or "").strip()
    try:
        if len(reason) < 2:  # noqa: PLR2004 (a reason is a few words)
            form.add_error("reason", _("Say why these are one person."))
        else:
            person_merge(person, other, user=request.user, reason=reason)
    except LinkageError as exc:
        context["error"] = str(exc)
    if form.errors or "error" in context:
        return render(request, "web/person_merge.html", context, status=400)
    messages.success(
        request, _("Person no. %(other)s was merged into this person.") % {"other": other.pk}
    )
    return redirect("web:person_detail", person_id=person.pk)


@login_required
@require_POST
def person_split_view(request: HttpRequest, person_id: int) -> HttpResponse:
    """Move the ticked source records of this person to a new person."""
    _access(request)
    person = _person_or_404(request, person_id)
    record_ids = list(SourceRecord.objects.filter(person=person).values_list("pk", flat=True))
    form = SplitForm(request.POST, record_choices=[(pk, str(pk)) for pk in record_ids])
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(_person_url(person) + "#split")
    try:
        new_person = person_split(
            person,
            form.cleaned_data["records"],
            user=request.user,
            reason=form.cleaned_data["reason"],
        )
    except LinkageError as exc:
        messages.error(request, str(exc))
        return redirect(_person_url(person) + "#split")
    messages.success(
        request,
        _("The records were split off to a new person, no. %(new)s.") % {"new": new_person.pk},
    )
    return redirect("web:person_detail", person_id=person.pk)


def _person_url(person: Person) -> str:
    return reverse("web:person_detail", kwargs={"person_id": person.pk})
