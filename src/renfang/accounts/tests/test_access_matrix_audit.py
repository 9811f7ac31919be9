"""The access matrix, audit part (issue 11, findings 1 and 14; ADRs 0018 and 0019).

1. The auditor audits who did what; it never becomes a reader of the register: after writes,
   searches for every kind of identifier, unmasks and failed logins about a planted person, no
   audit page or export holds that person's name, birth date, ID, passport or permit numbers,
   phone (in any of its forms), house code, address or sensitive tags (codes or labels).
2. Every route that shows a person (pages, lists, searches, exports, the API, the feed)
   leaves an event that the person's audit page finds: a list names the people it showed.
"""

from __future__ import annotations

import datetime
import re
from urllib.parse import unquote, urlencode

import pytest
from django.contrib.auth import authenticate
from django.test import Client, RequestFactory
from django.urls import reverse

from renfang.accounts.tests.test_access_matrix import (
    ROLES,
    ROUTES,
    Route,
    _holds,
    _request,
    _text,
    clients,
    world,
)
from renfang.audit.models import Action, AuditEvent, AuditPersonRef
from renfang.audit.services import audit_record, audit_verify, audit_write, field_change
from renfang.codes.selectors import code_label
from renfang.testing.matrix import Planted, World

__all__ = ["clients", "world"]  # the matrix's fixtures, used here by name

# Numbers of the planted person's other documents, as users type them into searches.
PASSPORT = "E87654321"
HK_MACAU_PERMIT = "H87654321"
TAIWAN_PERMIT = "87654321"
OTHER_DOCUMENT = "XK-99887766"
SENSITIVE_TAGS = ("subsistence_allowance", "drug_user")


def _birth_date(planted: Planted) -> datetime.date:
    number = planted.id_number
    return planted.person.birth_date or datetime.date(
        int(number[6:10]), int(number[10:12]), int(number[12:14])
    )


def _markers(planted: Planted) -> list[str]:
    """What the register says about the planted person, in every form it could be shown."""
    born = _birth_date(planted)
    markers = [
        planted.person.name,
        planted.id_number,
        born.isoformat(),
        f"{born:%Y%m%d}",
        f"{born.year}年{born.month}月{born.day}日",
        planted.phone,
        "+86" + planted.phone,
        "86" + planted.phone,
        PASSPORT,
        HK_MACAU_PERMIT,
        TAIWAN_PERMIT,
        OTHER_DOCUMENT,
        *SENSITIVE_TAGS,
        *(code_label("person_tag", tag) for tag in SENSITIVE_TAGS),
    ]
    if planted.house is not None:
        markers += [planted.house.house_code, planted.house.address]
    return [marker for marker in markers if marker]


def _leaks(text: str, planted: Planted) -> list[str]:
    found = [marker for marker in _markers(planted) if marker in text]
    # The last characters of a number next to a mask (what masking used to show).
    for number in (planted.id_number, planted.phone, PASSPORT):
        if re.search(r"\*{2,}" + re.escape(number[-4:]), text):
            found.append(f"masked {number[-4:]}")
    return found


def _activity(world: World, clients: dict[str, Client], planted: Planted) -> None:
    """Writes, searches of every identifier kind, an unmask and failed logins about the
    planted person, by the roles that may do them."""
    person = planted.person
    clerk = world.users["committee_clerk"]
    # A write naming every kind of value, a sensitive tag among them (as the services write).
    changes = [
        field_change("name", "旧名", person.name),
        field_change("birth_date", None, _birth_date(planted)),
        field_change("id_number", None, planted.id_number),
        field_change("phone", None, "+86 " + planted.phone),
        field_change("tag", None, "subsistence_allowance"),
        field_change("tag", "drug_user", None),
    ]
    if planted.house is not None:
        changes.append(
            field_change(
                "residence",
                None,
                {"house": planted.house.house_code, "address": planted.house.address},
            )
        )
    audit_write(
        actor=clerk, record_type="person", record_id=person.pk, changes=changes, source="test"
    )
    officer = clients["street_officer"]
    terms = [
        person.name,
        planted.id_number,
        planted.phone,
        "+86 " + planted.phone,
        "86" + planted.phone,
        PASSPORT,
        HK_MACAU_PERMIT,
        TAIWAN_PERMIT,
        OTHER_DOCUMENT,
    ]
    if planted.house is not None:
        terms += [planted.house.house_code, planted.house.address]
    for term in terms:
        officer.get("/search/", {"q": term})
        officer.get("/api/people", {"q": term})
        # However a page takes a search, the log holds the terms as typed.
        audit_record(Action.SEARCH, user=clerk, record_type="person", detail={"terms": term})
    clients["police"].post(
        reverse("web:person_reveal", args=[person.pk]),
        {"field": "id_number", "purpose": f"核对身份 {planted.id_number}"},
    )
    clients["police"].post(
        reverse("web:person_reveal", args=[person.pk]), {"field": "phone", "purpose": "回访核实"}
    )
    for typed in (planted.id_number, person.name, planted.phone, PASSPORT):
        login = RequestFactory().post("/login/", REMOTE_ADDR="10.0.0.9")
        assert authenticate(login, username=typed, password="wrong") is None
    # An alert and an identification attempt, as the ident checks write them.
    audit_record(
        Action.IDENTIFY,
        user=clerk,
        record_type="person",
        detail={"terms": planted.id_number, "found": 0},
    )
    audit_record(Action.ALERT, user=clerk, detail={"terms": planted.phone, "misses": 100})


def _auditor_views(planted: Planted) -> list[tuple[str, dict[str, str]]]:
    person = str(planted.person.pk)
    views: list[tuple[str, dict[str, str]]] = [
        (reverse("audit:record", args=["person", person]), {}),
        (reverse("audit:events"), {}),
        (reverse("audit:events_export"), {}),
    ]
    for action in (Action.WRITE, Action.SEARCH, Action.UNMASK, Action.LOGIN_FAILED):
        views.append((reverse("audit:events"), {"action": action}))
        views.append((reverse("audit:events_export"), {"action": action}))
    views += [
        (reverse("audit:events"), {"record_type": "person", "record_id": person}),
        (reverse("audit:events_export"), {"record_type": "person", "action": Action.WRITE}),
        (reverse("audit:events"), {"action": Action.IDENTIFY}),
        (reverse("audit:events"), {"action": Action.ALERT}),
    ]
    return views


@pytest.mark.parametrize("key", ["A1", "B1"])
def test_the_auditor_sees_who_did_what_never_the_register(
    key: str, world: World, clients: dict[str, Client]
) -> None:
    planted = world.planted[key]
    _activity(world, clients, planted)
    auditor = clients["auditor"]

    problems = []
    for url, query in _auditor_views(planted):
        response = auditor.get(url, query)
        assert response.status_code == 200, url
        text = _text(response)
        if leaks := _leaks(text, planted):
            problems.append(f"{url}?{urlencode(query)}: {leaks}")
    assert not problems, "\n".join(problems)


def test_the_auditor_still_sees_what_was_done(world: World, clients: dict[str, Client]) -> None:
    planted = world.planted["A1"]
    _activity(world, clients, planted)
    auditor = clients["auditor"]

    clerk = world.users["committee_clerk"].get_username()
    writes = auditor.get(reverse("audit:events"), {"action": Action.WRITE, "user": clerk})
    details = [row.detail for row in writes.context["rows"]]
    assert any("name, birth_date, id_number, phone, tag, residence" in d for d in details), details
    searches = auditor.get(reverse("audit:events"), {"action": Action.SEARCH}).content.decode()
    # Repeated searches for one number carry one fingerprint, whatever form it was typed in.
    phones = set(re.findall(r"phone ·([0-9a-f]{10})|电话 ·([0-9a-f]{10})", searches))
    assert len(phones) == 1, phones
    failed = auditor.get(reverse("audit:events"), {"action": Action.LOGIN_FAILED})
    assert len(failed.context["rows"]) >= 4
    assert all(not row.user_link for row in failed.context["rows"])


def test_alerts_show_at_a_glance(world: World, clients: dict[str, Client]) -> None:
    clerk = world.users["committee_clerk"]
    audit_record(Action.ALERT, user=clerk, detail={"misses": 100, "window": "1h"})
    auditor = clients["auditor"]

    page = auditor.get(reverse("audit:events"))
    assert page.context["alerts"] == 1
    html = page.content.decode()
    assert 'id="audit-alerts"' in html and "?action=alert" in html
    alerts = auditor.get(reverse("audit:events"), {"action": Action.ALERT})
    assert [row.event.action for row in alerts.context["rows"]] == [Action.ALERT]
    assert "misses: 100" in alerts.context["rows"][0].detail


# ---------------------------------------------------------------- finding 14: lists


def _shows(response: object, planted: Planted) -> bool:
    """Whether a response showed the planted person (by a link to them or their name)."""
    text = _text(response)
    kind = response.get("Content-Type", "")  # type: ignore[attr-defined]
    if "html" in kind:
        return f"/people/{planted.person.pk}/" in text
    return planted.person.name in text


def _names_person(since: int, planted: Planted) -> bool:
    pk = planted.person.pk
    direct = AuditEvent.objects.filter(
        id__gt=since, record_type="person", record_id=str(pk)
    ).exists()
    listed = AuditPersonRef.objects.filter(event_id__gt=since, person_id=pk).exists()
    return direct or listed


# Every route, reads and actions alike (an action that answers with a person reads them too).
_ANSWERS = [route for route in ROUTES if route.kind != "audit"]


@pytest.mark.parametrize("role", [r for r in ROLES if r not in {"auditor", "no_role", "collector"}])
def test_every_route_that_shows_a_person_is_found_on_their_audit_page(
    role: str, world: World, clients: dict[str, Client]
) -> None:
    client = clients[role]
    problems = []
    for key in ("A1", "MOVED"):
        planted = world.planted[key]
        for route in _ANSWERS:
            if not _holds(world, role, route.power):
                continue
            since = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
            response = _request(client, route, planted)
            if getattr(response, "status_code", 0) != 200 or not _shows(response, planted):
                continue
            if not _names_person(since, planted):
                problems.append(f"{route.name} {unquote(route.url(planted))} as {key}")
    assert not problems, "shows the person, audits nobody:\n" + "\n".join(problems)
    assert audit_verify().ok


def _route(name: str) -> Route:
    return next(route for route in ROUTES if route.name == name)


def test_a_clerk_opening_a_house_and_exports_is_on_the_persons_audit_page(
    world: World, clients: dict[str, Client]
) -> None:
    planted = world.planted["A1"]
    assert planted.house is not None
    clerk = clients["committee_clerk"]
    officer = clients["district_admin"]
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0

    clerk.get(reverse("web:house_detail", args=[planted.house.house_code]))
    clerk.get(f"/api/houses/{planted.house.house_code}/residences")
    clerk.get("/search/people.xlsx", {"q": planted.person.name})
    for url in ("/conflicts/conflicts.xlsx", "/review/pairs.xlsx", "/conflicts/", "/review/"):
        for client in (clerk, officer):
            client.get(url)

    listed = set(
        AuditPersonRef.objects.filter(event_id__gt=before, person_id=planted.person.pk).values_list(
            "event_id", flat=True
        )
    )
    kinds = {
        (event.record_type, event.detail.get("list"))
        for event in AuditEvent.objects.filter(id__in=listed)
    }
    assert {("house", "house"), ("person", "people")} <= kinds
    assert {kind for kind in kinds if kind[0] in {"conflict", "review_pair"}}, kinds

    response = clients["auditor"].get(reverse("audit:record", args=["person", planted.person.pk]))
    shown = {row.event.pk for row in response.context["rows"]}
    assert listed <= shown
    readers = {r["username"]: r for r in response.context["readers"]}
    assert readers[world.users["committee_clerk"].get_username()]["listed"] >= 3
    assert audit_verify().ok


def test_verify_finds_a_list_event_whose_people_were_taken_out_of_the_index(
    world: World, clients: dict[str, Client]
) -> None:
    planted = world.planted["A1"]
    assert planted.house is not None
    clients["committee_clerk"].get(reverse("web:house_detail", args=[planted.house.house_code]))
    ref = AuditPersonRef.objects.filter(person_id=planted.person.pk).latest("event_id")

    AuditPersonRef.objects.filter(pk=ref.pk).delete()  # hiding the read from the person's page

    result = audit_verify()
    assert (result.problem, result.broken_id) == ("unindexed", ref.event_id)
