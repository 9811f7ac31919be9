"""One small synthetic district, written once and read by many tests."""

from __future__ import annotations

import csv
import datetime
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.utils import translation

from renfang.synth.management.commands.synth import generate

AS_OF = datetime.date(2025, 12, 31)
PEOPLE = 4000


@dataclass
class District:
    out: Path
    areas: list[dict[str, str]]
    houses: dict[str, dict[str, str]]
    register: list[dict[str, str]]
    people: dict[tuple[str, str], list[dict[str, str]]]  # rows of each person, file order


def read(out: Path) -> District:
    def rows(name: str) -> list[dict[str, str]]:
        with (out / name).open(encoding="utf-8", newline="") as file:
            return list(csv.DictReader(file))

    register = rows("register.csv")
    people: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for row in register:
        people[(row["id_type"], row["id_number"])].append(row)
    return District(
        out=out,
        areas=rows("areas.csv"),
        houses={row["house_code"]: row for row in rows("houses.csv")},
        register=register,
        people=dict(people),
    )


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Messages are asserted in English, whatever the deployment's language."""
    with translation.override("en"):
        yield


@pytest.fixture(scope="session")
def district(tmp_path_factory: pytest.TempPathFactory) -> District:
    out = tmp_path_factory.mktemp("synth")
    generate(people=PEOPLE, seed=7, out=out, as_of=AS_OF)
    return read(out)


def on(rows: list[dict[str, str]], day: str) -> dict[str, str] | None:
    """The row of a person valid on ``day`` (ISO), if any."""
    for row in rows:
        if row["residence_from"] <= day and (not row["residence_to"] or day <= row["residence_to"]):
            return row
    return None
