"""Conflicts between sources (数据冲突): reads scoped to the user's area, and settling them.

A conflict is found by the golden record (``renfang.people.golden``): a source whose value of
a conflict field differs from the authoritative one. The street office settles it (saying
how) or sends it out for a visit; ``golden_refresh`` settles it by itself when the values come
to agree, and opens it again when they come to differ anew.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from renfang.accounts.access import SOURCE_FIELD_GRANTS, access_for
from renfang.audit.models import Action
from renfang.audit.services import User, audit_record, audit_write, field_change
from renfang.people.models import Conflict, ConflictStatus
from renfang.people.selectors import people_visible_to

# What a person may set a conflict to (open is what the golden refresh does).
SETTLE_STATUSES = (ConflictStatus.SETTLED.value, ConflictStatus.VISIT.value)


def conflicts_for_user(
    user: User, *, status: str | None = None, field: str | None = None
) -> QuerySet[Conflict]:
    """The conflicts of the people the user may see, of the fields the user may see (a
    department reader's grant), newest first within each status; ``status`` and ``field``
    narrow it. Callers audit the listing (a search) and check the power to settle."""
    access = access_for(user)
    fields = [name for name, part in SOURCE_FIELD_GRANTS.items() if access.sees_field(part)]
    if field is not None:
        fields = [name for name in fields if name == field]
    conflicts = Conflict.objects.filter(person__in=people_visible_to(user), field__in=fields)
    if status is not None:
        conflicts = conflicts.filter(status=status)
    return conflicts.order_by("status", "-created_at", "-pk")


def conflict_get_for_user(user: User, pk: int) -> Conflict:
    """One conflict the user may see. Raises ``Conflict.DoesNotExist`` for one that does not
    exist and for one outside the user's reach alike (the second is audited as denied)."""
    try:
        return conflicts_for_user(user).select_related("person", "other_record").get(pk=pk)
    except Conflict.DoesNotExist:
        person_id = Conflict.objects.filter(pk=pk).values_list("person_id", flat=True).first()
        if person_id is not None:
            audit_record(
                Action.DENIED,
                user=user,
                record_type="conflict",
                record_id=pk,
                detail={"reason": "outside the user's area or fields", "person": person_id},
            )
        raise


def conflict_settle(conflict: Conflict, *, user: User, status: str, note: str) -> Conflict:
    """Settle a conflict (``settled``, saying how in ``note``) or send it out for a visit
    (``visit``, the note optional). Audited as a write to the conflict's person.

    Raises ``ValueError`` for another status or a settlement without a note, and
    ``PermissionDenied`` for a user who may not settle conflicts of this person."""
    note = note.strip()
    if status not in SETTLE_STATUSES:
        raise ValueError(_("A conflict is settled or sent for a visit."))
    if status == ConflictStatus.SETTLED and not note:
        raise ValueError(_("Say how it was settled."))
    if len(note) > Conflict._meta.get_field("note").max_length:  # type: ignore[operator]
        raise ValueError(_("The note is too long (300 characters at most)."))
    access = access_for(user)
    if (
        not access.settles_conflicts
        or not people_visible_to(user).filter(pk=conflict.person_id).exists()
    ):
        raise PermissionDenied(_("You may not settle conflicts of this person."))
    with transaction.atomic():
        locked = Conflict.objects.select_for_update().get(pk=conflict.pk)
        before = {"status": locked.status, "note": locked.note}
        locked.status = status
        locked.note = note
        # Who sent it for a visit is kept the same way as who settled it.
        locked.settled_by_id = int(str(user.pk)) if user.is_authenticated else None
        locked.settled_at = timezone.now()
        locked.save(update_fields=["status", "note", "settled_by", "settled_at"])
        audit_write(
            actor=user,
            record_type="person",
            record_id=locked.person_id,
            changes=[
                field_change(
                    f"conflict.{locked.field}",
                    {**before, "conflict": locked.pk},
                    {"status": status, "note": note, "conflict": locked.pk},
                )
            ],
            source="conflict_settle",
        )
    conflict.status, conflict.note = locked.status, locked.note
    conflict.settled_by_id, conflict.settled_at = locked.settled_by_id, locked.settled_at
    return conflict
