"""The access matrix: every page and every API operation, as every role, against records of the
user's own area, of a sibling committee and of another street.

No response (page, list, count, search, export, API) may carry a record the user may not see;
a record outside the area answers exactly like a missing one; the denied reads are audited.
A route that is neither listed here nor exempted with a reason fails
``test_every_route_is_in_the_matrix``: add new pages and endpoints to ROUTES when you add them.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from renfang.accounts.access import access_for
from renfang.audit.models import Action, AuditEvent
from renfang.exchange.tests.feed_world import plant_feed, subscription_id
from renfang.testing.matrix import Planted, World, add_moved_person, build_world
from renfang.testing.sources import conflict_id, pair_id, plant_sources
from renfang.testing.users import client_for

ROLES = (
    "district_admin",
    "street_officer",
    "committee_clerk",
    "collector",
    "police",
    "department_reader",
    "auditor",
    "no_role",
)
KEYS = ("A1", "A2", "B1", "HUKOU_A1", "MOVED")

# The areas (world.areas keys) whose figures each role may open.
AREA_SEES: dict[str, frozenset[str]] = {
    "district_admin": frozenset({"district", "A", "B", "A1", "A2", "B1", "grid"}),
    "street_officer": frozenset({"A", "A1", "A2", "grid"}),
    "committee_clerk": frozenset({"A1", "grid"}),
    "collector": frozenset({"grid"}),  # bound to a grid inside A1, not the whole committee
    "police": frozenset({"A1", "grid"}),
    "department_reader": frozenset({"A1"}),
    "auditor": frozenset(),
    "no_role": frozenset(),
}


@dataclass(frozen=True)
class Route:
    """How to ask a route about one planted record.

    kind "person" / "house" / "area": a detail route; visible → 200, else 404 + a denied audit.
    kind "list": a list, search or export; it may only ever contain visible records.
    kind "audit": the audit log; auditors only (it names records and search terms by design),
    404 for everyone else.
    ``area``: the route is about a fixed area (world.areas key), not the record's committee.
    """

    name: str
    kind: str
    url: Callable[[Planted], str]
    method: str = "GET"
    data: Callable[[Planted], dict[str, object]] | None = None
    area: str = ""
    # What a visible record may answer: an action the role may not take is refused (403) or
    # answered with a message (200), never with another area's data.
    ok: frozenset[int] = frozenset({200})
    # A power of roles.toml the route needs (manages_sources, resolves_identities,
    # settles_conflicts): a role without it gets ``no_power`` (pages: 404, like the audit log;
    # the API: 403 permission_denied), whatever the record.
    power: str = ""
    no_power: int = 404


def _web(name: str, **kwargs: Callable[[Planted], object]) -> Callable[[Planted], str]:
    def build(planted: Planted) -> str:
        return reverse(name, kwargs={k: f(planted) for k, f in kwargs.items()})

    return build


def _query(
    url: Callable[[Planted], str], **params: Callable[[Planted], object]
) -> Callable[[Planted], str]:
    def build(planted: Planted) -> str:
        from urllib.parse import urlencode  # noqa: PLC0415

        return url(planted) + "?" + urlencode({k: str(f(planted)) for k, f in params.items()})

    return build


def _person_id(p: Planted) -> object:
    return p.person.pk


def _house_code(p: Planted) -> object:
    return p.house.house_code if p.house else "310104000000999999"


def _committee(p: Planted) -> object:
    return p.area_code


def _name(p: Planted) -> str:
    return p.person.name


def _id(p: Planted) -> str:
    return p.person.id_number


def _phone(p: Planted) -> str:
    return p.phone


def _static(path: str) -> Callable[[Planted], str]:
    return lambda _p: path


ROUTES: list[Route] = [
    Route("web:home", "list", _static("/")),
    Route("web:search", "list", _query(_static("/search/"), q=_name)),
    Route("web:search", "list", _query(_static("/search/"), q=_id)),
    Route("web:search", "list", _query(_static("/search/"), q=_phone)),
    Route("web:search", "list", _query(_static("/search/"), q=lambda p: "路")),
    Route("web:search_people_export", "list", _query(_static("/search/people.xlsx"), q=_name)),
    Route("web:search_people_export", "list", _query(_static("/search/people.xlsx"), q=_id)),
    Route(
        "web:search_houses_export", "list", _query(_static("/search/houses.xlsx"), q=lambda p: "路")
    ),
    Route("web:person_detail", "person", _web("web:person_detail", person_id=_person_id)),
    Route(
        "web:person_reveal",
        "person",
        _web("web:person_reveal", person_id=_person_id),
        method="POST",
        data=lambda p: {"field": "id_number", "purpose": "核对身份"},
    ),
    Route("web:house_detail", "house", _web("web:house_detail", house_code=_house_code)),
    Route("web:area_detail", "area", _web("web:area_detail", code=_committee)),
    Route("web:area_detail", "list", _web("web:area_detail", code=lambda p: "310104")),
    Route(
        "web:area_subareas_export",
        "list",
        _web("web:area_subareas_export", code=lambda p: "310104"),
    ),
]

# The audit log: only auditors; it never shows a person's data beyond record ids and masked
# numbers typed into searches.
ROUTES += [
    Route("audit:events", "audit", _static("/audit/")),
    Route("audit:events", "audit", _query(_static("/audit/"), record_type=lambda p: "person")),
    Route("audit:events_export", "audit", _static("/audit/events.xlsx")),
    Route(
        "audit:record",
        "audit",
        _web("audit:record", record_type=lambda p: "person", record_id=_person_id),
    ),
]

# The API: every operation (their URL names are "api:<operation id>").
_DISTRICT = _static("310104")
ROUTES += [
    Route("api:people_list", "list", _query(_static("/api/people"), q=_name)),
    Route("api:people_list", "list", _query(_static("/api/people"), q=_id)),
    Route("api:people_list", "list", _query(_static("/api/people"), q=_phone)),
    Route("api:people_list", "area", _query(_static("/api/people"), area=_committee)),
    Route(
        "api:people_list", "area", _query(_static("/api/people"), area=_DISTRICT), area="district"
    ),
    Route("api:person_get", "person", lambda p: f"/api/people/{p.person.pk}"),
    Route(
        "api:person_residences_list", "person", lambda p: f"/api/people/{p.person.pk}/residences"
    ),
    Route(
        "api:person_identifier_unmask",
        "person",
        lambda p: f"/api/people/{p.person.pk}/unmask",
        method="POST",
        data=lambda p: {"field": "id_number", "purpose": "核对身份"},
        ok=frozenset({200, 403}),
    ),
    Route("api:houses_list", "list", _query(_static("/api/houses"), q=lambda p: "路")),
    Route("api:houses_list", "list", _query(_static("/api/houses"), q=_house_code)),
    Route("api:houses_list", "area", _query(_static("/api/houses"), area=_committee)),
    Route("api:house_get", "house", lambda p: f"/api/houses/{_house_code(p)}"),
    Route(
        "api:house_residences_list", "house", lambda p: f"/api/houses/{_house_code(p)}/residences"
    ),
    Route("api:areas_list", "list", _static("/api/areas")),
    Route("api:areas_list", "area", _query(_static("/api/areas"), parent=_committee)),
    Route("api:area_get", "area", lambda p: f"/api/areas/{p.area_code}"),
    Route("api:area_get", "area", _static("/api/areas/310104"), area="district"),
    Route("api:stats_get", "area", _query(_static("/api/stats"), area=_committee)),
    Route("api:stats_get", "area", _query(_static("/api/stats"), area=_DISTRICT), area="district"),
    Route("api:search", "list", _query(_static("/api/search"), q=_name)),
    Route("api:search", "list", _query(_static("/api/search"), q=_id)),
    Route("api:search", "list", _query(_static("/api/search"), q=lambda p: "路")),
    # Numbers are looked up by POST (issue 11, ADR 0021): they stay out of URLs.
    Route("web:search", "list", _static("/search/"), method="POST", data=lambda p: {"q": _id(p)}),
    Route(
        "api:people_lookup",
        "list",
        _static("/api/people/lookup"),
        method="POST",
        data=lambda p: {"q": _id(p)},
    ),
    Route(
        "api:people_lookup",
        "list",
        _static("/api/people/lookup"),
        method="POST",
        data=lambda p: {"q": _phone(p)},
    ),
    Route(
        "api:search_lookup",
        "list",
        _static("/api/search"),
        method="POST",
        data=lambda p: {"q": _id(p)},
    ),
    Route("api:code_sets_list", "list", _static("/api/codes")),
    Route("api:code_set_get", "list", _static("/api/codes/person_tag")),
    Route("api:me_get", "list", _static("/api/me")),
]

# Sources, review queue, conflicts, provenance, merge and split (issue 4): pages and API.
# The sources pages show no person but quote import reports (identifiers masked); the review
# pair and conflict routes are about the planted person whose records they hold.
_SOURCES = "manages_sources"
_RESOLVES = "resolves_identities"
_SETTLES = "settles_conflicts"
ROUTES += [
    Route("web:sources_list", "list", _static("/sources/"), power=_SOURCES),
    Route("web:sources_export", "list", _static("/sources/sources.xlsx"), power=_SOURCES),
    Route(
        "web:source_detail",
        "list",
        _web("web:source_detail", code=lambda p: "civil_affairs"),
        power=_SOURCES,
    ),
    Route(
        "web:source_mapping_update",
        "list",
        _web("web:source_mapping_update", code=lambda p: "police"),
        method="POST",
        data=lambda p: {"text": "record_id: [unclosed"},
        power=_SOURCES,
    ),
    Route("web:unmapped_codes", "list", _static("/sources/unmapped/"), power=_SOURCES),
    Route("web:unmapped_codes_export", "list", _static("/sources/unmapped.xlsx"), power=_SOURCES),
    Route("web:review_list", "list", _static("/review/"), power=_RESOLVES),
    Route(
        "web:review_list",
        "list",
        _query(_static("/review/"), status=lambda p: "same"),
        power=_RESOLVES,
    ),
    Route("web:review_export", "list", _static("/review/pairs.xlsx"), power=_RESOLVES),
    Route(
        "web:review_detail", "person", _web("web:review_detail", pair_id=pair_id), power=_RESOLVES
    ),
    Route(
        "web:review_decide",
        "person",
        _web("web:review_decide", pair_id=pair_id),
        method="POST",
        data=lambda p: {"decision": "maybe"},  # not a decision: the page says so, nothing changes
        ok=frozenset({400}),
        power=_RESOLVES,
    ),
    Route(
        "web:person_merge",
        "person",
        _query(_web("web:person_merge", person_id=_person_id), other=_person_id),
        ok=frozenset({400}),  # "a person cannot be merged into themselves"
        power=_RESOLVES,
    ),
    Route(
        "web:person_split",
        "person",
        _web("web:person_split", person_id=_person_id),
        method="POST",
        data=lambda p: {"reason": "核对"},  # no record ticked: back to the page with a message
        ok=frozenset({302}),
        power=_RESOLVES,
    ),
    Route("web:conflicts_list", "list", _static("/conflicts/"), power=_SETTLES),
    Route(
        "web:conflicts_list",
        "list",
        _query(_static("/conflicts/"), status=lambda p: "all"),
        power=_SETTLES,
    ),
    Route(
        "web:conflicts_list",
        "area",
        _query(_static("/conflicts/"), committee=_committee),
        power=_SETTLES,
    ),
    Route("web:conflicts_export", "list", _static("/conflicts/conflicts.xlsx"), power=_SETTLES),
    Route(
        "web:conflict_settle",
        "person",
        _web("web:conflict_settle", conflict_id=conflict_id),
        method="POST",
        data=lambda p: {"status": "visit", "note": "上门核实"},
        ok=frozenset({302}),
        power=_SETTLES,
    ),
    Route("api:person_provenance_get", "person", lambda p: f"/api/people/{p.person.pk}/provenance"),
    Route(
        "api:person_merge",
        "person",
        lambda p: f"/api/people/{p.person.pk}/merge",
        method="POST",
        data=lambda p: {"other": p.person.pk, "reason": "核对身份"},
        ok=frozenset({422}),  # into themselves
        power=_RESOLVES,
        no_power=403,
    ),
    Route(
        "api:person_split",
        "person",
        lambda p: f"/api/people/{p.person.pk}/split",
        method="POST",
        data=lambda p: {"records": [987654321], "reason": "核对身份"},
        ok=frozenset({422}),  # not this person's record
        power=_RESOLVES,
        no_power=403,
    ),
    Route("api:sources_list", "list", _static("/api/sources"), power=_SOURCES, no_power=403),
    Route(
        "api:source_get",
        "list",
        _static("/api/sources/civil_affairs"),
        power=_SOURCES,
        no_power=403,
    ),
    Route(
        "api:source_unmapped_codes_list",
        "list",
        _static("/api/sources/civil_affairs/unmapped-codes"),
        power=_SOURCES,
        no_power=403,
    ),
    Route(
        "api:unmapped_codes_list",
        "list",
        _static("/api/unmapped-codes"),
        power=_SOURCES,
        no_power=403,
    ),
    # Publishing a record: only the source's publishers (none in this world), whatever the role.
    Route(
        "api:source_record_publish",
        "list",
        _static("/api/sources/civil_affairs/records"),
        method="POST",
        data=lambda p: {"身份证号": p.person.id_number, "姓名": "冒名"},
        ok=frozenset({403}),
    ),
    # Held records (issue 11, ADR 0022): only those of persons the reviewer reads.
    Route(
        "api:source_held_records_list",
        "list",
        _static("/api/sources/civil_affairs/held-records"),
        power=_SOURCES,
        no_power=403,
    ),
    Route(
        "api:source_held_record_decide",
        "list",
        _static("/api/sources/civil_affairs/held-records/987654/decision"),
        method="POST",
        data=lambda p: {"apply": False},  # a missing one: 404
        power=_SOURCES,
        no_power=403,
    ),
    Route(
        "api:review_pairs_list", "list", _static("/api/review-pairs"), power=_RESOLVES, no_power=403
    ),
    Route(
        "api:review_pair_get",
        "person",
        lambda p: f"/api/review-pairs/{pair_id(p)}",
        power=_RESOLVES,
        no_power=403,
    ),
    Route(
        "api:review_pair_decide",
        "person",
        lambda p: f"/api/review-pairs/{pair_id(p)}/decision",
        method="POST",
        # Two records of one person kept apart: the second goes to a person of its own.
        data=lambda p: {"same": False, "note": "核对"},
        power=_RESOLVES,
        no_power=403,
    ),
    Route("api:conflicts_list", "list", _static("/api/conflicts"), power=_SETTLES, no_power=403),
    Route(
        "api:conflicts_list",
        "area",
        _query(_static("/api/conflicts"), area=_committee),
        power=_SETTLES,
        no_power=403,
    ),
    Route(
        "api:conflict_settle",
        "person",
        lambda p: f"/api/conflicts/{conflict_id(p)}/settle",
        method="POST",
        data=lambda p: {"status": "visit", "note": "上门核实"},
        power=_SETTLES,
        no_power=403,
    ),
]

# The exchange (issue 5): the feed and its "as of" reads carry people, only ever those of the
# caller's grant and subscription (only the department reader has one: everyone else is told
# so, 404). The as-of reads are "list" routes: a person in the reader's area may still be
# outside its subscription on the day (hukou only, moved away), and a role without a
# subscription is refused before any person is looked at. Subscriptions and webhooks are the
# district administrator's (administers_users).
_ADMINISTERS = "administers_users"
_SUB = "/api/subscriptions"
ROUTES += [
    Route("api:feed_get", "list", _static("/api/feed")),
    Route(
        "api:feed_get", "list", _query(_static("/api/feed"), after=lambda p: 1, limit=lambda p: 2)
    ),
    Route("api:feed_person_get", "list", lambda p: f"/api/feed/people/{p.person.pk}"),
    Route(
        "api:feed_person_get",
        "list",
        _query(lambda p: f"/api/feed/people/{p.person.pk}", as_of=lambda p: "2017-06-01"),
    ),
    Route("api:feed_area_people_list", "list", lambda p: f"/api/feed/areas/{p.area_code}/people"),
    Route("api:feed_area_people_list", "list", _static("/api/feed/areas/310104/people")),
    Route("api:subscriptions_list", "list", _static(_SUB), power=_ADMINISTERS, no_power=403),
    Route(
        "api:subscription_create",  # a second one of the name is refused, 422
        "list",
        _static(_SUB),
        method="POST",
        data=lambda p: {"subscriber": "m_reader", "name": "矩阵", "fields": ["name"]},
        power=_ADMINISTERS,
        no_power=403,
    ),
    Route(
        "api:subscription_get",
        "list",
        lambda p: f"{_SUB}/{subscription_id()}",
        power=_ADMINISTERS,
        no_power=403,
    ),
    Route(
        "api:subscription_update",
        "list",
        lambda p: f"{_SUB}/{subscription_id()}",
        method="PATCH",
        data=lambda p: {"fields": ["name", "sex"]},
        power=_ADMINISTERS,
        no_power=403,
    ),
    Route(
        "api:subscription_delete",
        "list",
        _static(f"{_SUB}/987654"),  # a missing one: the planted one stays
        method="DELETE",
        power=_ADMINISTERS,
        no_power=403,
    ),
    Route(
        "api:subscription_webhook_create",
        "list",
        lambda p: f"{_SUB}/{subscription_id()}/webhook",
        method="POST",
        data=lambda p: {"url": "http://10.0.0.1/hook"},  # a private address: refused
        power=_ADMINISTERS,
        no_power=403,
    ),
    Route(
        "api:subscription_webhook_enable",
        "list",
        lambda p: f"{_SUB}/{subscription_id()}/webhook/enable",
        method="POST",
        power=_ADMINISTERS,
        no_power=403,
    ),
    Route(
        "api:subscription_webhook_disable",
        "list",
        lambda p: f"{_SUB}/{subscription_id()}/webhook/disable",
        method="POST",
        power=_ADMINISTERS,
        no_power=403,
    ),
    Route(
        "api:subscription_dead_letters_list",
        "list",
        lambda p: f"{_SUB}/{subscription_id()}/dead-letters",
        power=_ADMINISTERS,
        no_power=403,
    ),
    Route(
        "api:subscription_dead_letter_resend",
        "list",
        lambda p: f"{_SUB}/{subscription_id()}/dead-letters/987654/resend",
        method="POST",
        power=_ADMINISTERS,
        no_power=403,
    ),
    Route("web:my_feeds", "list", _static("/feeds/")),
    Route("web:subscriptions_list", "list", _static("/subscriptions/"), power=_ADMINISTERS),
    Route(
        "web:subscriptions_export",
        "list",
        _static("/subscriptions/subscriptions.xlsx"),
        power=_ADMINISTERS,
    ),
    Route("web:subscription_create", "list", _static("/subscriptions/new/"), power=_ADMINISTERS),
    Route(
        "web:subscription_detail",
        "list",
        lambda p: f"/subscriptions/{subscription_id()}/",
        power=_ADMINISTERS,
    ),
    Route(
        "web:subscription_edit",
        "list",
        lambda p: f"/subscriptions/{subscription_id()}/edit/",
        power=_ADMINISTERS,
    ),
    Route(
        "web:subscription_delete",
        "list",
        _static("/subscriptions/987654/delete/"),  # a missing one: the planted one stays
        method="POST",
        power=_ADMINISTERS,
    ),
    Route(
        "web:subscription_webhook",
        "list",
        lambda p: f"/subscriptions/{subscription_id()}/webhook/",
        method="POST",
        data=lambda p: {"action": "enable"},  # no endpoint yet: a message, nothing changes
        ok=frozenset({302}),
        power=_ADMINISTERS,
    ),
    Route(
        "web:dead_letter_resend",
        "list",
        _static("/subscriptions/1/dead-letters/987654/resend/"),
        method="POST",
        power=_ADMINISTERS,
    ),
]

# Routes that show no person or house; each with the reason.
EXEMPT: dict[str, str] = {
    "login": "the login form",
    "logout": "logging out",
    "set_language": "the language switch",
    "accounts:second_factor": "the TOTP code form after the password",
    "accounts:second_factor_setup": "setting up one's own TOTP device",
    "accounts:password_change": "changing one's own password",
    "accounts:password_change_done": "changing one's own password",
    "api:openapi-json": "the OpenAPI document",
    "api:openapi-view": "the API docs page",
    "api:api-root": "the API's index of links",
    "api:api-not-found": "the error body for unknown API paths",
}
# Django admin: areas, code sets, users and tokens; its house list is scoped (tested below).
EXEMPT_NAMESPACES = {"admin": "the admin site (areas, code sets, users), tested separately"}


def _named_routes(resolver: URLResolver | None = None, namespace: str = "") -> Iterator[str]:
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _named_routes(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}"


def test_every_route_is_in_the_matrix() -> None:
    listed = {route.name for route in ROUTES}
    missing = []
    for name in _named_routes():
        if name in listed or name in EXEMPT or name.split(":")[0] in EXEMPT_NAMESPACES:
            continue
        missing.append(name)
    assert not missing, f"add these routes to the access matrix (ROUTES or EXEMPT): {missing}"


def _text(response: object) -> str:
    """Everything a user could read in a response: HTML, JSON (unescaped) or an Excel file."""
    content: bytes = getattr(response, "content", b"")
    kind = response.get("Content-Type", "")  # type: ignore[attr-defined]
    if "spreadsheetml" in kind:
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            return "\n".join(
                book.read(n).decode("utf-8") for n in book.namelist() if n.endswith(".xml")
            )
    text = content.decode("utf-8", errors="replace")
    if "json" in kind:
        return json.dumps(json.loads(text), ensure_ascii=False)
    return text


def _markers(planted: Planted) -> list[str]:
    """Strings that only this record's data would put into a response."""
    markers = [planted.person.name, planted.id_number, planted.id_number[-4:] + "<", planted.phone]
    if planted.house is not None:
        markers += [planted.house.house_code, planted.house.address]
    return markers


def _leaks(text: str, planted: Planted, asked: str = "") -> list[str]:
    """The record's markers found in a response; the text the user typed in (echoed back in
    the search box) does not count."""
    found = [m for m in _markers(planted) if m in text and m not in asked]
    # The last four digits of an ID number next to the mask.
    if re.search(r"\*{4,}" + re.escape(planted.id_number[-4:]), text):
        found.append("masked ID " + planted.id_number[-4:])
    return found


@pytest.fixture
def world(db: None, settings: object) -> World:
    built = build_world()
    add_moved_person(built)
    plant_sources(built)
    plant_feed(built)
    return built


def _holds(world: World, role: str, power: str) -> bool:
    return not power or bool(getattr(access_for(world.users[role]), power))


@pytest.fixture
def clients(world: World) -> dict[str, Client]:
    return {role: client_for(user) for role, user in world.users.items()}


def _request(client: Client, route: Route, planted: Planted) -> object:
    url = route.url(planted)
    data = route.data(planted) if route.data else {}
    if route.method == "POST" and route.name.startswith("api:"):
        return client.post(url, json.dumps(data), content_type="application/json")
    if route.method in {"PATCH", "DELETE"}:
        send = getattr(client, route.method.lower())
        return send(url, json.dumps(data), content_type="application/json")
    if route.method == "POST":
        return client.post(url, data)
    return client.get(url)


def _status_problem(world: World, role: str, route: Route, planted: Planted, status: int) -> str:
    """What is wrong with a route's status for a role and a record ("" when nothing is)."""
    if not _holds(world, role, route.power):
        return "" if status == route.no_power else f"{status}, expected {route.no_power}"
    area = route.area or {a.code: k for k, a in world.areas.items()}[planted.area_code]
    visible = area in AREA_SEES[role] if route.kind == "area" else planted.key in world.sees[role]
    if route.kind in {"person", "house", "area"}:
        if visible and status not in route.ok:
            return f"{status}, expected {sorted(route.ok)}"
        if not visible and status != 404:
            return f"{status}, expected 404"
    elif status >= 500:
        return f"server error {status}"
    return ""


@pytest.mark.parametrize("role", ROLES)
def test_no_route_returns_a_record_outside_the_area(
    role: str, world: World, clients: dict[str, Client]
) -> None:
    client = clients[role]
    sees = world.sees[role]
    problems: list[str] = []
    for route in ROUTES:
        for key in KEYS:
            planted = world.planted[key]
            if route.kind == "house" and planted.house is None:
                continue
            response = _request(client, route, planted)
            status = getattr(response, "status_code", 0)
            text = _text(response)
            if route.kind == "audit":
                expected = 200 if role == "auditor" else 404
                if status != expected:
                    problems.append(f"{route.name}: {status}, expected {expected}")
                continue
            for other_key in KEYS:
                if other_key in sees:
                    continue
                leaks = _leaks(text, world.planted[other_key], unquote(route.url(planted)))
                if leaks:
                    problems.append(f"{route.name} for {key}: shows {other_key}'s {leaks}")
            problem = _status_problem(world, role, route, planted, status)
            if problem:
                problems.append(f"{route.name} for {key}: {problem}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ["committee_clerk", "street_officer", "police", "collector"])
def test_denied_reads_are_audited_and_look_like_missing_records(
    role: str, world: World, clients: dict[str, Client]
) -> None:
    client = clients[role]
    user = world.users[role]
    outsider = world.planted["B1"]  # another street: no role bound in street A sees it
    missing = Planted(
        key="missing",
        person=outsider.person.__class__(pk=987654321, id_number="0", name="x"),
        house=None,
        phone="",
        area_code="310104009001",
    )
    for route in ROUTES:
        if route.kind not in {"person", "house", "area"} or route.area:
            continue
        if route.no_power != 404 and not _holds(world, role, route.power):
            continue  # refused for the role (403), before any record is looked at
        before = AuditEvent.objects.filter(user_id=user.pk, action=Action.DENIED).count()
        denied = _request(client, route, outsider)
        assert getattr(denied, "status_code", 0) == 404, route.name
        after = AuditEvent.objects.filter(user_id=user.pk, action=Action.DENIED).count()
        assert after >= before + 1, f"{route.name}: the denied read was not audited"
        if route.kind == "house":
            continue  # a missing house has no code to ask for here
        nothing = _request(client, route, missing)
        assert getattr(nothing, "status_code", 0) == 404, route.name
        if route.name.startswith("api:"):
            # The same body for a missing record as for a forbidden one.
            assert _text(nothing) == _text(denied), route.name


MASKED_ROLES = ("district_admin", "street_officer", "committee_clerk", "collector")
UNMASK_ROUTES = {"web:person_reveal", "api:person_identifier_unmask"}


@pytest.mark.parametrize("role", [*MASKED_ROLES, "department_reader"])
def test_no_route_shows_an_id_or_phone_number_in_full_to_a_masked_role(
    role: str, world: World, clients: dict[str, Client]
) -> None:
    client = clients[role]
    shown: list[str] = []
    for route in ROUTES:
        if route.name in UNMASK_ROUTES and role in MASKED_ROLES:
            continue  # the explicit, audited unmask: these roles may use it
        for key in KEYS:
            planted = world.planted[key]
            if route.kind == "house" and planted.house is None:
                continue
            asked = unquote(route.url(planted))
            text = _text(_request(client, route, planted))
            for other in world.planted.values():
                for number in (other.id_number, other.phone):
                    if number in text and number not in asked:
                        shown.append(f"{route.name} for {key}: {number}")
    assert not shown, "\n".join(shown)


def test_the_police_see_numbers_in_full_and_a_masked_role_sees_them_masked(
    world: World, clients: dict[str, Client]
) -> None:
    planted = world.planted["A1"]
    url = reverse("web:person_detail", kwargs={"person_id": planted.person.pk})
    police_page = _text(clients["police"].get(url))
    clerk_page = _text(clients["committee_clerk"].get(url))
    assert planted.id_number in police_page
    assert planted.phone in police_page
    from renfang.accounts.access import mask_id_number, mask_phone  # noqa: PLC0415

    masked_id = mask_id_number(planted.id_number)
    masked_phone = mask_phone(planted.phone)
    assert planted.id_number not in clerk_page
    assert masked_id in clerk_page
    assert masked_phone in clerk_page


@pytest.mark.parametrize(
    ("role", "drug_user", "subsistence"),
    [
        ("police", True, False),
        ("committee_clerk", False, True),
        ("street_officer", False, True),
        ("collector", False, False),
        ("district_admin", False, False),
        ("department_reader", False, False),  # granted name, sex and residences only
    ],
)
def test_sensitive_tags_only_for_the_roles_entitled_to_them(
    role: str, drug_user: bool, subsistence: bool, world: World, clients: dict[str, Client]
) -> None:
    planted = world.planted["A1"]
    url = reverse("web:person_detail", kwargs={"person_id": planted.person.pk})
    page = _text(clients[role].get(url))
    assert ("吸毒人员" in page) is drug_user
    assert ("低保对象" in page) is subsistence


def test_the_admin_site_holds_no_people_or_houses() -> None:
    """The admin site is not scoped by area: people and houses are read only through the
    scoped, audited pages and API."""
    from django.contrib import admin  # noqa: PLC0415

    labels = {model._meta.app_label for model in admin.site._registry}
    assert not labels & {"people", "houses", "stats", "register"}


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        # Resident ID numbers: province and city only, never the sequence or check digits.
        ("310104197101010031", "3101**************"),
        ("310104710101003", "3101***********"),  # an old 15-digit number
        ("E12345678", "E1*****78"),  # a passport
        ("H1234567801", "H1*******01"),  # a Hong Kong/Macau permit
        ("1234567", "12****7"),  # four hidden digits: 10,000 candidates
    ],
)
def test_masked_numbers_keep_little_of_the_number(number: str, masked: str) -> None:
    from renfang.accounts.access import mask_id_number  # noqa: PLC0415

    assert mask_id_number(number) == masked


def test_roles_combine_to_the_least_of_their_powers(world: World) -> None:
    """A police officer of A1 who is also a clerk of B1 does not see B1's people unmasked or
    their police tags: a power stays with its role's area."""
    from renfang.accounts.models import Role, RoleGrant  # noqa: PLC0415

    police = world.users["police"]
    RoleGrant.objects.create(user=police, role=Role.COMMITTEE_CLERK, area=world.areas["B1"])
    planted = world.planted["B1"]
    page = _text(
        client_for(police).get(
            reverse("web:person_detail", kwargs={"person_id": planted.person.pk})
        )
    )
    assert planted.person.name in page  # B1 is now in the user's area
    assert planted.id_number not in page and planted.phone not in page
    assert "吸毒人员" not in page
