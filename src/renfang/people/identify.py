"""Identification attempts (ADR 0021): exact-number searches, and detail reads that miss.

A masked ID number cannot hide much from a role that also sees the birth date and the sex
(``renfang.accounts.masks``): what stops a user from learning a number by guessing is that each
guess costs an exact search, and that misses are few. Every exact ID or phone number search is
audited as ``identify`` (hit or miss, and a keyed fingerprint of the number, never the number).
A user who may not see numbers in full has ``RENFANG_IDENTIFY_MISSES`` misses per
``RENFANG_IDENTIFY_WINDOW_MINUTES``; at the bound the auditor gets one ``alert`` and the user's
exact-number searches are refused until the window ends, whether the number exists or not.

Detail reads of a person that is missing or outside the user's area count the same way (kind
"record"): an enumeration of ids raises the alert. They are not refused at the bound: a read
the user may make is theirs to make, and the two kinds of miss already answer alike.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from renfang.accounts.access import Access, mask_id_number, mask_phone
from renfang.audit.models import Action
from renfang.audit.presenter import classify
from renfang.audit.presenter import fingerprint as audit_fingerprint
from renfang.audit.services import audit_record
from renfang.people.idnumbers import normalize
from renfang.people.models import IdentifyBudget

User = AbstractBaseUser | AnonymousUser

NUMBER = "number"  # an exact ID or phone number search
RECORD = "record"  # a detail read of a person id that is missing or not the user's
PUBLISH = "publish"  # a published record held: it named a person outside the publisher's areas

_SEPARATORS = re.compile(r"[\s\-()（）]")
_COUNTRY_PREFIX = re.compile(r"^(\+86|0086)")
# What an ID, permit, passport or phone number looks like once separators are gone: letters
# and digits only, at least 7 of them and at least 6 digits (an address like 12-301 is not).
_NUMBER_SHAPE = re.compile(r"[0-9A-Z]{7,32}")
_MIN_DIGITS = 6


class IdentifyRefused(Exception):
    """The user has missed too many exact-number searches in this window."""


def refused_message() -> str:
    """What a refused user is told (pages and API alike)."""
    return _(
        "You have searched for too many ID or phone numbers that match no one. Searching by "
        "number is paused for you for a while; the auditor has been told. You can still "
        "search by name."
    )


def publishing_paused_message() -> str:
    """What a publisher is told when too many of its records were held (the API)."""
    return _(
        "Too many of your records named people outside your areas and were held. Publishing "
        "is paused for you for a while; the auditor has been told."
    )


def compact(query: str) -> str:
    """A query as a number: folded, without separators or China's country prefix."""
    return _COUNTRY_PREFIX.sub("", _SEPARATORS.sub("", normalize(query)))


def is_identifier_query(query: str) -> bool:
    """Whether a search entry is an ID, permit, passport or phone number (matched exactly):
    such entries are searched by POST, addressed by a token, and counted."""
    text = compact(query)
    return bool(_NUMBER_SHAPE.fullmatch(text)) and sum(c.isdigit() for c in text) >= _MIN_DIGITS


def fingerprint(query: str) -> str:
    """A keyed fingerprint of a number (under the audit key, ADR 0018): the same number, typed
    any way, gives the same fingerprint, the very one the auditor's pages show for it in any
    other event, so repeated or shared guesses can be told; no one without the key can turn
    it back into the number."""
    return audit_fingerprint(*classify(query))


def masked_terms(query: str) -> str:
    """A search entry as the audit log may keep it: a number masked, anything else as typed."""
    if not is_identifier_query(query):
        return query[:200]
    text = compact(query)
    return mask_phone(text) if text.isdigit() and len(text) <= 12 else mask_id_number(text)  # noqa: PLR2004


def is_bounded(access: Access, kind: str = NUMBER) -> bool:
    """Whether a user's misses are bounded: every user's record misses; number misses only for
    users who may not see numbers in full (a role that sees them whole learns nothing from an
    exact search it could not read in its own area's list)."""
    return kind in {RECORD, PUBLISH} or not access.full_identifiers


def _window() -> datetime.timedelta:
    return datetime.timedelta(minutes=int(settings.RENFANG_IDENTIFY_WINDOW_MINUTES))


def check_budget(user: User, access: Access, kind: str = NUMBER) -> None:
    """Reserve one miss before an exact-number search, or refuse it when the user has none
    left; call it before the search, so the refusal cannot depend on the number. The
    reservation is one atomic UPDATE of the user's row (by its unique (user_id, kind) index),
    so searches sent in parallel cannot all pass one read of the count (issue 11 review); a
    hit gives the miss back (``record_number_search``)."""
    if not is_bounded(access, kind) or user.pk is None:
        return
    bound = int(settings.RENFANG_IDENTIFY_MISSES)
    now = timezone.now()
    mine = IdentifyBudget.objects.filter(user_id=user.pk, kind=kind)
    if mine.filter(window_start__gt=now - _window(), misses__lt=bound).update(
        misses=F("misses") + 1
    ):
        return
    with transaction.atomic():  # no row yet, or its window ended, or no misses left
        row, _created = IdentifyBudget.objects.select_for_update().get_or_create(
            user_id=user.pk, kind=kind, defaults={"window_start": now}
        )
        if row.window_start <= now - _window():
            row.window_start, row.misses, row.alerted = now, 0, False
        if row.misses >= bound:
            raise IdentifyRefused
        row.misses += 1
        row.save(update_fields=["window_start", "misses", "alerted"])


@dataclass(frozen=True)
class Counted:
    misses: int
    reached: bool  # this miss reached the bound (the alert was written)


def count_miss(user: User, kind: str) -> Counted:
    """One more miss in the user's window (a new window when the last one ended); at the
    bound, one ``alert`` event for the auditor."""
    now = timezone.now()
    bound = int(settings.RENFANG_IDENTIFY_MISSES)
    with transaction.atomic():
        row, _created = IdentifyBudget.objects.select_for_update().get_or_create(
            user_id=user.pk, kind=kind, defaults={"window_start": now}
        )
        if row.window_start <= now - _window():
            row.window_start, row.misses, row.alerted = now, 0, False
        row.misses += 1
        reached = row.misses >= bound and not row.alerted
        row.alerted = row.alerted or reached
        row.save(update_fields=["window_start", "misses", "alerted"])
    if reached:
        _alert(user, kind, row)
    return Counted(misses=row.misses, reached=reached)


def _alert(user: User, kind: str, row: IdentifyBudget) -> None:
    """The one ``alert`` event of a window, for the auditor."""
    audit_record(
        Action.ALERT,
        user=user,
        record_type="user",
        record_id=str(user.pk),
        detail={
            "reason": "identification attempts",
            "kind": kind,
            "misses": row.misses,
            "window_minutes": int(settings.RENFANG_IDENTIFY_WINDOW_MINUTES),
            "since": row.window_start.isoformat(),
        },
    )


def record_number_search(user: User, access: Access, query: str, *, hit: bool) -> None:
    """Audit one exact-number search (``identify``: hit or miss, the fingerprint, the number
    masked) and count a bounded user's miss."""
    audit_record(
        Action.IDENTIFY,
        user=user,
        record_type="person",
        detail={
            "kind": NUMBER,
            "hit": hit,
            "fingerprint": fingerprint(query),
            "bounded": is_bounded(access),
        },
    )
    settle(user, access, NUMBER, hit=hit)


def settle(user: User, access: Access, kind: str, *, hit: bool) -> None:
    """After the lookup that ``check_budget`` reserved a miss for: a hit gives it back; a miss
    keeps it, and the miss that reached the bound writes the window's one alert."""
    if not is_bounded(access, kind) or user.pk is None:
        return
    mine = IdentifyBudget.objects.filter(user_id=user.pk, kind=kind)
    if hit:
        mine.filter(misses__gt=0).update(misses=F("misses") - 1)
    elif mine.filter(misses__gte=settings.RENFANG_IDENTIFY_MISSES, alerted=False).update(
        alerted=True
    ):
        _alert(user, kind, mine.get())
