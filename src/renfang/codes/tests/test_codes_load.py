"""Loading code set files: versions, closed codes, a district's own options, bad files."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from renfang.codes.files import PACKAGE_DATA_DIR
from renfang.codes.models import Code, CodeSet
from renfang.codes.selectors import active_codes, code_choices, code_label
from renfang.codes.services import (
    code_sets_load_files,
    code_sets_load_missing,
    code_sets_load_package,
)
from renfang.core.csvimport import ImportRejected

pytestmark = pytest.mark.django_db

EMPLOYMENT = (PACKAGE_DATA_DIR / "employment.csv").read_text(encoding="utf-8")


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def codes_of(key: str) -> dict[str, Code]:
    return {code.code: code for code in Code.objects.filter(code_set_id=key)}


def snapshot() -> list[Any]:
    return [*Code.objects.order_by("id").values()] + list(
        CodeSet.objects.order_by("key").values("key", "name", "version", "loaded_at")
    )


def test_a_district_adds_an_option_without_a_code_change(tmp_path):
    path = write(
        tmp_path,
        "employment.csv",
        EMPLOYMENT + "rehired_retiree,退休后返聘,re-employed after retirement\n",
    )

    [result] = code_sets_load_files(paths=[path])

    assert (result.version, result.added, result.closed, result.changed) == (2, 1, 0, 0)
    assert CodeSet.objects.get(key="employment").version == 2
    rehired = codes_of("employment")["rehired_retiree"]
    assert (rehired.name, rehired.active, rehired.since_version) == ("退休后返聘", True, 2)
    assert codes_of("employment")["employed"].since_version == 1
    assert "rehired_retiree" in active_codes("employment")
    assert ("rehired_retiree", "退休后返聘") in code_choices("employment")


def test_loading_the_same_file_twice_changes_nothing(tmp_path):
    path = write(tmp_path, "employment.csv", EMPLOYMENT + "rehired_retiree,退休后返聘,\n")
    code_sets_load_files(paths=[path])
    before = snapshot()

    [result] = code_sets_load_files(paths=[path])

    assert result.unchanged
    assert result.version == 2
    assert snapshot() == before


def test_a_code_missing_from_the_file_is_closed_not_deleted(tmp_path):
    without_military = "".join(
        line for line in EMPLOYMENT.splitlines(keepends=True) if not line.startswith("military,")
    )
    path = write(tmp_path, "employment.csv", without_military)

    [result] = code_sets_load_files(paths=[path])

    assert (result.version, result.closed) == (2, 1)
    military = codes_of("employment")["military"]
    assert (military.active, military.since_version, military.until_version) == (False, 1, 2)
    assert "military" not in active_codes("employment")
    assert "military" not in dict(code_choices("employment"))
    # Old records that carry the code keep their meaning.
    assert code_label("employment", "military") == "现役军人"


def test_a_closed_code_that_comes_back_is_open_again_from_the_new_version(tmp_path):
    without = "".join(
        line for line in EMPLOYMENT.splitlines(keepends=True) if not line.startswith("military,")
    )
    code_sets_load_files(paths=[write(tmp_path, "employment.csv", without)])

    [result] = code_sets_load_files(paths=[write(tmp_path, "employment.csv", EMPLOYMENT)])

    assert (result.version, result.added) == (3, 1)
    military = codes_of("employment")["military"]
    assert (military.active, military.since_version, military.until_version) == (True, 3, None)


def test_a_changed_name_or_flag_is_updated_in_a_new_version(tmp_path):
    text = (
        "code,name,name_en,sensitive\n1,男,male,0\n2,女,female,0\n"
        "0,未知的性别,unknown,0\n9,未说明的性别,unspecified,1\n"
    )

    [result] = code_sets_load_files(paths=[write(tmp_path, "sex.csv", text)])

    assert (result.version, result.changed, result.added, result.closed) == (2, 3, 0, 0)
    codes = codes_of("sex")
    assert (codes["1"].name, codes["2"].name, codes["9"].sensitive) == ("男", "女", True)
    assert codes["1"].since_version == 1  # renamed, not new
    assert code_label("sex", "1") == "男"


def test_a_new_set_comes_with_its_index_row(tmp_path):
    write(
        tmp_path, "code_sets.csv", "key,name,name_en,standard\nreligion,宗教信仰,religion,local\n"
    )
    write(tmp_path, "religion.csv", "code,name,name_en\n0,无,none\n1,佛教,Buddhism\n")

    [result] = code_sets_load_files(paths=[tmp_path])

    assert result.created
    code_set = CodeSet.objects.get(key="religion")
    assert (code_set.name, code_set.standard, code_set.version) == ("宗教信仰", "local", 1)
    assert [c for c, _ in code_choices("religion")] == ["0", "1"]


def test_a_new_set_without_its_index_row_is_refused(tmp_path):
    path = write(tmp_path, "religion.csv", "code,name,name_en\n0,无,none\n")

    with pytest.raises(ImportRejected, match="list it in code_sets.csv"):
        code_sets_load_files(paths=[path])

    assert not CodeSet.objects.filter(key="religion").exists()


def test_a_renamed_set_is_renamed_without_a_new_version(tmp_path):
    write(
        tmp_path,
        "code_sets.csv",
        "key,name,name_en,standard\nemployment,就业情况,employment,local\n",
    )
    write(tmp_path, "employment.csv", EMPLOYMENT)

    [result] = code_sets_load_files(paths=[tmp_path])

    code_set = CodeSet.objects.get(key="employment")
    assert (code_set.name, code_set.standard, code_set.version) == ("就业情况", "local", 1)
    assert result.unchanged


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "code,name,name_en\n01,甲,\n01,乙,\n",
            "line 3, column code: 01 appears twice (first on line 2)",
        ),
        ("code,name,name_en\n01,,a\n", "line 2, column name: must not be empty"),
        ("code,name,name_en\n,甲,a\n", "line 2, column code: must not be empty"),
        (
            "code,name,name_en,sensitive\n01,甲,a,yes\n",
            "line 2, column sensitive: 'yes' is not 1 or 0",
        ),
        ("code,name\n01,甲\n", "line 1, column name_en: required column is missing"),
        ("code,name,name_en,colour\n01,甲,a,red\n", "line 1, column colour: unknown column"),
        ("code,name,name_en\n01,甲,a,extra\n", "line 2, column -: expected 3 fields, found 4"),
        ("code,name,name_en\n", "line 2, column code: the file has no codes"),
        ("", "line 1, column -: the file is empty"),
        ("code,name,name_en\n01," + "长" * 101 + ",\n", "line 2, column name: longer than 100"),
    ],
)
def test_a_bad_file_is_refused_naming_line_column_and_reason(tmp_path, text, expected):
    path = write(tmp_path, "employment.csv", text)
    before = snapshot()

    with pytest.raises(ImportRejected) as rejected:
        code_sets_load_files(paths=[path])

    assert expected in str(rejected.value)
    assert "employment.csv" in str(rejected.value)
    assert snapshot() == before


def test_a_code_too_long_for_the_field_that_stores_it_is_refused(tmp_path):
    path = write(tmp_path, "sex.csv", "code,name,name_en\n1,男性,male\n10,其他,other\n")

    with pytest.raises(ImportRejected, match="line 3, column code: '10' is longer than 1"):
        code_sets_load_files(paths=[path])


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "employment.csv"
    path.write_bytes("code,name,name_en\nemployed,在业,\n".encode("gb18030"))

    with pytest.raises(ImportRejected, match="not UTF-8"):
        code_sets_load_files(paths=[path])


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "employment.csv"
    path.write_bytes(("\ufeff" + EMPLOYMENT + "rehired_retiree,退休后返聘,\n").encode("utf-8"))

    [result] = code_sets_load_files(paths=[path])

    assert result.added == 1


def test_a_file_name_that_is_no_key_is_refused(tmp_path):
    path = write(tmp_path, "Employment Status.csv", EMPLOYMENT)

    with pytest.raises(ImportRejected, match="named <key>.csv"):
        code_sets_load_files(paths=[path])


def test_an_index_row_without_its_file_is_refused(tmp_path):
    write(tmp_path, "code_sets.csv", "key,name,name_en,standard\nreligion,宗教信仰,,\n")

    with pytest.raises(ImportRejected, match="line 2, column key: no file religion.csv"):
        code_sets_load_files(paths=[tmp_path])


def test_one_bad_file_in_a_directory_saves_nothing(tmp_path):
    write(tmp_path, "employment.csv", EMPLOYMENT + "rehired_retiree,退休后返聘,\n")
    write(tmp_path, "marital_status.csv", "code,name,name_en\n10,未婚,\n10,分居,\n")
    before = snapshot()

    with pytest.raises(ImportRejected, match="marital_status.csv"):
        code_sets_load_files(paths=[tmp_path])

    assert snapshot() == before


def test_missing_package_sets_are_loaded_and_a_districts_changes_survive(tmp_path):
    code_sets_load_files(
        paths=[write(tmp_path, "employment.csv", EMPLOYMENT + "rehired_retiree,退休后返聘,\n")]
    )
    CodeSet.objects.filter(key="house_use").delete()

    results = code_sets_load_missing()

    assert [result.key for result in results] == ["house_use"]
    assert "group_rental" in active_codes("house_use")
    assert "rehired_retiree" in active_codes("employment")
    assert code_sets_load_missing() == []


def test_the_package_load_puts_a_set_back_as_shipped(tmp_path):
    code_sets_load_files(
        paths=[write(tmp_path, "employment.csv", EMPLOYMENT + "rehired_retiree,退休后返聘,\n")]
    )

    results = {result.key: result for result in code_sets_load_package()}

    assert (results["employment"].version, results["employment"].closed) == (3, 1)
    assert "rehired_retiree" not in active_codes("employment")


def test_the_command_loads_files_and_reports_each_set(tmp_path):
    path = write(tmp_path, "employment.csv", EMPLOYMENT + "rehired_retiree,退休后返聘,\n")
    out = StringIO()

    call_command("codes", "load", str(path), stdout=out)

    assert "employment: version 2 (1 added, 0 closed, 0 changed)" in out.getvalue()


def test_the_command_without_a_path_loads_the_package():
    out = StringIO()

    call_command("codes", "load", stdout=out)

    assert "division: unchanged, version 1" in out.getvalue()


def test_the_command_reports_a_bad_file_as_an_error(tmp_path):
    path = write(tmp_path, "employment.csv", "code,name,name_en\nx,,\n")

    with pytest.raises(CommandError, match="line 2, column name: must not be empty"):
        call_command("codes", "load", str(path))


def test_the_command_reports_a_missing_path(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("codes", "load", str(tmp_path / "nothing.csv"))


def test_a_copy_of_the_package_directory_loads_as_the_package(tmp_path):
    for source in PACKAGE_DATA_DIR.glob("*.csv"):
        write(tmp_path, source.name, source.read_text(encoding="utf-8"))
    write(tmp_path, "employment.csv", EMPLOYMENT + "rehired_retiree,退休后返聘,\n")

    results = {result.key: result for result in code_sets_load_files(paths=[tmp_path])}

    assert results["employment"].added == 1
    assert results["division"].unchanged  # built from the county list, as in the package
    assert all(r.unchanged for key, r in results.items() if key != "employment")


def test_a_directory_without_code_set_files_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="no code set files"):
        call_command("codes", "load", str(tmp_path))
