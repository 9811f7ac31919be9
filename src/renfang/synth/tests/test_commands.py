"""``renfang synth`` and ``renfang demo`` as a user runs them."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count

from renfang.people.facts import (
    person_placeholder,
)
from renfang.people.models import Person
from renfang.sources.models import Source, SourceRecord
from renfang.synth.tests.conftest import read

FILES = ("areas.csv", "houses.csv", "register.csv")


def synth(out: Path, *args: str) -> str:
    stdout = io.StringIO()
    call_command("synth", "--out", str(out), *args, verbosity=0, stdout=stdout)
    return stdout.getvalue()


def test_same_people_and_seed_give_the_same_bytes(tmp_path: Path) -> None:
    synth(tmp_path / "a", "--people", "800", "--seed", "3")
    synth(tmp_path / "b", "--people", "800", "--seed", "3")
    synth(tmp_path / "c", "--people", "800", "--seed", "4")
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    for name in ("houses.csv", "register.csv"):
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(FILES)


def test_it_says_what_it_wrote(tmp_path: Path) -> None:
    output = synth(tmp_path / "out", "--people", "300", "--seed", "1")
    assert "300" in output
    assert str(tmp_path / "out") in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--people", "0", "--seed", "1"], "--people"),
        (["--people", "-5", "--seed", "1"], "--people"),
        (["--people", "many", "--seed", "1"], "--people"),
        (["--people", "20000000", "--seed", "1"], "--people"),
        (["--people", "10", "--seed", "-1"], "--seed"),
        (["--people", "10", "--seed", "x"], "--seed"),
        (["--people", "10"], "--seed"),
        (["--seed", "1"], "--people"),
        (["--people", "10", "--seed", "1", "--as-of", "2025-13-01"], "--as-of"),
        (["--people", "10", "--seed", "1", "--as-of", "1999-12-31"], "--as-of"),
        (["--people", "10", "--seed", "1", "--grids", "99"], "--grids"),
        (["--people", "10", "--seed", "1", "--district", "310199"], "310199"),
        (["--people", "10", "--seed", "1", "--district", "310104003"], "310104003"),
    ],
)
def test_bad_arguments_are_refused_and_nothing_is_written(
    tmp_path: Path, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        synth(tmp_path / "out", *args)
    assert not (tmp_path / "out").exists()


def test_out_needs_force_when_it_holds_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(CommandError, match="--force"):
        synth(out, "--people", "50", "--seed", "1")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    synth(out, "--people", "50", "--seed", "1", "--force")
    assert (out / "notes.txt").read_text() == "mine"
    assert all((out / name).stat().st_size > 0 for name in FILES)


def test_out_must_not_be_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(CommandError, match="not a directory"):
        synth(tmp_path / "file", "--people", "50", "--seed", "1")


def test_an_empty_out_directory_is_fine(tmp_path: Path) -> None:
    synth(tmp_path, "--people", "50", "--seed", "1")
    assert all((tmp_path / name).is_file() for name in FILES)


def test_a_district_without_committees_gets_numbered_ones(tmp_path: Path) -> None:
    synth(tmp_path, "--people", "1500", "--seed", "2", "--district", "310105")
    district = read(tmp_path)
    streets = {a["code"] for a in district.areas if a["level"] == "street"}
    committees = [a for a in district.areas if a["level"] == "committee"]
    assert streets and all(code.startswith("310105") for code in streets)
    assert len(committees) > 5 * len(streets) // 2
    for committee in committees:
        assert committee["parent_code"] in streets
        assert committee["code"].startswith(committee["parent_code"])
        assert len(committee["code"]) == 12
        assert committee["name"].endswith("委会")
    for row in district.register:
        if row["residence_house_code"]:
            assert row["residence_division"].startswith("310105")
        if row["hukou_division"].startswith("31") and row["residence_division"].startswith("31"):
            assert row["residence_division"][:6] != "310104" or row["hukou_division"].startswith(
                "310105"
            )


def test_grids_split_committees_and_hold_houses(tmp_path: Path) -> None:
    synth(tmp_path, "--people", "600", "--seed", "2", "--grids", "3")
    district = read(tmp_path)
    grids = {a["code"]: a for a in district.areas if a["level"] == "grid"}
    committees = [a for a in district.areas if a["level"] == "committee"]
    assert len(grids) == 3 * len(committees)
    for code, grid in grids.items():
        assert code.startswith(grid["parent_code"]) and len(code) == 15
    for house in district.houses.values():
        assert house["area_code"] in grids
    for row in district.register:
        if row["residence_house_code"]:
            house = district.houses[row["residence_house_code"]]
            assert grids[house["area_code"]]["parent_code"] == row["residence_division"]


def test_an_earlier_as_of_date_ends_the_register_then(tmp_path: Path) -> None:
    synth(tmp_path, "--people", "600", "--seed", "2", "--as-of", "2020-06-30")
    district = read(tmp_path)
    for row in district.register:
        assert row["residence_from"] <= "2020-06-30"
        assert row["residence_to"] <= "2020-06-30"
        assert row["birth_date"] <= "2020-06-30"
    assert any(not rows[-1]["residence_to"] for rows in district.people.values())


@pytest.mark.django_db
def test_demo_if_empty_leaves_a_register_with_people_alone() -> None:
    person_placeholder(id_type="passport", id_number="E1", name="Ann Lee", sex="2")
    stdout = io.StringIO()
    call_command("demo", "--if-empty", verbosity=0, stdout=stdout)
    assert "already has 1 people" in stdout.getvalue()
    assert Person.objects.count() == 1


@pytest.mark.django_db
def test_demo_loads_a_small_district() -> None:
    stdout = io.StringIO()
    call_command("demo", "--people", "300", "--seed", "5", verbosity=0, stdout=stdout)
    # The register's 300 people, and the people only departments know (none, when every
    # department record is linked to someone of the register).
    people = Person.objects.count()
    assert people >= 300
    output = stdout.getvalue()
    assert "300" in output
    # The department sources, each with its extract imported.
    sources = dict(Source.objects.annotate(held=Count("records")).values_list("code", "held"))
    for code in ("police", "civil_affairs", "family_planning", "hrss", "health", "education",
                 "residence_permit"):  # fmt: skip
        assert sources.get(code, 0) > 0, code
    # Every department record belongs to a person.
    assert not SourceRecord.objects.filter(person=None).exists()
    # Run again with --if-empty: nothing more is loaded.
    call_command("demo", "--if-empty", verbosity=0, stdout=io.StringIO())
    assert Person.objects.count() == people
