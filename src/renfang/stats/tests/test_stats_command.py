"""``renfang stats``: its three formats and its errors."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation

from renfang.testing.areas import (
    CHANGNING,
    HUNAN_1,
    NANJING,
    TIANPING_1,
    TIANPING_2,
    XUHUI,
    make_areas,
)
from renfang.testing.people import D, foreigner, resident

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def register():
    make_areas()
    resident(hukou=TIANPING_1, lives=TIANPING_1, since=D(2010, 1, 1))
    resident(hukou=TIANPING_1, lives=HUNAN_1, since=D(2010, 1, 1))
    resident(hukou=f"{CHANGNING}001", lives=TIANPING_2, since=D(2010, 1, 1))
    resident(hukou=NANJING, lives=HUNAN_1, since=D(2024, 1, 1))
    resident(hukou=TIANPING_1, lives=None, since=D(2010, 1, 1))
    resident(hukou=None, lives=TIANPING_2, since=D(2010, 1, 1), person=foreigner(nationality="HKG"))


def stats(*args: str) -> str:
    out = io.StringIO()
    with translation.override("en"):
        call_command("stats", *args, stdout=out)
    return out.getvalue()


def test_json_is_the_area_figures_object():
    figures = json.loads(stats("--area", XUHUI, "--as-of", "2024-06-30"))

    assert figures["area"] == XUHUI
    assert figures["as_of"] == "2024-06-30"
    assert figures["actual_population"] == {
        "total": 5,
        "registered": 3,
        "domestic_migrant": 1,
        "overseas": 1,
    }
    assert figures["hukou_status"] == {
        "consistent": 2,
        "living_here_registered_elsewhere": 1,
        "registered_here_living_elsewhere": 0,
        "registered_here_whereabouts_unknown": 1,
        "registered_total": 3,
    }
    assert "previous" not in figures


def test_json_keeps_chinese_readable_and_is_indented():
    output = stats("--area", XUHUI, "--as-of", "2024-06-30")

    assert '"name": "徐汇区"' in output
    assert output.startswith("{\n  ")
    assert output.endswith("}\n")


def test_json_with_compare_to():
    figures = json.loads(
        stats("--area", XUHUI, "--as-of", "2024-06-30", "--compare-to", "2023-06-30")
    )

    assert figures["previous"] == {
        "total": 4,
        "registered": 3,
        "domestic_migrant": 0,
        "overseas": 1,
    }
    assert figures["growth_pct"] == {
        "total": 25.0,
        "registered": 0.0,
        "domestic_migrant": None,
        "overseas": 0.0,
    }


def test_as_of_defaults_to_today():
    figures = json.loads(stats("--area", XUHUI))

    assert figures["as_of"] == timezone.localdate().isoformat()
    assert figures["actual_population"]["total"] == 5


def test_csv_has_a_row_per_subarea_and_a_total_row():
    rows = list(
        csv.reader(io.StringIO(stats("--area", XUHUI, "--as-of", "2024-06-30", "--format", "csv")))
    )

    assert rows == [
        ["area", "name", "total", "registered", "domestic_migrant", "overseas"],
        ["310104003", "天平路街道", "3", "2", "0", "1"],
        ["310104004", "湖南路街道", "2", "1", "1", "0"],
        ["310104", "徐汇区", "5", "3", "1", "1"],
    ]


def test_table_is_aligned_and_has_every_section():
    output = stats(
        "--area", XUHUI, "--as-of", "2024-06-30", "--compare-to", "2023-06-30", "--format", "table"
    )

    lines = output.splitlines()
    assert lines[0] == "徐汇区 (310104), as of 2024-06-30, compared with 2023-06-30"
    assert lines[2].split() == [
        "Actual",
        "population",
        "by",
        "category",
        "2024-06-30",
        "2023-06-30",
        "growth",
        "%",
    ]
    assert lines[3].split() == ["total", "5", "4", "+25.00"]
    # Figures are right-aligned under their dates.
    assert len({len(line) for line in lines[2:7]}) == 1
    assert any(line.split() == ["domestic", "migrants", "1", "0", "—"] for line in lines)
    assert "  registered population                      3" in lines
    assert any(line.split() == ["310104003", "天平路街道", "3", "2", "0", "1"] for line in lines)
    # Chinese names take two columns each: the figures after them still line up.
    subareas = [line for line in lines if line.lstrip().startswith("31010400")]
    assert len({_display_width(line) for line in subareas}) == 1


def _display_width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def test_table_without_compare_to_has_one_column_of_figures():
    # The Jianguo committee (the Tianping one has a grid): the Changning hukou and the foreigner.
    output = stats("--area", TIANPING_2, "--as-of", "2024-06-30", "--format", "table")

    assert "growth" not in output
    assert "Subarea" not in output  # a committee without a grid has none
    assert any(line.split() == ["total", "2"] for line in output.splitlines())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--area", "310199"], "unknown area '310199'"),
        (["--area", "31x"], "unknown area '31x'"),
        (["--area", XUHUI, "--as-of", "2024-13-01"], "--as-of '2024-13-01' is not a date"),
        (["--area", XUHUI, "--as-of", "30/06/2024"], "--as-of '30/06/2024' is not a date"),
        (["--area", XUHUI, "--as-of", "20240630"], "--as-of '20240630' is not a date"),
        (
            ["--area", XUHUI, "--as-of", "2024-06-30", "--compare-to", "yesterday"],
            "--compare-to 'yesterday' is not a date",
        ),
        (
            ["--area", XUHUI, "--as-of", "2024-06-30", "--compare-to", "2024-06-30"],
            "--compare-to 2024-06-30 must be before --as-of 2024-06-30",
        ),
        (
            ["--area", XUHUI, "--as-of", "2024-06-30", "--compare-to", "2025-01-01"],
            "must be before --as-of",
        ),
        (["--area", XUHUI, "--format", "xml"], "invalid choice: 'xml'"),
        ([], "--area"),
    ],
)
def test_errors_are_clear(args, message):
    with pytest.raises(CommandError, match=None) as raised:
        stats(*args)

    assert message in str(raised.value)
