"""Loading area files: the built-in Shanghai data, a district's own file, and bad files."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from renfang.areas.models import Area
from renfang.areas.services import areas_load, areas_load_builtin
from renfang.codes.selectors import division_name
from renfang.core.csvimport import ImportRejected

pytestmark = pytest.mark.django_db

HEADER = "code,name,parent_code,level\n"
XUHUI = (
    HEADER + "31,上海市,,city\n"
    "310104,徐汇区,31,district\n"
    "310104003,天平路街道,310104,street\n"
    "310104003001,上海新村居委会,310104003,committee\n"
)


def write(directory: Path, text: str, name: str = "areas.csv") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_builtin_data_is_shanghai_its_districts_streets_and_xuhuis_committees():
    result = areas_load_builtin()

    assert result.created == Area.objects.count()
    assert Area.objects.get(code="31").name == "上海市"
    assert Area.objects.filter(level="district").count() == 16
    assert Area.objects.filter(level="district", parent_id="31").count() == 16
    assert Area.objects.get(code="310104").name == "徐汇区"
    assert Area.objects.filter(level="street", code__startswith="310104").count() == 14
    assert Area.objects.filter(level="street").count() > 200
    committees = Area.objects.filter(level="committee")
    assert committees.count() > 300
    assert all(code.startswith("310104") for code in committees.values_list("code", flat=True))


def test_loading_the_builtin_data_twice_changes_nothing():
    areas_load_builtin()
    before = list(Area.objects.values())

    result = areas_load_builtin()

    assert (result.created, result.updated) == (0, 0)
    assert list(Area.objects.values()) == before


def test_a_file_loads_and_a_changed_name_is_updated(tmp_path):
    areas_load(path=write(tmp_path, XUHUI))

    result = areas_load(path=write(tmp_path, XUHUI.replace("上海新村居委会", "上海新村社区居委会")))

    assert (result.created, result.updated, result.unchanged) == (0, 1, 3)
    assert Area.objects.get(code="310104003001").name == "上海新村社区居委会"
    assert division_name("310104003001") == "上海市徐汇区天平路街道上海新村社区居委会"


def test_a_parent_may_come_later_in_the_file_or_be_loaded_already(tmp_path):
    reversed_rows = HEADER + "".join(reversed(XUHUI.splitlines(keepends=True)[1:]))
    areas_load(path=write(tmp_path, reversed_rows))

    areas_load(path=write(tmp_path, HEADER + "310104003002,庆余居委会,310104003,committee\n"))

    assert Area.objects.get(code="310104003002").parent_id == "310104003"


def test_grids_extend_their_committee(tmp_path):
    areas_load(path=write(tmp_path, XUHUI + "31010400300101,第一网格,310104003001,grid\n"))

    assert Area.objects.get(code="31010400300101").parent_id == "310104003001"


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("31010A,徐汇区,31,district", "column code: '31010A' is not a code of digits"),
        ("3101041,徐汇区,31,district", "column code: a district code has 6 digits, not 7"),
        ("310104,徐汇区,31,county", "column level: 'county' is not one of"),
        ("310104,,31,district", "column name: must not be empty"),
        ("310104003,天平路街道,310105,street", "column parent_code: 310105 is neither loaded"),
        ("310105003,天平路街道,310104,street", "column code: 310105003 does not extend"),
        ("310104,徐汇区,,district", "column parent_code: a district needs a parent"),
        ("32,江苏省,,city", "column code: this deployment serves city 31, not 32"),
        ("320102,玄武区,31,district", "column code: 320102 is not in city 31"),
        ("31,上海市,31,city", "column parent_code: a city has no parent"),
        ("310105003009,某居委,310104003,committee", "column code: 310105003009 does not extend"),
        ("3101040030010101,网格,310104003,grid", "column parent_code: a grid lies in a committee"),
        (
            "310104001,某街道,310104003001,street",
            "column level: a street cannot lie in a committee",
        ),
        ("31010400300,某网格,310104003,grid", "column parent_code: a grid lies in a committee"),
    ],
)
def test_a_bad_row_is_refused_naming_line_column_and_reason(tmp_path, row, expected):
    areas_load(path=write(tmp_path, XUHUI))
    before = list(Area.objects.values())

    with pytest.raises(ImportRejected) as rejected:
        areas_load(
            path=write(tmp_path, HEADER + "310104004,湖南路街道,310104,street\n" + row + "\n")
        )

    assert f"line 3, {expected}" in str(rejected.value)
    assert "nothing was saved" in str(rejected.value)
    assert list(Area.objects.values()) == before


def test_a_code_given_twice_is_refused(tmp_path):
    with pytest.raises(ImportRejected, match="line 6, column code: 310104003001 appears twice"):
        areas_load(path=write(tmp_path, XUHUI + "310104003001,又一个,310104003,committee\n"))

    assert not Area.objects.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "code,name,level\n31,上海市,city\n",
            "line 1, column parent_code: required column is missing",
        ),
        ("", "line 1, column -: the file is empty"),
        (HEADER + "31,上海市,city\n", "line 2, column -: expected 4 fields, found 3"),
    ],
)
def test_a_bad_file_is_refused(tmp_path, text, expected):
    with pytest.raises(ImportRejected) as rejected:
        areas_load(path=write(tmp_path, text))

    assert expected in str(rejected.value)
    assert "areas.csv" in str(rejected.value)


def test_another_city_loads_its_own_areas(tmp_path, settings):
    settings.RENFANG_CITY_CODE = "4403"
    text = (
        HEADER
        + "4403,深圳市,,city\n440303,罗湖区,4403,district\n440303001,桂园街道,440303,street\n"
    )

    areas_load(path=write(tmp_path, text))

    assert Area.objects.get(code="440303001").parent_id == "440303"
    with pytest.raises(ImportRejected, match="built-in areas are Shanghai's"):
        areas_load_builtin()
    with pytest.raises(ImportRejected, match="31 is not in city 4403|serves city 4403"):
        areas_load(path=write(tmp_path, XUHUI))


def test_the_command_loads_a_file_and_the_builtin_data(tmp_path):
    out = StringIO()

    call_command("areas", "load-builtin", stdout=out)
    call_command("areas", "load", str(write(tmp_path, XUHUI)), stdout=out)

    assert "areas: 564 created, 0 updated, 0 unchanged" in out.getvalue()
    assert "areas: 0 created, 0 updated, 4 unchanged" in out.getvalue()


def test_the_command_reports_errors(tmp_path):
    with pytest.raises(CommandError, match="line 2, column code"):
        call_command("areas", "load", str(write(tmp_path, HEADER + "3x,上海市,,city\n")))
    with pytest.raises(CommandError, match="no such file"):
        call_command("areas", "load", str(tmp_path / "missing.csv"))


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "areas.csv"
    path.write_bytes(XUHUI.encode("gb18030"))

    with pytest.raises(ImportRejected, match="not UTF-8"):
        areas_load(path=path)
    assert not Area.objects.exists()
