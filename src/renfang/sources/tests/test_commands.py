"""``renfang sources …`` and ``renfang import``: what they print and how they fail."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from renfang.sources.models import ImportStatus, Mapping, Source, SourceImport, SourceRecord
from renfang.sources.tests.conftest import POLICE_COLUMNS, POLICE_MAPPING, police_row, write_csv
from renfang.sources.tests.workbooks import write_protected_xlsx, write_workbook

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def fails(*args: str) -> str:
    with pytest.raises(CommandError) as caught:
        run(*args)
    assert caught.value.returncode == 1
    return str(caught.value)


@pytest.fixture
def mapping_file(tmp_path: Path) -> Path:
    path = tmp_path / "police.yaml"
    path.write_text(POLICE_MAPPING, encoding="utf-8")
    return path


@pytest.fixture
def police(mapping_file: Path) -> Path:
    run("sources", "add", "police", "--name", "公安户籍", "--mapping", str(mapping_file))
    return mapping_file


def test_add_registers_the_source_with_mapping_version_1(mapping_file: Path) -> None:
    output = run("sources", "add", "police", "--name", "公安户籍", "--mapping", str(mapping_file))

    assert output.strip() == "added source police (公安户籍) with mapping version 1"
    source = Source.objects.get(code="police")
    mapping = source.current_mapping()
    assert mapping is not None
    assert mapping.text == POLICE_MAPPING


def test_add_refuses_a_taken_code_a_bad_code_and_a_bad_mapping(
    police: Path, tmp_path: Path
) -> None:
    assert "there is already a source police" in fails(
        "sources", "add", "police", "--name", "x", "--mapping", str(police)
    )
    assert "source code 'Police 2'" in fails(
        "sources", "add", "Police 2", "--name", "x", "--mapping", str(police)
    )
    # /sources/unmapped/ is the list of unmapped codes: a source so named could not be opened.
    assert "source code unmapped is a word of renfang's own addresses" in fails(
        "sources", "add", "unmapped", "--name", "x", "--mapping", str(police)
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text('record_id: "{id}"\nfields:\n  sex: M\n', encoding="utf-8")
    message = fails("sources", "add", "health", "--name", "卫健", "--mapping", str(bad))
    assert f"{bad} is not a usable mapping:" in message
    assert "line 3, fields.sex: 'M' is not a code of sex" in message
    assert "no such file" in fails(
        "sources", "add", "health", "--name", "卫健", "--mapping", str(tmp_path / "none.yaml")
    )
    assert list(Source.objects.values_list("code", flat=True)) == ["police"]


def test_mapping_makes_a_new_version_only_when_the_text_changed(
    police: Path, tmp_path: Path
) -> None:
    assert "unchanged (version 1)" in run("sources", "mapping", "police", str(police))

    changed = tmp_path / "v2.yaml"
    changed.write_text(POLICE_MAPPING.replace("回族", "回"), encoding="utf-8")
    output = run("sources", "mapping", "police", str(changed))

    assert "police: mapping version 2" in output
    assert list(Mapping.objects.values_list("version", flat=True)) == [1, 2]
    assert "there is no source nobody (sources: police)" in fails(
        "sources", "mapping", "nobody", str(changed)
    )


def test_check_validates_without_saving(mapping_file: Path, tmp_path: Path) -> None:
    output = run("sources", "check", str(mapping_file))

    assert "is a good mapping: record id {人员编号}; fields id_type, id_number" in output
    assert not Source.objects.exists()
    bad = tmp_path / "bad.yaml"
    bad.write_text("record_id: x\n", encoding="utf-8")
    message = fails("sources", "check", str(bad))
    assert "line 1, record_id: must name the columns" in message
    assert "fields: required, and missing" in message


def test_import_prints_counts_problems_by_field_and_unmapped_codes(
    police: Path, tmp_path: Path
) -> None:
    rows = [
        police_row(人员编号="P001", 民族="蒙古族"),
        police_row(人员编号="P002", 民族="蒙古族", 出生日期="1980年2月30日"),
        police_row(人员编号="P003", 联系电话="无"),
    ]
    path = write_csv(tmp_path / "police.csv", rows)

    output = run("import", "police", str(path), "--no-progress")

    lines = output.splitlines()
    assert lines[0].startswith(
        "imported police.csv into police: 3 records: 3 new, 0 changed, 0 unchanged; 2 flagged"
    )
    assert lines[1:] == [
        "Values that could not be read, by field:",
        "  birth_date  1",
        "  phone       1",
        "Codes no code table knows (field, value, records); map them with a new mapping "
        "version (renfang sources mapping):",
        "  ethnicity  蒙古族  2",
    ]
    again = run("import", "police", str(path), "--no-progress")
    assert "3 records: 0 new, 0 changed, 3 unchanged" in again


def test_import_shows_each_problem_at_verbosity_2(police: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "police.csv", [police_row(出生日期="1980年2月30日")])

    output = run("import", "police", str(path), "--no-progress", "-v", "2")

    assert "  record P001 (line 2), birth_date: '1980年2月30日' is not a date" in output


def test_a_refused_import_exits_1_with_the_reason(police: Path, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "police.csv", [police_row(), police_row()])

    message = fails("import", "police", str(path), "--no-progress")

    assert message.startswith(f"refused {path}: 1 error(s) in police.csv; nothing was saved.")
    assert "line 3, column record_id: record id 'P001' appears on line 2 and line 3" in message
    assert not SourceRecord.objects.exists()
    assert SourceImport.objects.get().status == ImportStatus.REFUSED
    assert "no such file" in fails("import", "police", str(tmp_path / "none.csv"))
    assert "there is no source health" in fails("import", "health", str(path))


def test_list_and_show(police: Path, tmp_path: Path) -> None:
    assert "No sources" not in run("sources", "list")
    run(
        "import",
        "police",
        str(write_csv(tmp_path / "police.csv", [police_row(民族="蒙古族")])),
        "--no-progress",
    )

    listed = run("sources", "list").splitlines()
    assert listed[0].split() == [
        "code",
        "name",
        "mapping",
        "records",
        "unmapped",
        "codes",
        "last",
        "import",
    ]
    assert listed[1].split()[:5] == ["police", "公安户籍", "v1", "1", "1"]
    assert listed[1].endswith("done")

    shown = run("sources", "show", "police")
    assert "1 records, 1 unmapped codes" in shown
    assert "  v1  " in shown
    assert "police.csv" in shown
    assert "ethnicity  蒙古族  1" in shown


def test_list_without_sources_says_how_to_add_one(db: None) -> None:
    assert run("sources", "list").startswith("No sources. Add one with: renfang sources add")


def test_import_reads_an_xls_and_refuses_a_protected_workbook_in_chinese(
    police: Path, tmp_path: Path
) -> None:
    row = police_row()
    sheets = {"Sheet1": [POLICE_COLUMNS, [row[column] for column in POLICE_COLUMNS]]}
    xls = write_workbook(tmp_path / "户籍人员.xls", sheets)
    protected = write_protected_xlsx(tmp_path / "户籍人员.xlsx", sheets)

    output = run("import", "police", str(xls), "--no-progress")
    with translation.override("zh-hans"):
        message = fails("import", "police", str(protected), "--no-progress")

    assert output.startswith("imported 户籍人员.xls into police: 1 records: 1 new")
    assert "工作簿设有密码保护：请打开后取消密码并重新保存" in message
    assert SourceRecord.objects.count() == 1
