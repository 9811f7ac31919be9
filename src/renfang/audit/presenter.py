"""What an auditor sees of an event (ADR 0018): who, when, from where, on which channel, which
action on which record, which fields changed — never the register's values.

The one presenter of the audit pages and the audit export. The rules:

- a write shows the names of the fields it changed, never their old or new values; a tag
  change shows "tag", never which tag (a tag's name is itself the sensitive fact);
- search terms, house codes, identifiers and names typed at a failed login (that are not an
  account) are shown only as their kind and a short fingerprint, an HMAC under the audit key:
  the same number gives the same fingerprint, so repeated searches can be correlated, but the
  number cannot be read back or guessed without the key;
- numbers in free text the users wrote (an unmask's purpose, a merge's reason) are replaced by
  their fingerprints; the text itself is the user's justification and is shown;
- a list's people are shown as a count (their audit pages list the event);
- any other detail is shown only when its key is known to carry no register data (row
  counts, list names, source codes, area codes, reasons of refusals …); an unknown key is
  shown as withheld, so a new call site can never leak by default.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from renfang.audit.keys import sign
from renfang.audit.models import Action, AuditEvent
from renfang.audit.services import PERSON_IDS
from renfang.people.idnumbers import IdNumberError, normalize, parse_resident_id

RECORD_TYPE_LABELS: dict[str, Promise] = {
    "person": gettext_lazy("person"),
    "house": gettext_lazy("house"),
    "area": gettext_lazy("area"),
    "user": gettext_lazy("user"),
    "audit": gettext_lazy("audit log"),
}
RECORD_TYPE = re.compile(r"^[a-z_]{1,20}$")

# Record types whose ids are themselves register data (a house code locates a home).
FINGERPRINTED_RECORDS = frozenset({"house"})
_PLAIN_RECORD_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

# Detail keys whose values carry no register data: shown as they are.
SAFE_KEYS = frozenset(
    {
        "action",
        "after",
        "anchor_id",
        "area",
        "as_of",
        "before",
        "bounded",
        "bound",
        "committees",
        "compare_to",
        "count",
        "dead_letters",
        "deleted",
        "division",
        "done",
        "export_limit",
        "factor",
        "feed_shown",
        "field",
        "fields",
        "file",
        "fingerprint",  # already a keyed digest (people.identify)
        "form",
        "found",
        "hit",
        "kind",
        "latest",
        "length",
        "levels",
        "limit",
        "list",
        "mapping",
        "misses",
        "next",
        "next_after",
        "os_user",
        "page",
        "pending",
        "prefix",
        "record_type",
        "records",
        "retention_days",
        "role",
        "rows",
        "rule",
        "since",
        "skip_missed",
        "source",
        "status",
        "statuses",
        "subscription",
        "threshold",
        "truncated",
        "unmapped",
        "unmapped_codes",
        "uses_closed",
        "uses_opened",
        "verified",
        "version",
        "via",
        "window",
        "window_minutes",
        "window_seconds",
    }
)
# Keys naming records by their (sequential, meaningless) ids: numbers shown, text fingerprinted.
ID_KEYS = frozenset(
    {
        "conflict",
        "for_user",
        "id",
        "left",
        "merged",
        "pair",
        "person",
        "persons",
        "record_id",
        "right",
        "split_from",
        "split_off",
        "survivor",
        "user",
    }
)
# Keys holding what a user wrote to justify an action: shown, numbers in it fingerprinted.
FREE_TEXT_KEYS = frozenset({"reason", "change"})
# The purge's link to the chain is for `audit verify`, not for reading.
HIDDEN_KEYS = frozenset({"anchor_hash"})

# How people type phones ("+86 138-0013-8000", "8613800138000").
_SEPARATORS = re.compile(r"[\s\-()（）.]")
_COUNTRY_PREFIX = re.compile(r"^(\+?86|0086)(?=1\d{10}$)")
_PHONE = re.compile(r"1\d{10}")
_DOCUMENT = re.compile(r"[A-Z]{0,3}\d{5,}[A-Z0-9]*(\(\w\))?")
_NUMBER_IN_TEXT = re.compile(r"\+?[A-Za-z]{0,3}\d[\d\s\-()（）]{4,}\d[A-Za-z]?|[A-Za-z]{1,3}\d{5,}")
_PATH_SEGMENT_PLAIN = re.compile(r"^(?:[a-z_\-.]+|\d{1,12})$")


def fingerprint(kind: str, normalized: str) -> str:
    """A short keyed digest: equal for the same value, meaningless without the audit key."""
    return sign("fingerprint", f"{kind}\n{normalized}")[:10]


def classify(term: str) -> tuple[str, str]:
    """What kind of thing a typed term is, and its normalized form (so "+86 138…" and
    "138…" are the same phone)."""
    text = normalize(str(term))
    digits = _COUNTRY_PREFIX.sub("", _SEPARATORS.sub("", text))
    if _PHONE.fullmatch(digits):
        return "phone", digits
    try:
        resident = parse_resident_id(text)
    except IdNumberError:
        pass
    else:
        return "id_number", resident.number
    if _DOCUMENT.fullmatch(digits):
        return "document", digits
    return "text", unicodedata.normalize("NFKC", str(term)).strip().casefold()


_KIND_LABELS: dict[str, Promise] = {
    "phone": gettext_lazy("phone"),
    "id_number": gettext_lazy("ID number"),
    "document": gettext_lazy("document or other number"),
    "text": gettext_lazy("text"),
    "house": gettext_lazy("house code"),
    "account": gettext_lazy("unknown account"),
}


def shown_term(term: Any, kind: str = "") -> str:
    """A term as the auditor sees it: its kind and fingerprint ("phone ·3fa1c09b2e")."""
    if term is None or term == "":
        return "—"
    found, normalized = classify(str(term))
    kind = kind or found
    return f"{_KIND_LABELS[kind]} ·{fingerprint(found, normalized)}"


def shown_free_text(text: Any) -> str:
    """Free text with every number-like run replaced by its fingerprint."""
    return _NUMBER_IN_TEXT.sub(lambda match: shown_term(match.group(0)), str(text))


def _shown_path(path: str) -> str:
    parts = path.split("/")
    return "/".join(
        part if not part or _PATH_SEGMENT_PLAIN.match(part) else "·" + shown_term(part)
        for part in parts
    )


def _plain(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(_plain(item) for item in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return str(value)


def _shown_id(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_shown_id(item) for item in value) or "—"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.isdigit() and len(value) <= 12:  # noqa: PLR2004
        return value
    return shown_term(value)


def _changed_fields(changes: Any) -> str:
    """The fields a write changed, by name; never a value; a tag only as "tag"."""
    if not isinstance(changes, list):
        return _("withheld")
    names: list[str] = []
    for change in changes:
        field = change.get("field") if isinstance(change, dict) else None
        name = str(field) if isinstance(field, str) and RECORD_TYPE.match(field) else "?"
        if isinstance(field, str) and field.startswith("tag"):
            name = "tag"  # never which tag: its name is the sensitive fact
        if name not in names:
            names.append(name)
    return ", ".join(names) or "—"


def _terms(value: Any) -> str:
    if isinstance(value, dict):
        plain = SAFE_KEYS | _AUDIT_SEARCH_KEYS
        return ", ".join(
            f"{key}: {_plain(item) if key in plain else shown_term(item)}"
            for key, item in value.items()
        )
    if isinstance(value, list):
        return ", ".join(shown_term(item) for item in value) or "—"
    return shown_term(value)


# An auditor's own search of the log: which user, action, dates (the record id is typed by
# the auditor and may be a house code: fingerprinted like any term).
_AUDIT_SEARCH_KEYS = frozenset({"user", "date_from", "date_to", "action", "record_type"})


def _shown_value(key: str, value: Any) -> str:  # noqa: PLR0911 (one rule per kind of key)
    if key == "changes":
        return _changed_fields(value)
    if key == "fingerprint":  # an identification attempt's number, already a keyed digest
        return f"·{value}"
    if key == PERSON_IDS:
        return str(len(value)) if isinstance(value, list) else "—"
    if key in {"terms", "q", "query"}:
        return _terms(value)
    if key == "house":
        return shown_term(value, "house") if value else "—"
    if key == "path":
        return _shown_path(str(value))
    if key in SAFE_KEYS:
        return _plain(value)
    if key in ID_KEYS:
        return _shown_id(value)
    if key in FREE_TEXT_KEYS:
        return shown_free_text(_plain(value))
    return _("withheld")


_DETAIL_LABELS: dict[str, Promise] = {
    "changes": gettext_lazy("changed"),
    PERSON_IDS: gettext_lazy("people shown"),
}


def detail_text(detail: Any) -> str:
    """An event's detail as one line, as the auditor may see it."""
    if not isinstance(detail, dict) or not detail:
        return ""
    return "; ".join(
        f"{_DETAIL_LABELS.get(key, key)}: {_shown_value(str(key), value)}"
        for key, value in detail.items()
        if key not in HIDDEN_KEYS
    )


@dataclass(frozen=True)
class AuditorRow:
    """One event as the auditor sees it, for the pages and the export alike."""

    event: AuditEvent
    user: str  # the account, or "unknown account ·…" for a name typed at a failed login
    user_link: str  # the account name to search by ("" when it is not an account)
    action_label: str
    record_label: str
    record_shown: str  # the record's id, or its fingerprint
    record_url: str
    detail: str
    purpose: str


def _accounts(names: Iterable[str]) -> set[str]:
    wanted = {name for name in names if name}
    if not wanted:
        return set()
    user_model = get_user_model()
    field = user_model.USERNAME_FIELD
    return set(
        user_model._default_manager.filter(**{f"{field}__in": wanted}).values_list(field, flat=True)
    )


def _typed_name(event: AuditEvent) -> bool:
    """A name typed at a failed login: not necessarily an account (a mistyped ID number, a
    password typed into the wrong field)."""
    return event.action == Action.LOGIN_FAILED and event.user_id is None


def present(events: list[AuditEvent]) -> list[AuditorRow]:
    accounts = _accounts(event.username for event in events if _typed_name(event))
    rows = []
    for event in events:
        user, link = event.username, event.username
        if _typed_name(event) and event.username not in accounts:
            user, link = shown_term(event.username, "account"), ""
        record_type, record_id = event.record_type, event.record_id
        fingerprinted = record_type in FINGERPRINTED_RECORDS or (
            record_type == "user" and _typed_name(event) and record_id not in accounts
        )
        if not record_id:
            shown = ""
        elif fingerprinted or not _PLAIN_RECORD_ID.match(record_id):
            shown = shown_term(record_id, "house" if record_type == "house" else "")
        else:
            shown = record_id
        url = (
            reverse("audit:record", args=[record_type, record_id])
            if shown == record_id and record_id and RECORD_TYPE.match(record_type)
            else ""
        )
        rows.append(
            AuditorRow(
                event=event,
                user=user,
                user_link=link,
                action_label=str(event.get_action_display()),
                record_label=str(RECORD_TYPE_LABELS.get(record_type, record_type)),
                record_shown=shown,
                record_url=url,
                detail=detail_text(event.detail),
                purpose=shown_free_text(event.purpose) if event.purpose else "",
            )
        )
    return rows
