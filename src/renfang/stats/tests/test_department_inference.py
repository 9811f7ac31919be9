"""A department reader infers nothing it is not granted (issue 11, finding 5; ADR 0022).

The attacks: the provenance list names the sources holding a person (a police register record
means registered, a residence permit means migrant); the figures of a committee read a day
apart give one newcomer's category by differencing. Now a department reader without the
fields that decide the category (nationality and hukou) is told no source and no breakdown by
category or hukou status, and any reader's small counts (below RENFANG_STATS_MIN_CELL) and the
growth computed from them are hidden.
"""

from __future__ import annotations

import datetime
import io
import json
import zipfile
from collections.abc import Sequence

import pytest
from django.test import Client
from django.urls import reverse

from renfang.accounts.access import forget_access
from renfang.accounts.models import PersonField, RoleGrant
from renfang.people.facts import (
    person_placeholder,
)
from renfang.people.facts.planting import by_hand
from renfang.people.models import Person
from renfang.stats.models import PopulationSpell
from renfang.testing.matrix import World, build_world
from renfang.testing.sources import plant_sources
from renfang.testing.users import client_for

pytestmark = pytest.mark.django_db

A1 = "310104003001"
DAY = datetime.date(2026, 6, 1)
READER_FIELDS = [PersonField.NAME, PersonField.SEX, PersonField.RESIDENCES]


@pytest.fixture
def world() -> World:
    return build_world()


def _grant(world: World, fields: Sequence[str]) -> None:
    reader = world.users["department_reader"]
    RoleGrant.objects.filter(user=reader).update(fields=fields)
    forget_access(reader)


def test_the_provenance_names_no_source_to_a_reader_without_the_category_fields(
    world: World,
) -> None:
    plant_sources(world)
    person = world.planted["A1"].person
    reader = client_for(world.users["department_reader"])

    api = reader.get(f"/api/people/{person.pk}/provenance")
    page = reader.get(reverse("web:person_detail", kwargs={"person_id": person.pk}))

    assert api.status_code == 200
    rows = api.json()
    assert [r["field"] for r in rows] == ["name"]  # its grant: the name, not the source
    assert rows[0]["value"] == person.name
    body = json.dumps(rows, ensure_ascii=False)
    for told in ("police", "公安户籍", "civil_affairs", "民政"):
        assert told not in body
        assert told not in page.content.decode()


def test_a_reader_granted_nationality_and_hukou_sees_the_sources(world: World) -> None:
    plant_sources(world)
    _grant(world, [*READER_FIELDS, PersonField.NATIONALITY, PersonField.HUKOU])
    person = world.planted["A1"].person
    reader = client_for(world.users["department_reader"])

    rows = reader.get(f"/api/people/{person.pk}/provenance").json()

    assert {r["source"] for r in rows} & {"police", "civil_affairs"}


def _live(person: Person, division: str, *, since: datetime.date, overseas: bool) -> None:
    """A population spell planted straight into the figures (no facts behind it)."""
    with by_hand():
        _spell(person, division, since=since, overseas=overseas)


def _spell(person: Person, division: str, *, since: datetime.date, overseas: bool) -> None:
    PopulationSpell.objects.create(
        person=person,
        valid_from=since,
        valid_to=None,
        residence_division=division,
        hukou_division=None if overseas else division,
        overseas=overseas,
    )


def _residents(count: int) -> None:
    for number in range(count):
        person = person_placeholder(name=f"居民{number}", sex="1")
        _live(person, A1, since=datetime.date(2020, 1, 1), overseas=False)


def _newcomer() -> None:
    person = person_placeholder(name="新来的", sex="2")
    _live(person, A1, since=DAY + datetime.timedelta(days=1), overseas=True)


def _sheet_text(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        return "\n".join(
            book.read(name).decode("utf-8") for name in book.namelist() if name.endswith(".xml")
        )


def _stats(client: Client, **params: str) -> dict[str, object]:
    response = client.get("/api/stats", {"area": A1, **params})
    assert response.status_code == 200, response.content
    result: dict[str, object] = response.json()
    return result


def test_one_persons_category_cannot_be_had_by_differencing_a_day(world: World) -> None:
    """The issue's attack: a committee's figures on two days a day apart, differenced."""
    _residents(30)
    _newcomer()
    reader = client_for(world.users["department_reader"])
    next_day = (DAY + datetime.timedelta(days=1)).isoformat()

    before = _stats(reader, as_of=DAY.isoformat())
    after = _stats(reader, as_of=next_day, compare_to=DAY.isoformat())

    for figures in (before, after):
        population = figures["actual_population"]
        assert isinstance(population, dict)
        assert population["overseas"] is None
        assert population["registered"] is None
        hukou = figures["hukou_status"]
        assert isinstance(hukou, dict) and set(hukou.values()) == {None}
        assert figures["withheld"] == {"min_cell": 10, "categories": True}
    assert after["growth_pct"]["overseas"] is None  # type: ignore[index]
    page = reader.get(reverse("web:area_detail", kwargs={"code": A1}), {"as_of": next_day})
    assert page.status_code == 200
    assert 'id="hukou-status"' not in page.content.decode()
    street = reader.get(
        reverse("web:area_subareas_export", kwargs={"code": world.areas["A"].code}),
        {"as_of": next_day},
    )
    assert street.status_code == 404  # the reader's grant is A1: the street is not its area
    export = reader.get(
        reverse("web:area_subareas_export", kwargs={"code": A1}), {"as_of": next_day}
    )
    assert export.status_code == 200
    sheet = _sheet_text(export.content)
    assert "境外" not in sheet and "户籍人口" not in sheet  # no category columns


def test_with_the_category_fields_small_cells_are_still_hidden(world: World) -> None:
    _grant(world, [*READER_FIELDS, PersonField.NATIONALITY, PersonField.HUKOU])
    _residents(30)
    _newcomer()
    reader = client_for(world.users["department_reader"])
    next_day = (DAY + datetime.timedelta(days=1)).isoformat()

    after = _stats(reader, as_of=next_day, compare_to=DAY.isoformat())

    population = after["actual_population"]
    # The world's own A1 resident (a migrant) and the overseas newcomer: cells of 1, hidden.
    assert population == {
        "total": 32,
        "registered": 30,
        "domestic_migrant": None,
        "overseas": None,
    }
    assert after["growth_pct"]["overseas"] is None  # type: ignore[index]
    assert after["withheld"] == {"min_cell": 10, "categories": False}


def test_other_roles_see_the_figures_whole(world: World) -> None:
    _residents(30)
    _newcomer()
    clerk = client_for(world.users["committee_clerk"])

    figures = _stats(clerk, as_of=(DAY + datetime.timedelta(days=1)).isoformat())

    assert figures["actual_population"]["overseas"] == 1  # type: ignore[index]
    assert figures["withheld"] is None
