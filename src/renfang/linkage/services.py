"""Writes of linkage that people decide: a review pair settled, two persons merged, a person
split. Each pins the links it makes (rules ``review``, ``merge``, ``split``) so that
``renfang resolve`` never undoes them, keeps the history (``PersonMerge``), refreshes the
golden records of the persons concerned and is audited in the same transaction.

A merged-away person keeps its row with ``merged_into`` set: its id keeps answering with the
survivor (``selectors.person_resolve_merged``).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User as AuthUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from renfang.audit.models import Action
from renfang.audit.services import SYSTEM, PendingEvent, User, audit_record_many
from renfang.exchange.events import publish, split_event
from renfang.linkage.models import MergeKind, PersonMerge, ReviewPair, ReviewStatus
from renfang.people.facts import person_placeholder, persons_merge, spells_rebuild_for
from renfang.people.models import Person

if TYPE_CHECKING:
    from renfang.people.golden import GoldenReport
from renfang.sources.models import LinkRule, SourceRecord


class LinkageError(ValueError):
    """A merge, split or decision that cannot be done; the message says why."""


def _username(user: User | None) -> str:
    if user is None:
        return SYSTEM
    return str(getattr(user, "username", "") or "")


def _event(
    user: User | None, record_type: str, record_id: int, detail: dict[str, Any]
) -> PendingEvent:
    return PendingEvent(
        action=Action.WRITE,
        user=user,
        username=SYSTEM if user is None else "",
        record_type=record_type,
        record_id=str(record_id),
        detail=detail,
    )


def _golden_refresh(person_ids: list[int], user: User | None) -> None:
    from renfang.people.golden import golden_refresh  # noqa: PLC0415 (people imports linkage)

    golden_refresh(person_ids, actor=user)


def golden_records_refresh(
    person_ids: Sequence[int] | None, *, progress: bool = False, user: User | None
) -> GoldenReport:
    """Recompute the golden records of these persons (None: every person not merged away),
    e.g. after the district changed its policy: imports and ``renfang resolve`` refresh only
    the persons whose records changed. A merged-away id stands for its survivor; an unknown id
    refuses the whole run. One transaction; the run is audited, each changed person too."""
    from renfang.linkage.selectors import person_resolve_merged  # noqa: PLC0415
    from renfang.people.golden import golden_refresh  # noqa: PLC0415 (people imports linkage)

    if person_ids is None:
        ids = list(
            Person.objects.filter(merged_into__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    else:
        wanted = sorted(set(person_ids))
        known = set(Person.objects.filter(pk__in=wanted).values_list("pk", flat=True))
        unknown = [pk for pk in wanted if pk not in known]
        if unknown:
            raise LinkageError(
                _("No person with the number %(ids)s.") % {"ids": ", ".join(map(str, unknown))}
            )
        ids = sorted({person_resolve_merged(pk) for pk in wanted})
    with transaction.atomic():
        report = golden_refresh(ids, progress=progress, actor=user)
        audit_record_many(
            [
                PendingEvent(
                    action=Action.WRITE,
                    user=user,
                    username=SYSTEM if user is None else "",
                    record_type="golden_refresh",
                    detail={
                        "persons": report.persons,
                        "all": person_ids is None,
                        "changed": report.changed,
                        "audited": report.audited,
                    },
                )
            ]
        )
    return report


def _pin(
    records: Sequence[int],
    person: Person,
    rule: str,
    detail: dict[str, Any],
    now: datetime.datetime,
) -> None:
    SourceRecord.objects.filter(pk__in=list(records)).update(
        person=person, link_rule=rule, link_detail=detail, linked_at=now
    )


def _by(user: User | None) -> AuthUser | None:
    """The user to name as who decided (None: the system)."""
    return user if isinstance(user, AuthUser) else None


def _locked(person_id: int) -> Person:
    return Person.objects.select_for_update().get(pk=person_id)


def person_merge(
    survivor: Person,
    merged: Person,
    *,
    user: User | None,
    reason: str,
    rule: str = LinkRule.MERGE,
) -> PersonMerge:
    """Make ``merged`` part of ``survivor``: its source records and facts go to the survivor,
    it keeps answering with the survivor's id. The records of both are pinned (``rule``)."""
    if not reason.strip():
        raise LinkageError(_("A merge needs a reason."))
    now = timezone.now()
    with transaction.atomic():
        first, second = sorted((survivor.pk, merged.pk))
        locked = {first: _locked(first), second: _locked(second)}
        survivor, merged = locked[survivor.pk], locked[merged.pk]
        if survivor.pk == merged.pk:
            raise LinkageError(_("A person cannot be merged into itself."))
        if merged.merged_into_id is not None:
            raise LinkageError(
                _("Person %(merged)s was already merged into person %(survivor)s.")
                % {"merged": merged.pk, "survivor": merged.merged_into_id}
            )
        if survivor.merged_into_id is not None:
            raise LinkageError(
                _("Person %(person)s was merged into person %(survivor)s: merge into that one.")
                % {"person": survivor.pk, "survivor": survivor.merged_into_id}
            )
        moved = sorted(merged.source_records.values_list("pk", flat=True))
        kept = sorted(survivor.source_records.values_list("pk", flat=True))
        detail = {"rule": str(rule), "by": _username(user), "reason": reason, "merged": merged.pk}
        _pin([*moved, *kept], survivor, rule, detail, now)
        merged.merged_into = survivor
        record = PersonMerge.objects.create(
            kind=MergeKind.MERGE,
            survivor=survivor,
            merged=merged,
            records=moved,
            by=_by(user),
            at=now,
            reason=reason,
        )
        # The door moves the facts, and audits and tells the merge (both persons' events).
        persons_merge(
            [(merged.pk, survivor.pk)],
            now,
            records={merged.pk: moved},
            actor=user,
            source=str(rule),
            reason=reason,
        )
        _golden_refresh([survivor.pk], user)
        spells_rebuild_for([survivor.pk])
    return record


def person_split(
    person: Person,
    record_ids: Sequence[int],
    *,
    user: User | None,
    reason: str,
    rule: str = LinkRule.SPLIT,
    pin_staying: Sequence[int] | None = None,
) -> Person:
    """Move the source records ``record_ids`` of ``person`` to a new person. The records
    moved are pinned (``rule``) to it, and the staying records ``pin_staying`` (None: all of
    them) to ``person``: the next ``renfang resolve`` keeps them apart. Staying records left
    unpinned are for that run to link again, to whichever side they belong."""
    if not reason.strip():
        raise LinkageError(_("A split needs a reason."))
    wanted = sorted(set(record_ids))
    if not wanted:
        raise LinkageError(_("Choose the records to split off."))
    now = timezone.now()
    with transaction.atomic():
        person = _locked(person.pk)
        if person.merged_into_id is not None:
            raise LinkageError(
                _("Person %(person)s was merged into person %(survivor)s: split that one.")
                % {"person": person.pk, "survivor": person.merged_into_id}
            )
        records = list(person.source_records.order_by("pk"))
        own = {record.pk for record in records}
        strangers = [pk for pk in wanted if pk not in own]
        if strangers:
            raise LinkageError(
                _("Records %(records)s are not records of person %(person)s.")
                % {"records": ", ".join(map(str, strangers)), "person": person.pk}
            )
        if len(wanted) == len(own):
            raise LinkageError(_("A split must leave the person at least one record."))
        staying = sorted(own - set(wanted))
        if pin_staying is not None:
            staying = sorted(own.intersection(pin_staying) - set(wanted))
        # Known by nothing yet: the golden refresh below writes and audits who it is (an ID
        # number only when no other person holds it).
        new_person = person_placeholder()
        detail = {"rule": str(rule), "by": _username(user), "reason": reason}
        _pin(wanted, new_person, rule, {**detail, "from": person.pk}, now)
        _pin(staying, person, rule, {**detail, "split_off": new_person.pk}, now)
        PersonMerge.objects.create(
            kind=MergeKind.SPLIT,
            survivor=person,
            merged=new_person,
            records=wanted,
            by=_by(user),
            at=now,
            reason=reason,
        )
        audit_record_many(
            [
                _event(
                    user,
                    "person",
                    new_person.pk,
                    {
                        "split_from": person.pk,
                        "records": wanted,
                        "reason": reason,
                        "source": str(rule),
                    },
                ),
                _event(
                    user,
                    "person",
                    person.pk,
                    {
                        "split_off": new_person.pk,
                        "records": wanted,
                        "reason": reason,
                        "source": str(rule),
                    },
                ),
            ]
        )
        # One at a time: the person split from keeps its ID number, the new one sees it held.
        _golden_refresh([person.pk], user)
        _golden_refresh([new_person.pk], user)
        spells_rebuild_for([person.pk, new_person.pk])
        publish([split_event(new_person.pk, person.pk, str(rule))])
    return new_person


def review_decide(pair: ReviewPair, *, same: bool, user: User | None, note: str = "") -> ReviewPair:
    """Settle a review pair. ``same``: the two records' persons become one (the one with
    more records survives). Not the same: if they are one person now, the right record is
    split off to a new person (the two records pinned apart, nothing else). Either way the
    decision is kept and every later run respects it."""
    now = timezone.now()
    with transaction.atomic():
        pair = (
            ReviewPair.objects.select_for_update().select_related("left", "right").get(pk=pair.pk)
        )
        if pair.status != ReviewStatus.OPEN:
            raise LinkageError(
                _("This pair was already decided (%(status)s).")
                % {"status": pair.get_status_display()}
            )
        left, right = pair.left, pair.right
        reason = note.strip() or _("review pair %(pair)s") % {"pair": pair.pk}
        if same:
            _decide_same(left, right, user=user, reason=reason, now=now)
        elif left.person_id is not None and left.person_id == right.person_id:
            # Only the two records are pinned, each to its own person; the person's other
            # records are left for the next run to link to the side they belong to.
            person = Person.objects.get(pk=left.person_id)
            person_split(
                person,
                [right.pk],
                user=user,
                reason=reason,
                rule=LinkRule.REVIEW,
                pin_staying=[left.pk],
            )
        pair.status = ReviewStatus.SAME if same else ReviewStatus.DIFFERENT
        pair.decided_by = _by(user)
        pair.decided_at = now
        pair.note = note.strip()[:300]
        pair.save(update_fields=["status", "decided_by", "decided_at", "note"])
        audit_record_many(
            [
                _event(
                    user,
                    "review_pair",
                    pair.pk,
                    {
                        "decision": pair.status,
                        "records": [left.pk, right.pk],
                        "note": pair.note,
                    },
                )
            ]
        )
    return pair


def _decide_same(
    left: SourceRecord,
    right: SourceRecord,
    *,
    user: User | None,
    reason: str,
    now: datetime.datetime,
) -> None:
    if left.person_id is None or right.person_id is None or left.person_id == right.person_id:
        person_id = left.person_id or right.person_id
        if person_id is None:
            raise LinkageError(_("Run renfang resolve first: these records have no person."))
        person = _locked(person_id)
        linked = [r.pk for r in (left, right) if r.person_id is None]
        detail = {"rule": LinkRule.REVIEW.value, "by": _username(user), "reason": reason}
        _pin([left.pk, right.pk], person, LinkRule.REVIEW, detail, now)
        if linked:
            # A record joins the person: audited, and the golden record takes it in.
            audit_record_many(
                [
                    _event(
                        user,
                        "person",
                        person.pk,
                        {"linked": linked, "reason": reason, "source": LinkRule.REVIEW.value},
                    )
                ]
            )
            _golden_refresh([person.pk], user)
        return
    persons = list(Person.objects.filter(pk__in=[left.person_id, right.person_id]))
    counts = {person.pk: person.source_records.count() for person in persons}
    survivor = min(persons, key=lambda p: (-counts[p.pk], p.pk))
    merged = next(p for p in persons if p.pk != survivor.pk)
    person_merge(survivor, merged, user=user, reason=reason, rule=LinkRule.REVIEW)
