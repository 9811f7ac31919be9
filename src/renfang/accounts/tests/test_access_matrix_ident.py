"""Issue 11, findings 2, 9 and 13 (ADR 0021), on the access matrix's world: masks that leave
many candidates, exact-number searches bounded per user (the attack, run with its own method),
missing and forbidden records that do the same work, and numbers that never travel in URLs
or page titles.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from renfang.accounts.access import access_for, mask_id_number, mask_phone
from renfang.accounts.masks import (
    SEQUENCES_PER_SEX,
    candidates_left,
    phone_candidate_count,
    phone_candidates,
    resident_id_candidates,
)
from renfang.accounts.tests.test_access_matrix import KEYS, _leaks, _text, clients, world
from renfang.audit.models import Action, AuditEvent
from renfang.people.facts import (
    attribute_record,
    hukou_record,
    person_create,
    residence_record,
)
from renfang.people.idnumbers import with_check_digit
from renfang.people.models import AttributeKind, Person
from renfang.testing.matrix import World
from renfang.testing.users import client_for

# The access matrix's fixtures: its world (one user per role, records in three committees)
# and a logged-in client per role.
MATRIX_FIXTURES = (world, clients)
D = datetime.date
MASKED_ROLES = ("district_admin", "street_officer", "committee_clerk", "collector")

# --- (a) masks --------------------------------------------------------------------------------

NUMBERS = [
    # (kind, number, a phone?)
    ("resident ID, 18 digits", "310104197101010031", False),
    ("resident ID, check X", with_check_digit("11010519491231002"), False),
    ("resident ID, 15 digits", "310104710101003", False),
    ("passport", "E12345678", False),
    ("foreign passport", "K1234567", False),
    ("Hong Kong/Macau permit", "H1234567801", False),
    ("Hong Kong/Macau permit (2019)", "C12345678", False),
    ("Taiwan permit", "12345678", False),
    ("foreign PR card (2004)", "USA310090101001", False),
    ("foreign PR card (2023)", "933310199001011237", False),
    ("other", "SS-1234", False),
    ("mobile phone", "13812345678", True),
    ("mobile phone with +86", "+8613812345678", True),
    ("landline", "02164321234", True),
    ("short landline", "64321234", True),
]


def _masked(number: str, phone: bool, id_type: str = "") -> str:
    return mask_phone(number) if phone else mask_id_number(number, id_type)


@pytest.mark.parametrize("minimum", [None, 10**6])
@pytest.mark.parametrize(("kind", "number", "phone"), NUMBERS)
def test_every_mask_leaves_the_minimum_of_candidates_on_its_own(
    kind: str, number: str, phone: bool, minimum: int | None, settings: object
) -> None:
    if minimum is not None:
        settings.RENFANG_MASK_MIN_CANDIDATES = minimum  # type: ignore[attr-defined]
    wanted = minimum or 10_000
    id_type = "foreign_pr" if kind.startswith("foreign PR") else ""
    masked = _masked(number, phone, id_type)
    assert len(masked) == len(number) and number not in masked
    left = candidates_left(number, masked, phone=phone)
    # Either the mask leaves enough, or it hides every character (short numbers).
    assert left >= wanted or set(masked[3 if phone else 0 :]) <= {"*"}, (kind, masked, left)


@pytest.mark.parametrize("number", ["310104197101010031", "310104710101003", "933310199001011237"])
def test_a_resident_id_never_shows_its_sequence_or_check_digits(number: str) -> None:
    masked = mask_id_number(number)
    assert masked.endswith("*" * 4) and masked[:4] == number[:4]


@dataclass
class Target:
    person: Person
    id_number: str
    phone: str
    birth_date: datetime.date
    sex: str
    hukou_division: str


def _plant_target(world: World) -> Target:
    """A man born 1985-03-14 with hukou in A1 and living there. His sequence number is 987:
    in the attacker's ascending order it is the 494th of 500 candidates, so the 20 misses the
    bound allows cannot reach it (the test is deterministic). His phone 13911223344 is the
    112,233rd candidate of 10^6."""
    number = with_check_digit("31010419850314987")
    person = person_create(
        id_type="resident_id", id_number=number, name="目标住户", sex="1", birth_date=D(1985, 3, 14)
    )
    hukou_record(person=person, division=world.areas["A1"].code, valid_from=D(1985, 3, 14))
    house = world.planted["A1"].house
    residence_record(person=person, valid_from=D(2019, 1, 1), house=house, relation="owner")
    attribute_record(
        person=person, kind=AttributeKind.PHONE, value="13911223344", valid_from=D(2019, 1, 1)
    )
    return Target(person, number, "13911223344", D(1985, 3, 14), "1", world.areas["A1"].code)


def test_a_masked_resident_id_leaves_500_candidates_and_the_old_mask_left_one(
    world: World, clients: dict[str, Client]
) -> None:
    """The honest arithmetic (ADR 0021): with the birth date and the sex shown and the region
    guessed from the hukou division, 500 sequence/check combinations remain whatever is
    masked; the old mask (last four shown) left one."""
    target = _plant_target(world)
    page = _text(clients["committee_clerk"].get(f"/people/{target.person.pk}/"))
    [masked] = re.findall(r"\d{4}\*{14}", page)
    assert masked == mask_id_number(target.id_number)
    assert "1985-03-14" in page and target.id_number not in page
    region = target.hukou_division[:6]
    found = list(
        resident_id_candidates(
            masked, regions=[region], birth_date=target.birth_date, sex=target.sex
        )
    )
    assert len(found) == SEQUENCES_PER_SEX == 500
    assert target.id_number in found
    old_mask = target.id_number[:4] + "*" * 10 + target.id_number[-4:]
    assert list(
        resident_id_candidates(
            old_mask, regions=[region], birth_date=target.birth_date, sex=target.sex
        )
    ) == [target.id_number]
    assert phone_candidate_count(mask_phone(target.phone)) == 10**6
    assert phone_candidate_count(target.phone[:3] + "****" + target.phone[-4:]) == 10**4


# --- (b) the attack: exact searches with a budget of 100 -------------------------------------

BUDGET = 100
# What differs between two renderings of one page: the CSRF token, the search token.
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"|t=[\w-]+')


@dataclass
class Outcome:
    confirmed: str | None
    misses: int
    refused: int
    tried: int


def _web_search(client: Client) -> Callable[[str], tuple[int, bool]]:
    def search(number: str) -> tuple[int, bool]:
        response = client.post(reverse("web:search"), {"q": number}, follow=True)
        found = response.status_code == 200 and bool(response.context["people_rows"])
        return response.status_code, found

    return search


def _api_lookup(client: Client) -> Callable[[str], tuple[int, bool]]:
    def search(number: str) -> tuple[int, bool]:
        response = client.post(
            "/api/people/lookup", json.dumps({"q": number}), content_type="application/json"
        )
        found = response.status_code == 200 and bool(response.json()["results"])
        return response.status_code, found

    return search


def _attack(candidates: list[str], search: Callable[[str], tuple[int, bool]]) -> Outcome:
    outcome = Outcome(confirmed=None, misses=0, refused=0, tried=0)
    for number in candidates[:BUDGET]:
        outcome.tried += 1
        status, found = search(number)
        if status == 429:  # noqa: PLR2004
            outcome.refused += 1
        elif found:
            outcome.confirmed = number
            break
        else:
            outcome.misses += 1
    return outcome


def _identify_events(world: World, role: str) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(user_id=world.users[role].pk, action=Action.IDENTIFY).order_by(
            "id"
        )
    )


def _alerts(world: World, role: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=Action.ALERT, record_id=world.users[role].pk))


@pytest.mark.parametrize("channel", ["web", "api"])
def test_the_attack_on_a_masked_id_number_fails(
    channel: str, world: World, clients: dict[str, Client]
) -> None:
    """As the clerk: the masked ID, birth date, sex and hukou division of the person page; the
    candidates with a valid check digit in ascending order; exact searches, 100 at most."""
    target = _plant_target(world)
    client = clients["committee_clerk"]
    masked = mask_id_number(target.id_number)
    region = target.hukou_division[:6]
    candidates = list(
        resident_id_candidates(
            masked, regions=[region], birth_date=target.birth_date, sex=target.sex
        )
    )
    search = _web_search(client) if channel == "web" else _api_lookup(client)

    outcome = _attack(candidates, search)

    bound = settings.RENFANG_IDENTIFY_MISSES
    assert outcome.confirmed is None
    assert outcome.misses == bound and outcome.refused == BUDGET - bound
    # The auditor was told, once; every attempt is recorded, never with the number.
    [alert] = _alerts(world, "committee_clerk")
    assert alert.detail["kind"] == "number" and alert.detail["misses"] == bound
    events = _identify_events(world, "committee_clerk")
    assert len(events) == bound and not any(e.detail["hit"] for e in events)
    assert len({e.detail["fingerprint"] for e in events}) == bound
    assert all(c not in json.dumps(e.detail) for e in events for c in candidates)
    # The refusal does not depend on the number: the right one is refused like a wrong one.
    assert search(target.id_number) == (429, False)
    assert search(candidates[-1]) == (429, False)
    # A name search still works.
    assert search(target.person.name)[0] == 200


def test_the_attack_on_a_masked_phone_fails(world: World, clients: dict[str, Client]) -> None:
    target = _plant_target(world)
    client = clients["street_officer"]
    masked = mask_phone(target.phone)
    assert masked == "139******44"
    candidates = list(phone_candidates(masked))
    assert len(candidates) == 10**6
    outcome = _attack(candidates, _web_search(client))
    assert outcome.confirmed is None
    assert outcome.misses == settings.RENFANG_IDENTIFY_MISSES
    assert len(_alerts(world, "street_officer")) == 1


def test_refused_pages_are_the_same_for_any_number(
    world: World, clients: dict[str, Client], settings: object
) -> None:
    settings.RENFANG_IDENTIFY_MISSES = 2  # type: ignore[attr-defined]
    target = _plant_target(world)
    client = clients["committee_clerk"]
    for number in ("13900000000", "13900000001"):
        client.post(reverse("web:search"), {"q": number}, follow=True)
    # Another number of the same mask: the pages may differ only if the answer depends on it.
    other = with_check_digit(target.id_number[:14] + "985")
    assert mask_id_number(other) == mask_id_number(target.id_number)
    right = client.post(reverse("web:search"), {"q": target.id_number}, follow=True)
    wrong = client.post(reverse("web:search"), {"q": other}, follow=True)
    assert right.status_code == wrong.status_code == 429
    bodies = [_CSRF.sub("", r.content.decode()) for r in (right, wrong)]
    assert bodies[0] == bodies[1]
    assert target.id_number not in bodies[0]
    assert "按号码查询已暂停" in bodies[0]  # said, in the user's language
    api = client.post(
        "/api/people/lookup", json.dumps({"q": other}), content_type="application/json"
    )
    assert api.status_code == 429 and api.json()["error"]["code"] == "too_many_requests"


def test_hits_are_recorded_and_do_not_use_up_the_misses(
    world: World, clients: dict[str, Client], settings: object
) -> None:
    settings.RENFANG_IDENTIFY_MISSES = 2  # type: ignore[attr-defined]
    target = _plant_target(world)
    search = _api_lookup(clients["committee_clerk"])
    for _ in range(5):
        assert search(target.id_number) == (200, True)
    assert [e.detail["hit"] for e in _identify_events(world, "committee_clerk")] == [True] * 5
    assert not _alerts(world, "committee_clerk")


def test_the_bound_costs_one_indexed_read_per_lookup(
    world: World, clients: dict[str, Client]
) -> None:
    """The bound is one atomic update of the user's row by its unique (user_id, kind) index,
    which reserves a miss before the search; a hit gives it back with a second one."""
    planted = world.planted["A1"]
    search = _api_lookup(clients["committee_clerk"])
    search(planted.id_number)  # warm the caches
    with CaptureQueriesContext(connection) as captured:
        assert search(planted.id_number) == (200, True)
    budget = [q["sql"] for q in captured.captured_queries if "identifybudget" in q["sql"]]
    assert len(budget) == 2 and all(sql.startswith("UPDATE") for sql in budget), budget
    assert all('"user_id" =' in sql and '"kind" =' in sql for sql in budget)


def test_searches_sent_at_once_cannot_all_pass_the_bound(world: World) -> None:
    """The review's race: many number searches sent in parallel each read the count before any
    of them had counted its miss, and 31 of 40 went through. Each search now reserves its miss
    before looking anything up, so only the bound's worth pass however they interleave."""
    from renfang.people.identify import IdentifyRefused, check_budget

    clerk = world.users["committee_clerk"]
    access = access_for(clerk)
    passed = 0
    for _ in range(settings.RENFANG_IDENTIFY_MISSES + 20):  # all checked before any is recorded
        try:
            check_budget(clerk, access)
        except IdentifyRefused:
            continue
        passed += 1
    assert passed == settings.RENFANG_IDENTIFY_MISSES


def test_roles_that_see_numbers_in_full_are_recorded_not_bounded(
    world: World, clients: dict[str, Client]
) -> None:
    """The police see every number of their area in full: an exact search tells them nothing
    they cannot read, so their misses are recorded (``bounded`` false) but not refused."""
    search = _api_lookup(clients["police"])
    misses = settings.RENFANG_IDENTIFY_MISSES + 5
    for n in range(misses):
        assert search(f"139000000{n:02d}") == (200, False)
    events = _identify_events(world, "police")
    assert len(events) == misses and not any(e.detail["bounded"] for e in events)
    assert not _alerts(world, "police")


def test_the_window_ends_and_searching_resumes(
    world: World, clients: dict[str, Client], settings: object
) -> None:
    from renfang.people.models import IdentifyBudget  # noqa: PLC0415

    settings.RENFANG_IDENTIFY_MISSES = 2  # type: ignore[attr-defined]
    search = _api_lookup(clients["committee_clerk"])
    assert [search(n)[0] for n in ("13900000000", "13900000001", "13900000002")] == [
        200,
        200,
        429,
    ]
    IdentifyBudget.objects.filter(user_id=world.users["committee_clerk"].pk).update(
        window_start=datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
    )
    assert search("13900000003")[0] == 200


def test_addresses_and_visible_house_codes_are_no_identification_attempts(
    world: World, clients: dict[str, Client]
) -> None:
    client = clients["committee_clerk"]
    house = world.planted["A1"].house
    assert house is not None
    client.get(reverse("web:search"), {"q": "甲一路1号"}, follow=True)
    client.post(reverse("web:search"), {"q": house.house_code}, follow=True)
    events = _identify_events(world, "committee_clerk")
    assert [e.detail["hit"] for e in events] == [True]  # the house code: found, not a miss


# --- (c) finding 9: a missing person and a forbidden one do the same work ---------------------


def _shape(sql: str) -> str:
    """A query without its literals (ids, timestamps, hashes differ between the two)."""
    sql = re.sub(r'"s\d+_x\d+"', '"savepoint"', sql)
    return re.sub(r"'(?:[^']|'')*'|\b\d+\b", "?", sql)


def _run(
    client: Client, url: str, method: str, data: dict[str, object] | None
) -> tuple[Any, list[str]]:  # (a test client response)
    with CaptureQueriesContext(connection) as captured:
        if method == "POST" and url.startswith("/api/"):
            response = client.post(url, json.dumps(data), content_type="application/json")
        elif method == "POST":
            response = client.post(url, data)
        else:
            response = client.get(url)
    return response, [_shape(q["sql"]) for q in captured.captured_queries]


PERSON_ROUTES: list[tuple[str, str, dict[str, object] | None]] = [
    ("/people/{id}/", "GET", None),
    ("/people/{id}/reveal/", "POST", {"field": "id_number", "purpose": "核对身份"}),
    ("/api/people/{id}", "GET", None),
    ("/api/people/{id}/residences", "GET", None),
    ("/api/people/{id}/provenance", "GET", None),
    ("/api/people/{id}/unmask", "POST", {"field": "id_number", "purpose": "核对身份"}),
]


@pytest.mark.parametrize(("url", "method", "data"), PERSON_ROUTES)
def test_a_missing_and_a_forbidden_person_run_the_same_queries(
    url: str,
    method: str,
    data: dict[str, object] | None,
    world: World,
    clients: dict[str, Client],
) -> None:
    client = clients["committee_clerk"]
    forbidden = world.planted["B1"].person.pk
    missing = Person.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    _run(client, url.format(id=forbidden), method, data)  # warm the caches
    denied, denied_queries = _run(client, url.format(id=forbidden), method, data)
    absent, absent_queries = _run(client, url.format(id=missing), method, data)
    assert denied.status_code == absent.status_code == 404
    assert denied_queries == absent_queries
    bodies = [_CSRF.sub("", r.content.decode()) for r in (denied, absent)]
    assert bodies[0] == bodies[1]


def test_an_enumeration_of_person_ids_raises_an_alert(
    world: World, clients: dict[str, Client]
) -> None:
    client = clients["committee_clerk"]
    first = Person.objects.order_by("pk").values_list("pk", flat=True)[0]
    bound = settings.RENFANG_IDENTIFY_MISSES
    statuses = [client.get(f"/api/people/{first + n}").status_code for n in range(bound + 40)]
    assert statuses.count(404) >= bound
    [alert] = _alerts(world, "committee_clerk")
    assert alert.detail["kind"] == "record"


# --- (d) finding 13: numbers out of URLs and titles; a real unmask purpose -------------------


@pytest.mark.parametrize("role", [*MASKED_ROLES, "police"])
@pytest.mark.parametrize("which", ["id_number", "phone"])
def test_numbers_never_travel_in_urls_or_titles(
    role: str, which: str, world: World, clients: dict[str, Client]
) -> None:
    client = clients[role]
    planted = world.planted["A1"]
    number = planted.id_number if which == "id_number" else planted.phone
    home = client.get("/").content.decode()
    assert re.search(r'<form[^>]*action="/search/"[^>]*method="post"', home)
    posted = client.post(reverse("web:search"), {"q": number})
    assert posted.status_code == 303
    location = posted["Location"]
    assert number not in location and "?t=" in location
    page = client.get(location)
    html = page.content.decode()
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    assert title is not None and number not in title.group(1)
    shown = mask_phone(number) if which == "phone" else mask_id_number(number)
    assert shown in title.group(1)
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert not [h for h in hrefs if number in h]
    export = next(h for h in hrefs if "people.xlsx" in h)
    assert "t=" in export
    assert client.get(export.replace("&amp;", "&")).status_code == 200
    # A number typed into the URL by hand is moved behind a token at once.
    moved = client.get(reverse("web:search"), {"q": number})
    assert moved.status_code == 303 and number not in moved["Location"]


def test_a_search_token_works_for_its_user_only_and_expires(
    world: World, clients: dict[str, Client]
) -> None:
    number = world.planted["A1"].id_number
    location = clients["committee_clerk"].post(reverse("web:search"), {"q": number})["Location"]
    assert clients["committee_clerk"].get(location).status_code == 200
    other = client_for(world.users["committee_clerk"])  # the same user, another session
    assert other.get(location).status_code == 410
    assert clients["street_officer"].get(location).status_code == 410
    # Half an hour later (RENFANG_SEARCH_TOKEN_MINUTES): the token is gone.
    session = clients["committee_clerk"].session
    tokens = session["renfang_search_tokens"]
    for entry in tokens.values():
        entry[1] -= settings.RENFANG_SEARCH_TOKEN_MINUTES * 60 + 1
    session["renfang_search_tokens"] = tokens
    session.save()
    assert clients["committee_clerk"].get(location).status_code == 410


@pytest.mark.parametrize(
    "url", ["/api/people?q={n}", "/api/search?q={n}", "/api/people?q={n}&area=310104003001"]
)
def test_the_api_refuses_numbers_in_the_url(
    url: str, world: World, clients: dict[str, Client]
) -> None:
    planted = world.planted["A1"]
    for number in (planted.id_number, planted.phone, "+86 139 1111 0001"):
        response = clients["committee_clerk"].get(url.format(n=quote(number)))
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["fields"][0]["field"] == "q" and "POST" in error["fields"][0]["message"]
    assert not _identify_events(world, "committee_clerk")


def test_the_api_looks_numbers_up_by_post(world: World, clients: dict[str, Client]) -> None:
    planted = world.planted["A1"]
    client = clients["committee_clerk"]
    people = client.post(
        "/api/people/lookup", json.dumps({"q": planted.phone}), content_type="application/json"
    ).json()
    assert [p["id"] for p in people["results"]] == [planted.person.pk]
    both = client.post(
        "/api/search", json.dumps({"q": planted.id_number}), content_type="application/json"
    ).json()
    assert [p["id"] for p in both["people"]["results"]] == [planted.person.pk]
    assert [e.detail["hit"] for e in _identify_events(world, "committee_clerk")] == [True, True]


@pytest.mark.parametrize("role", MASKED_ROLES)
def test_number_searches_show_no_record_outside_the_area(
    role: str, world: World, clients: dict[str, Client]
) -> None:
    """The matrix's leak check on the results of number searches, now behind tokens."""
    client = clients[role]
    sees = world.sees[role]
    problems = []
    for key in KEYS:
        planted = world.planted[key]
        for number in (planted.id_number, planted.phone):
            page = client.post(reverse("web:search"), {"q": number}, follow=True)
            export_url = reverse("web:search_people_export")
            token = page.request["QUERY_STRING"]
            export = client.get(f"{export_url}?{token}")
            lookup = client.post(
                "/api/people/lookup", json.dumps({"q": number}), content_type="application/json"
            )
            for response in (page, export, lookup):
                text = _text(response)
                for other in KEYS:
                    if other not in sees and _leaks(text, world.planted[other]):
                        problems.append(f"{key} {number}: shows {other}")
                if number in text:
                    problems.append(f"{key}: {number} in full")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("purpose", ["", "  ", "x", "核实", "ok!", "....", "a a a a", "哦哦哦哦"])
def test_an_unmask_needs_a_real_purpose(
    purpose: str, world: World, clients: dict[str, Client]
) -> None:
    planted = world.planted["A1"]
    client = clients["committee_clerk"]
    page = client.post(
        f"/people/{planted.person.pk}/reveal/", {"field": "id_number", "purpose": purpose}
    )
    api = client.post(
        f"/api/people/{planted.person.pk}/unmask",
        json.dumps({"field": "id_number", "purpose": purpose}),
        content_type="application/json",
    )
    assert page.status_code == 400 and planted.id_number not in page.content.decode()
    assert api.status_code == 422 and api.json()["error"]["code"] == "purpose_required"
    assert not AuditEvent.objects.filter(action=Action.UNMASK).exists()
    good = client.post(
        f"/people/{planted.person.pk}/reveal/", {"field": "id_number", "purpose": "核对身份"}
    )
    assert planted.id_number in good.content.decode()
