"""Whereabouts unknown since a day nobody knows (issue 12, ADR 0028): a register row with no
residence division may leave its dates empty; the person counts as 空挂户 (registered here,
whereabouts unknown) on every day until a row says where they live."""

from __future__ import annotations

import csv
import datetime
from pathlib import Path

import pytest

from renfang.exchange.models import Event
from renfang.people.idnumbers import with_check_digit
from renfang.people.models import Hukou, Person, Residence
from renfang.register.exporter import register_export
from renfang.register.importer import register_import
from renfang.register.tests.test_import import (
    TODAY,
    counts,
    reference,
    rejected,
    row,
    write,
)
from renfang.stats.selectors import area_figures

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference")]
__all__ = ["reference"]  # a fixture

WANG = with_check_digit("31010419600101201")  # born 1960, hukou in street 003, never found
ZHOU = with_check_digit("31010419700101301")  # born 1970, hukou in street 003, found in 2020
HU = with_check_digit("34012219750101401")  # born 1975, hukou in Anhui, never found

UNKNOWN = {"residence_division": "", "residence_house_code": "", "phone": ""}


def dateless_rows() -> list[dict[str, str]]:
    return [
        row(
            id_number=WANG,
            name="王强",
            birth_date="1960-01-01",
            residence_from="",
            residence_to="",
            **UNKNOWN,
        ),
        row(
            id_number=ZHOU,
            name="周杰",
            birth_date="1970-01-01",
            residence_from="",
            residence_to="2019-12-31",
            **UNKNOWN,
        ),
        row(
            id_number=ZHOU,
            name="周杰",
            birth_date="1970-01-01",
            residence_division="310104004001",
            residence_house_code="310104004001000001",
            residence_from="2020-01-01",
            phone="",
        ),
        row(
            id_number=HU,
            name="胡兵",
            birth_date="1975-01-01",
            hukou_division="340122",
            residence_from="",
            residence_to="",
            **UNKNOWN,
        ),
    ]


def statuses(code: str, day: str) -> dict[str, int]:
    figures = area_figures(area_code=code, as_of=datetime.date.fromisoformat(day))
    status = figures["hukou_status"]
    return {key: value for key, value in status.items() if value}


def test_dateless_rows_are_facts_since_an_unknown_day(tmp_path: Path) -> None:
    summary = register_import(path=write(tmp_path / "r.csv", dateless_rows()), today=TODAY)

    assert (summary.rows, summary.people_created) == (4, 3)
    wang = Person.objects.get(id_number=WANG)
    assert list(wang.residences.values_list("valid_from", "valid_to", "division")) == [
        (None, None, None)
    ]
    # The hukou holds since the same unknown day: registered here, whereabouts unknown.
    assert list(wang.hukous.values_list("valid_from", "valid_to", "division")) == [
        (None, None, "310104003")
    ]
    zhou = Person.objects.get(id_number=ZHOU)
    assert sorted(
        zhou.residences.values_list("valid_from", "valid_to", "division"),
        key=lambda fact: fact[0] or datetime.date.min,
    ) == [
        (None, datetime.date(2019, 12, 31), None),
        (datetime.date(2020, 1, 1), None, "310104004001"),
    ]
    # The feed tells subscribers the residence began on a day nobody knows.
    event = Event.objects.get(person_id=wang.pk)
    (residence,) = [line for line in event.changes if line["field"] == "residence"]
    assert residence["new"] == {"from": None, "to": None, "division": None, "house": None}


@pytest.mark.parametrize(
    ("code", "day", "expected"),
    [
        # Long ago (an unknown start counts as since always): both unknown in their street.
        ("310104003", "1990-06-01", {"registered_here_whereabouts_unknown": 2}),
        ("310104003", "2019-12-31", {"registered_here_whereabouts_unknown": 2}),
        # Zhou found living in street 004: registered here, living elsewhere for street 003 …
        (
            "310104003",
            "2020-01-01",
            {"registered_here_whereabouts_unknown": 1, "registered_here_living_elsewhere": 1},
        ),
        # … living here, registered elsewhere for street 004 …
        ("310104004", "2026-06-30", {"living_here_registered_elsewhere": 1}),
        # … and consistent for the district. Hu's hukou is outside the city: no status.
        (
            "310104",
            "2026-06-30",
            {"registered_here_whereabouts_unknown": 1, "consistent": 1},
        ),
    ],
)
def test_as_of_counts_of_dateless_rows(
    tmp_path: Path, code: str, day: str, expected: dict[str, int]
) -> None:
    register_import(path=write(tmp_path / "r.csv", dateless_rows()), today=TODAY)

    registered_total = sum(
        count for key, count in expected.items() if key != "living_here_registered_elsewhere"
    )
    assert statuses(code, day) == (
        expected | ({"registered_total": registered_total} if registered_total else {})
    )


def test_people_of_unknown_whereabouts_are_no_actual_population(tmp_path: Path) -> None:
    register_import(path=write(tmp_path / "r.csv", dateless_rows()), today=TODAY)

    before = area_figures(area_code="310104", as_of=datetime.date(2010, 1, 1))
    after = area_figures(area_code="310104", as_of=TODAY)

    assert before["actual_population"]["total"] == 0  # nobody lives anywhere known
    assert after["actual_population"]["total"] == 1  # Zhou, from 2020


def test_dateless_rows_imported_twice_change_nothing(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", dateless_rows())
    register_import(path=path, today=TODAY)
    before = counts()
    events = Event.objects.count()

    again = register_import(path=path, today=TODAY)

    assert (again.people_changed, again.people_unchanged) == (0, 3)
    assert counts() == before and Event.objects.count() == events


def test_export_then_import_keeps_the_dates_empty(tmp_path: Path) -> None:
    register_import(path=write(tmp_path / "r.csv", dateless_rows()), today=TODAY)
    before = counts()
    exported = tmp_path / "export.csv"

    assert register_export(path=exported) == 4
    again = register_import(path=exported, today=TODAY)

    assert again.people_unchanged == 3 and counts() == before
    with exported.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [
        (r["residence_division"], r["residence_from"], r["residence_to"])
        for r in rows
        if r["id_number"] == ZHOU
    ] == [("", "", "2019-12-31"), ("310104004001", "2020-01-01", "")]
    assert [(r["residence_from"], r["residence_to"]) for r in rows if r["id_number"] == WANG] == [
        ("", "")
    ]


def test_a_known_place_still_needs_its_first_day(tmp_path: Path) -> None:
    errors = rejected(tmp_path, [row(residence_from="", residence_to="2020-01-01")])

    assert errors == [
        "line 2, column residence_from: the first day is required with a residence_division"
    ]
    assert counts() == (0, 0, 0, 0, 0)


def test_a_house_without_a_division_is_refused_even_without_dates(tmp_path: Path) -> None:
    errors = rejected(tmp_path, [row(residence_division="", residence_from="", residence_to="")])

    assert errors == ["line 2, column residence_division: required when a house code is given"]


def test_only_one_row_of_a_person_may_begin_on_an_unknown_day(tmp_path: Path) -> None:
    errors = rejected(
        tmp_path,
        [
            row(residence_from="", residence_to="2010-12-31", **UNKNOWN),
            row(residence_from="", residence_to="", **UNKNOWN),
        ],
    )

    assert errors == [
        "line 3, column residence_from: an unknown day overlaps the spell on line 2 "
        "(an unknown day – 2010-12-31)"
    ]
    assert counts() == (0, 0, 0, 0, 0)


def test_an_unknown_start_cannot_follow_a_known_one(tmp_path: Path) -> None:
    errors = rejected(
        tmp_path,
        [row(residence_to="2019-12-31"), row(residence_from="", residence_to="", **UNKNOWN)],
    )

    assert errors == [
        "line 2, column residence_from: 2015-03-01 overlaps the spell on line 3 "
        "(an unknown day – now)"
    ]
    assert not Hukou.all_versions.exists() and not Residence.all_versions.exists()
