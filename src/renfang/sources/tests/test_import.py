"""Importing a source's files: records kept as received and as mapped, versions, problems,
unmapped codes, and files refused whole."""

from __future__ import annotations

import datetime
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from openpyxl import Workbook

from renfang.audit.models import AuditEvent
from renfang.core.csvimport import ImportRejected
from renfang.people.facts import (
    person_placeholder,
)
from renfang.people.models import Person
from renfang.sources.models import (
    ImportStatus,
    LinkRule,
    Source,
    SourceImport,
    SourceRecord,
    SourceRecordVersion,
    UnmappedCode,
)
from renfang.sources.selectors import imports_list, unmapped_codes_list
from renfang.sources.services import mapping_update, source_add, source_import
from renfang.sources.tests.conftest import (
    POLICE_COLUMNS,
    POLICE_MAPPING,
    ZHANG,
    police_row,
    write_csv,
    write_jsonl,
)
from renfang.sources.tests.workbooks import write_protected_xlsx, write_workbook

pytestmark = pytest.mark.django_db

LI = "34012219900215002X"  # as written with a wrong check digit: kept as read


@pytest.fixture
def police() -> Source:
    return source_add("police", "公安户籍", POLICE_MAPPING, actor=None)


def two_people() -> list[dict[str, str]]:
    return [
        police_row(),
        police_row(
            人员编号="P002",
            公民身份号码=LI.lower(),
            姓="李",
            名="娜",
            性别="女",
            出生日期="19900215",
            民族="回族",
            婚姻状况="未婚",
        ),
    ]


def nothing_saved() -> bool:
    return not SourceRecord.objects.exists() and not SourceRecordVersion.objects.exists()


# ---------------------------------------------------------------- a good file


def test_a_file_is_kept_as_received_and_as_mapped(police: Source, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "police.csv", two_people())

    done = source_import(police, path, actor=None)

    assert (done.status, done.records, done.new, done.changed, done.unchanged) == (
        ImportStatus.DONE,
        2,
        2,
        0,
        0,
    )
    assert done.file_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert done.mapping == police.current_mapping()
    li = SourceRecord.objects.get(source=police, record_id="P002")
    assert li.version == 1
    assert li.mapped == {
        "id_type": "resident_id",
        "id_number": LI,
        "name": "李娜",
        "family_name": "李",
        "given_name": "娜",
        "sex": "2",
        "birth_date": "1990-02-15",
        "nationality": "CHN",
        "ethnicity": "03",
        "hukou_division": "310104",
        "hukou_type": "family",
        "phone": "13800138000",
        "marital_status": "10",
    }
    assert not li.flagged
    assert li.person is None
    [version] = li.versions.all()
    assert version.source_import == done
    assert version.raw["公民身份号码"] == LI.lower()  # as received
    assert version.raw["出生日期"] == "19900215"
    assert "人员标签" not in version.raw  # empty cells are not kept
    assert version.mapped == li.mapped


def test_the_import_is_audited_with_counts_and_the_files_hash(
    police: Source, tmp_path: Path
) -> None:
    done = source_import(police, write_csv(tmp_path / "police.csv", two_people()), actor=None)

    event = AuditEvent.objects.get(record_type="source_import")
    assert event.record_id == str(done.pk)
    assert event.username == "system"
    assert event.detail["sha256"] == done.file_sha256
    assert (event.detail["records"], event.detail["new"], event.detail["status"]) == (2, 2, "done")
    assert AuditEvent.objects.filter(record_type="source", record_id="police").count() == 1


def test_importing_the_same_file_again_changes_nothing(police: Source, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "police.csv", two_people())
    source_import(police, path, actor=None)
    before = list(SourceRecord.objects.order_by("pk").values())

    again = source_import(police, path, actor=None)

    assert (again.records, again.new, again.changed, again.unchanged) == (2, 0, 0, 2)
    assert list(SourceRecord.objects.order_by("pk").values()) == before
    assert SourceRecordVersion.objects.count() == 2


def test_a_changed_record_gets_version_2_and_keeps_its_person(
    police: Source, tmp_path: Path
) -> None:
    source_import(police, write_csv(tmp_path / "v1.csv", two_people()), actor=None)
    person = person_placeholder(id_type="resident_id", id_number=ZHANG, name="张伟", sex="1")
    SourceRecord.objects.filter(record_id="P001").update(
        person=person, link_rule=LinkRule.ID_NUMBER
    )
    rows = two_people()
    rows[0]["联系电话"] = "139 1111 2222"

    done = source_import(police, write_csv(tmp_path / "v2.csv", rows), actor=None)

    assert (done.new, done.changed, done.unchanged) == (0, 1, 1)
    zhang = SourceRecord.objects.get(record_id="P001")
    assert zhang.version == 2
    assert zhang.mapped["phone"] == "13911112222"
    assert zhang.person == person  # resolve decides whether it still is
    assert zhang.link_rule == LinkRule.ID_NUMBER
    first, second = zhang.versions.order_by("version")
    assert first.raw["联系电话"] == "138 0013 8000"
    assert second.raw["联系电话"] == "139 1111 2222"
    assert second.source_import == done
    assert SourceRecord.objects.get(record_id="P002").version == 1


def test_a_record_missing_from_a_later_file_is_kept(police: Source, tmp_path: Path) -> None:
    source_import(police, write_csv(tmp_path / "all.csv", two_people()), actor=None)

    done = source_import(police, write_csv(tmp_path / "one.csv", two_people()[:1]), actor=None)

    assert (done.records, done.unchanged) == (1, 1)
    assert SourceRecord.objects.count() == 2


def test_a_value_that_cannot_be_read_is_reported_and_its_record_flagged(
    police: Source, tmp_path: Path
) -> None:
    rows = two_people()
    rows[1]["出生日期"] = "1990年2月30日"
    rows[1]["户籍地区划"] = "徐汇"

    done = source_import(police, write_csv(tmp_path / "police.csv", rows), actor=None)

    li = SourceRecord.objects.get(record_id="P002")
    assert li.flagged
    assert "birth_date" not in li.mapped
    assert "hukou_division" not in li.mapped
    assert li.mapped["name"] == "李娜"  # the rest of the record is kept
    assert [p["field"] for p in li.problems] == ["birth_date", "hukou_division"]
    assert done.flagged == 1
    assert done.report["problems"] == [
        {
            "record_id": "P002",
            "line": 3,
            "field": "birth_date",
            "value": "1990年2月30日",
            "reason": "'1990年2月30日' is not a date (format %Y年%m月%d日 or %Y%m%d)",
            "kind": "unreadable",
        },
        {
            "record_id": "P002",
            "line": 3,
            "field": "hukou_division",
            "value": "徐汇",
            "reason": "'徐汇' is not a division code (digits)",
            "kind": "unreadable",
        },
    ]
    assert done.report["problems_by_field"] == {"birth_date": 1, "hukou_division": 1}
    assert not SourceRecord.objects.get(record_id="P001").flagged


def test_historic_division_codes_are_read_and_a_code_of_no_revision_is_flagged(
    police: Source, tmp_path: Path
) -> None:
    # Given a department file with hukous coded by earlier GB/T 2260 revisions (镇海县 330221
    # of Ningbo; 嘉定县 310222 of Shanghai, 嘉定区 310114 since 1992) and one code that no
    # revision ever had.
    rows = [
        police_row(户籍地区划="330221"),
        police_row(人员编号="P002", 户籍地区划="310222"),
        police_row(人员编号="P003", 户籍地区划="340199"),
    ]

    # When it is imported
    done = source_import(police, write_csv(tmp_path / "police.csv", rows), actor=None)

    # Then the old codes are read (the city's own as its successor) and the other is flagged
    # with its line, field and reason.
    assert SourceRecord.objects.get(record_id="P001").mapped["hukou_division"] == "330221"
    assert SourceRecord.objects.get(record_id="P002").mapped["hukou_division"] == "310114"
    nonsense = SourceRecord.objects.get(record_id="P003")
    assert nonsense.flagged
    assert "hukou_division" not in nonsense.mapped
    assert done.report["problems"] == [
        {
            "record_id": "P003",
            "line": 4,
            "field": "hukou_division",
            "value": "340199",
            "reason": "'340199' is not a county-level division in any revision of GB/T 2260 "
            "since 1980",
            "kind": "unreadable",
        }
    ]


# ---------------------------------------------------------------- unmapped codes


def test_unmapped_codes_are_reported_listed_and_gone_once_mapped(
    police: Source, tmp_path: Path
) -> None:
    rows = [
        police_row(人员编号="P001", 民族="蒙古族", 婚姻状况="丧偶"),
        police_row(人员编号="P002", 民族="蒙古族"),
        police_row(人员编号="P003", 人员标签="独居 低保"),
    ]
    path = write_csv(tmp_path / "police.csv", rows)

    done = source_import(police, path, actor=None)

    assert done.report["unmapped"] == [
        {"field": "ethnicity", "value": "蒙古族", "records": 2},
        {"field": "marital_status", "value": "丧偶", "records": 1},
        {"field": "tags", "value": "低保", "records": 1},
    ]
    assert done.flagged == 0  # an unknown code is not an unreadable value
    listed = [(u.source.code, u.field, u.value, u.records) for u in unmapped_codes_list()]
    assert listed == [
        ("police", "ethnicity", "蒙古族", 2),
        ("police", "marital_status", "丧偶", 1),
        ("police", "tags", "低保", 1),
    ]
    first_seen_widowed = UnmappedCode.objects.get(value="丧偶").first_seen
    # The raw value is never dropped.
    assert SourceRecord.objects.get(record_id="P001").versions.get().raw["民族"] == "蒙古族"

    mapping_update(
        police,
        POLICE_MAPPING.replace('回族: "03"', '回族: "03", 蒙古族: "02"').replace(
            "残疾: disabled", "残疾: disabled, 低保: subsistence_allowance"
        ),
        actor=None,
    )
    again = source_import(police, path, actor=None)

    assert (again.changed, again.unchanged) == (3, 0)
    assert SourceRecord.objects.get(record_id="P001").mapped["ethnicity"] == "02"
    assert (
        SourceRecord.objects.get(record_id="P003").mapped["tags"]
        == "elderly_alone subsistence_allowance"
    )
    remaining = list(unmapped_codes_list(police))
    assert [(u.field, u.value, u.records) for u in remaining] == [("marital_status", "丧偶", 1)]
    assert remaining[0].first_seen == first_seen_widowed
    assert remaining[0].last_seen > first_seen_widowed


def test_unmapped_counts_are_the_records_that_carry_the_code_now(
    police: Source, tmp_path: Path
) -> None:
    source_import(
        police,
        write_csv(
            tmp_path / "a.csv",
            [police_row(人员编号="P001", 民族="壮"), police_row(人员编号="P002", 民族="壮")],
        ),
        actor=None,
    )
    # A second file corrects one record and brings another: counts follow the records.
    source_import(
        police,
        write_csv(
            tmp_path / "b.csv",
            [police_row(人员编号="P002", 民族="汉族"), police_row(人员编号="P003", 民族="壮")],
        ),
        actor=None,
    )

    assert [(u.value, u.records) for u in unmapped_codes_list(police)] == [("壮", 2)]


# ---------------------------------------------------------------- files refused whole


def assert_refused(police: Source, path: Path, *expected: str) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        source_import(police, path, actor=None)
    message = caught.value.summary()
    for text in expected:
        assert text in message
    assert nothing_saved()
    refused = imports_list(police).get()
    assert refused.status == ImportStatus.REFUSED
    assert refused.report["message"] == message
    assert refused.finished_at is not None
    event = AuditEvent.objects.get(record_type="source_import")
    assert event.detail["status"] == "refused"
    return caught.value


def test_a_file_without_a_mapped_column_is_refused_naming_it(
    police: Source, tmp_path: Path
) -> None:
    columns = [c for c in POLICE_COLUMNS if c not in ("民族", "户别")]
    rows = [{k: v for k, v in police_row().items() if k in columns}]
    path = write_csv(tmp_path / "police.csv", rows, columns=columns)

    rejected = assert_refused(police, path, "nothing was saved")

    assert [(e.line, e.column) for e in rejected.errors] == [(1, "民族"), (1, "户别")]


def test_an_undecodable_file_is_refused_naming_the_line(police: Source, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "police.csv", two_people())
    data = path.read_bytes().replace("李".encode(), b"\xff\xfe")
    path.write_bytes(data)
    mapping_update(police, POLICE_MAPPING.replace("encoding: auto", "encoding: utf-8"), actor=None)

    rejected = assert_refused(police, path, "not UTF-8 text")

    assert rejected.errors[0].line == 3


def test_repeated_record_ids_are_refused_naming_both_lines(police: Source, tmp_path: Path) -> None:
    rows = [*two_people(), police_row(人员编号="P003"), police_row(人员编号="P001")]

    rejected = assert_refused(police, write_csv(tmp_path / "police.csv", rows))

    assert [str(e) for e in rejected.errors] == [
        "line 5, column record_id: record id 'P001' appears on line 2 and line 5"
    ]


def test_a_row_without_a_record_id_refuses_the_file(police: Source, tmp_path: Path) -> None:
    rows = [*two_people(), police_row(人员编号="")]

    rejected = assert_refused(police, write_csv(tmp_path / "police.csv", rows))

    assert str(rejected.errors[0]) == "line 4, column record_id: no record id: 人员编号 empty"


def test_a_refused_reimport_leaves_the_earlier_records_as_they_were(
    police: Source, tmp_path: Path
) -> None:
    source_import(police, write_csv(tmp_path / "good.csv", two_people()), actor=None)
    before = list(SourceRecord.objects.order_by("pk").values())
    rows = two_people()
    rows[0]["联系电话"] = "139 1111 2222"  # would change P001, but the file is refused
    rows.append(police_row(人员编号="P002"))

    with pytest.raises(ImportRejected):
        source_import(police, write_csv(tmp_path / "bad.csv", rows), actor=None)

    assert list(SourceRecord.objects.order_by("pk").values()) == before
    assert SourceRecordVersion.objects.count() == 2
    assert [i.status for i in imports_list(police)] == [ImportStatus.REFUSED, ImportStatus.DONE]


def test_a_row_with_more_values_than_columns_refuses_the_file(
    police: Source, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "police.csv", two_people())
    path.write_text(path.read_text(encoding="utf-8") + "P009,x,y,z,,,,,,,,,,extra\n", "utf-8")

    rejected = assert_refused(police, path)

    assert str(rejected.errors[0]) == ("line 4, column -: 14 values, but the header has 13 columns")


def test_a_source_without_a_usable_mapping_refuses(tmp_path: Path) -> None:
    bare = Source.objects.create(code="bare", name="没有映射")

    with pytest.raises(ImportRejected, match="source bare has no mapping"):
        source_import(bare, write_csv(tmp_path / "x.csv", two_people()), actor=None)

    assert SourceImport.objects.get().status == ImportStatus.REFUSED


# ---------------------------------------------------------------- encodings and formats


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig", "utf-8"])
def test_csv_in_gbk_gb18030_and_utf8_with_or_without_bom_is_read(
    police: Source, tmp_path: Path, encoding: str
) -> None:
    rows = two_people()
    rows[0]["名"] = "伟𠀋" if encoding in ("gb18030", "utf-8") else "伟"  # beyond GBK
    path = write_csv(tmp_path / "police.csv", rows, encoding=encoding)

    done = source_import(police, path, actor=None)

    assert done.records == 2
    assert done.report["encoding"] == ("utf-8" if encoding.startswith("utf") else "gb18030")
    zhang = SourceRecord.objects.get(record_id="P001")
    assert zhang.mapped["name"] == "张" + rows[0]["名"]
    assert set(zhang.versions.get().raw) >= {"人员编号", "姓"}  # no BOM in the first column


def test_a_declared_gbk_file_is_read_as_gbk(police: Source, tmp_path: Path) -> None:
    mapping_update(police, POLICE_MAPPING.replace("encoding: auto", "encoding: gbk"), actor=None)

    done = source_import(
        police, write_csv(tmp_path / "p.csv", two_people(), encoding="gbk"), actor=None
    )

    assert (done.records, done.report["encoding"]) == (2, "gbk")


def test_title_rows_above_the_header_are_skipped(police: Source, tmp_path: Path) -> None:
    mapping_update(
        police,
        POLICE_MAPPING.replace("encoding: auto", "encoding: auto\n  header_row: 3"),
        actor=None,
    )
    path = write_csv(tmp_path / "police.csv", two_people())
    path.write_text("天平路派出所 户籍人员花名册\n导出日期：2026-06-30\n" + path.read_text("utf-8"))

    source_import(police, path, actor=None)

    assert list(SourceRecord.objects.order_by("record_id").values_list("record_id", flat=True)) == [
        "P001",
        "P002",
    ]
    assert SourceRecord.objects.get(record_id="P001").versions.get().raw["人员编号"] == "P001"


HEALTH_MAPPING = """\
record_id: "{档案号}"
file:
  sheet: 居民档案
  header_row: 2
fields:
  id_type: resident_id
  id_number: "{身份证号}"
  name: "{姓名}"
  birth_date: "{出生日期}"
  phone: "{电话}"
  residence_address: "{现住址}"
"""


def test_xlsx_cells_are_read_as_text_dates_iso_numbers_without_point_zero(
    tmp_path: Path,
) -> None:
    health = source_add("health", "卫健", HEALTH_MAPPING, actor=None)
    workbook = Workbook()
    workbook.active.title = "说明"
    sheet = workbook.create_sheet("居民档案")
    sheet.append(["居民健康档案"])
    sheet.append(["档案号", "身份证号", "姓名", "出生日期", "电话", "现住址"])
    sheet.append(
        [1001, "310104800101123", "张伟", datetime.datetime(1980, 1, 1), 13800138000.0, None]  # noqa: DTZ001
    )
    sheet.append([None, None, None, None, None, None])  # an empty row is no record
    sheet.append([1002, LI, "李娜", datetime.date(1990, 2, 15), "021-64391234", "天平路1号"])
    path = tmp_path / "health.xlsx"
    workbook.save(path)

    done = source_import(health, path, actor=None)

    assert (done.records, done.report["format"]) == (2, "xlsx")
    zhang = SourceRecord.objects.get(source=health, record_id="1001")
    assert zhang.mapped == {
        "id_type": "resident_id",
        "id_number": ZHANG,
        "name": "张伟",
        "birth_date": "1980-01-01",
        "phone": "13800138000",
    }
    assert zhang.versions.get().raw == {
        "档案号": "1001",
        "身份证号": "310104800101123",
        "姓名": "张伟",
        "出生日期": "1980-01-01",
        "电话": "13800138000",
    }
    assert (
        SourceRecord.objects.get(source=health, record_id="1002").mapped["phone"] == "02164391234"
    )


def test_an_xlsx_without_the_named_sheet_is_refused(tmp_path: Path) -> None:
    health = source_add("health", "卫健", HEALTH_MAPPING, actor=None)
    workbook = Workbook()
    workbook.active.title = "Sheet1"
    path = tmp_path / "health.xlsx"
    workbook.save(path)

    with pytest.raises(ImportRejected, match="no sheet '居民档案'; it has Sheet1"):
        source_import(health, path, actor=None)


def test_a_file_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    health = source_add("health", "卫健", HEALTH_MAPPING, actor=None)
    path = tmp_path / "health.xlsx"
    path.write_text("档案号,姓名\n1,张三\n", encoding="utf-8")

    with pytest.raises(ImportRejected, match="not a workbook: it is neither an Excel"):
        source_import(health, path, actor=None)


# ---------------------------------------------------------------- workbooks of every kind


def health_sheets(*records: list[Any]) -> dict[str, list[list[Any]]]:
    return {
        "说明": [["本表由卫健系统导出"]],
        "居民档案": [
            ["居民健康档案"],
            ["档案号", "身份证号", "姓名", "出生日期", "电话", "现住址"],
            *records,
        ],
    }


@pytest.mark.parametrize("kind", ["xls", "ods", "xlsx"])
def test_every_workbook_kind_imports_as_xlsx_does(tmp_path: Path, kind: str) -> None:
    health = source_add("health", "卫健", HEALTH_MAPPING, actor=None)
    path = write_workbook(
        tmp_path / f"health.{kind}",
        health_sheets(
            [1001, "310104800101123", "张伟", datetime.date(1980, 1, 1), 13800138000.0, None],
            [None, None, None, None, None, None],
            [1002, LI, "李娜", datetime.date(1990, 2, 15), "021-64391234", "天平路1号"],
        ),
    )

    done = source_import(health, path, actor=None)

    assert (done.status, done.records, done.flagged, done.report["format"]) == (
        ImportStatus.DONE,
        2,
        0,
        kind,
    )
    zhang = SourceRecord.objects.get(source=health, record_id="1001")
    assert zhang.mapped == {
        "id_type": "resident_id",
        "id_number": ZHANG,
        "name": "张伟",
        "birth_date": "1980-01-01",
        "phone": "13800138000",
    }
    assert SourceRecord.objects.get(source=health, record_id="1002").mapped["birth_date"] == (
        "1990-02-15"
    )


@pytest.mark.parametrize("kind", ["xls", "ods", "xlsx"])
def test_a_date_cell_and_a_date_written_as_text_map_alike(tmp_path: Path, kind: str) -> None:
    mapping = HEALTH_MAPPING.replace(
        'birth_date: "{出生日期}"',
        'birth_date: {value: "{出生日期}", date_format: ["%Y年%m月%d日", "%Y%m%d"]}',
    )
    health = source_add("health", "卫健", mapping, actor=None)
    path = write_workbook(
        tmp_path / f"health.{kind}",
        health_sheets(
            [1, ZHANG, "张伟", datetime.date(1980, 1, 1)],
            [2, ZHANG, "张伟", datetime.datetime(1980, 1, 1)],  # noqa: DTZ001
            [3, ZHANG, "张伟", "1980-01-01"],
            [4, ZHANG, "张伟", "1980年1月1日"],
            [5, ZHANG, "张伟", "19800101"],
            [6, ZHANG, "张伟", 19800101],  # a date typed as a number
        ),
    )

    done = source_import(health, path, actor=None)

    births = dict(
        SourceRecord.objects.filter(source=health).values_list("record_id", "mapped__birth_date")
    )
    assert (done.records, done.flagged) == (6, 0)
    assert births == {str(n): "1980-01-01" for n in range(1, 7)}


@pytest.mark.parametrize("kind", ["xls", "ods", "xlsx"])
def test_an_id_number_stored_as_a_number_is_read_only_while_its_digits_are_whole(
    tmp_path: Path, kind: str
) -> None:
    """A 15-digit number is exact in a number cell; an 18-digit one is not (a cell holds 15
    to 17 digits): its record is flagged with the reason, never kept with made-up digits."""
    health = source_add("health", "卫健", HEALTH_MAPPING, actor=None)
    path = write_workbook(
        tmp_path / f"health.{kind}",
        health_sheets(
            [1, 310104800101123, "张伟"],
            [2, 310104199001011234, "李娜"],
            [3, 3.10104199001011e17, "王芳"],
        ),
    )

    done = source_import(health, path, actor=None)

    records = {r.record_id: r for r in SourceRecord.objects.filter(source=health)}
    assert (done.records, done.flagged) == (3, 2)
    assert records["1"].mapped["id_number"] == ZHANG
    for record_id in ("2", "3"):
        assert "id_number" not in records[record_id].mapped
    reasons = [p["reason"] for p in done.report["problems"] if p["field"] == "id_number"]
    assert [p["line"] for p in done.report["problems"]] == [4, 5]
    assert all("is an ID number stored as a number" in reason for reason in reasons)
    assert all("keep ID numbers as text cells" in reason for reason in reasons)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("health.xlsx", None, "protected by a password"),
        (
            "health.xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
            "damaged or incomplete XLS",
        ),
        ("health.xls", "<html><table><tr><td>档案号</td></tr></table>".encode(), "web page (HTML)"),
        ("health.ods", b"PK\x03\x04 cut short", "damaged or incomplete ODS"),
    ],
)
def test_a_workbook_that_cannot_be_read_is_refused_whole_with_the_reason(
    tmp_path: Path, name: str, content: bytes | None, reason: str
) -> None:
    health = source_add("health", "卫健", HEALTH_MAPPING, actor=None)
    path = tmp_path / name
    if content is None:
        write_protected_xlsx(path, health_sheets([1, ZHANG, "张伟"]))
    else:
        path.write_bytes(content)

    with pytest.raises(ImportRejected, match=re.escape(reason)) as refused:
        source_import(health, path, actor=None)

    assert refused.value.file_name == name
    assert nothing_saved()
    kept = SourceImport.objects.get(source=health)
    assert kept.status == ImportStatus.REFUSED
    assert reason in kept.report["message"]


def test_a_protected_xlsx_is_refused_as_protected_when_the_mapping_names_xlsx(
    tmp_path: Path,
) -> None:
    """Saved with a password, an XLSX is an OLE2 package as an XLS is: not a kind mismatch."""
    mapping = HEALTH_MAPPING.replace("  header_row: 2\n", "  header_row: 2\n  format: xlsx\n")
    health = source_add("health", "卫健", mapping, actor=None)
    path = write_protected_xlsx(tmp_path / "health.xlsx", health_sheets([1, ZHANG, "张伟"]))

    with pytest.raises(ImportRejected, match="the workbook is protected by a password"):
        source_import(health, path, actor=None)

    assert nothing_saved()


def test_a_truncated_workbook_is_refused_and_nothing_is_half_saved(tmp_path: Path) -> None:
    health = source_add("health", "卫健", HEALTH_MAPPING, actor=None)
    rows = [[n, ZHANG, f"张{n}"] for n in range(1, 3_000)]
    whole = write_workbook(tmp_path / "whole.xls", health_sheets(*rows)).read_bytes()
    path = tmp_path / "health.xls"
    path.write_bytes(whole[: len(whole) * 2 // 3])

    with pytest.raises(ImportRejected, match="damaged or incomplete XLS workbook"):
        source_import(health, path, actor=None)

    assert nothing_saved()


def test_an_empty_sheet_is_refused_naming_the_file_and_the_sheet(tmp_path: Path) -> None:
    health = source_add("health", "卫健", HEALTH_MAPPING, actor=None)
    path = write_workbook(tmp_path / "health.ods", {"说明": [["x"]], "居民档案": []})

    with pytest.raises(ImportRejected) as refused:
        source_import(health, path, actor=None)

    assert refused.value.file_name == "health.ods, sheet 居民档案"
    assert "the sheet '居民档案' is empty" in str(refused.value)
    assert nothing_saved()


def test_a_row_error_in_a_workbook_names_the_sheet_and_the_row(tmp_path: Path) -> None:
    health = source_add("health", "卫健", HEALTH_MAPPING, actor=None)
    path = write_workbook(
        tmp_path / "health.xls",
        health_sheets([1, ZHANG, "张伟"], [2, ZHANG, "张伟", None, None, None, "一个多出来的值"]),
    )

    with pytest.raises(ImportRejected) as refused:
        source_import(health, path, actor=None)

    assert refused.value.file_name == "health.xls, sheet 居民档案"
    assert "line 4, column -: 7 values, but the header has 6 columns" in str(refused.value)
    assert nothing_saved()


@pytest.mark.parametrize(
    ("declared", "name", "reason"),
    [
        (
            "xls",
            "health.xls",
            "the mapping reads XLS (file: format: xls), but the file is an "
            "XLSX workbook: set file: format: xlsx (or auto)",
        ),
        (
            "csv",
            "health.csv",
            "the mapping reads CSV (file: format: csv), but the file is an XLSX workbook",
        ),
        ("ods", "health.ods", "not a workbook: it is neither"),
    ],
)
def test_a_workbook_of_another_kind_than_the_mapping_says_is_refused(
    tmp_path: Path, declared: str, name: str, reason: str
) -> None:
    mapping = HEALTH_MAPPING.replace(
        "  header_row: 2\n", f"  header_row: 2\n  format: {declared}\n"
    )
    health = source_add("health", "卫健", mapping, actor=None)
    path = tmp_path / name
    if declared == "ods":
        write_csv(path, [police_row()])
    else:
        write_workbook(tmp_path / "health.xlsx", health_sheets([1, ZHANG, "张伟"])).rename(path)

    with pytest.raises(ImportRejected) as refused:
        source_import(health, path, actor=None)

    assert reason in str(refused.value)
    assert nothing_saved()


def test_an_xlsx_named_xls_is_read_by_its_content(tmp_path: Path) -> None:
    health = source_add("health", "卫健", HEALTH_MAPPING, actor=None)
    path = write_workbook(tmp_path / "health.xlsx", health_sheets([1, ZHANG, "张伟"]))
    path = path.rename(tmp_path / "health.xls")

    done = source_import(health, path, actor=None)

    assert (done.records, done.report["format"]) == (1, "xlsx")


HRSS_MAPPING = """\
record_id: "{aac001}"
fields:
  id_type: other
  id_number: "{aac002}"
  name: "{aac003}"
  sex: {value: "{aac004}", codes: {M: "1", F: "2"}}
  birth_date: {value: "{aac006}", date_format: "%Y%m%d"}
  employment: {value: "{aac008}", codes: {"1": employed, "2": unemployed}}
"""


def test_json_lines_are_read_with_numbers_as_text(tmp_path: Path) -> None:
    hrss = source_add("hrss", "人社", HRSS_MAPPING, actor=None)
    path = write_jsonl(
        tmp_path / "hrss.jsonl",
        [
            {
                "aac001": 9001,
                "aac002": "SB123",
                "aac003": "张伟",
                "aac004": "M",
                "aac006": 19800101,
                "aac008": 1,
                "备注": None,
            },
            {
                "aac001": 9002,
                "aac002": "SB124",
                "aac003": "王芳",
                "aac004": "F",
                "aac006": 19850505,
                "aac008": 3,
            },
        ],
    )

    done = source_import(hrss, path, actor=None)

    assert (done.records, done.report["format"]) == (2, "jsonl")
    assert SourceRecord.objects.get(record_id="9001").mapped == {
        "id_type": "other",
        "id_number": "SB123",
        "name": "张伟",
        "sex": "1",
        "birth_date": "1980-01-01",
        "employment": "employed",
    }
    assert done.report["unmapped"] == [{"field": "employment", "value": "3", "records": 1}]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"aac001": 9002, "aac003": "王芳"', "line 2, column -: not JSON"),
        ('["9002", "王芳"]', "line 2, column -: not a JSON object"),
        ('{"aac001": 9002, "aac003": {"姓": "王"}}', "line 2, column aac003: a nested value"),
    ],
)
def test_a_bad_json_line_refuses_the_file(tmp_path: Path, line: str, reason: str) -> None:
    hrss = source_add("hrss", "人社", HRSS_MAPPING, actor=None)
    path = tmp_path / "hrss.jsonl"
    path.write_text('{"aac001": 9001, "aac003": "张伟"}\n' + line + "\n", encoding="utf-8")

    with pytest.raises(ImportRejected) as caught:
        source_import(hrss, path, actor=None)

    assert reason in caught.value.summary()
    assert nothing_saved()


def test_json_lines_without_a_mapped_key_anywhere_are_refused(tmp_path: Path) -> None:
    hrss = source_add("hrss", "人社", HRSS_MAPPING, actor=None)
    path = write_jsonl(tmp_path / "hrss.jsonl", [{"aac001": 1, "aac003": "张伟"}])

    with pytest.raises(ImportRejected) as caught:
        source_import(hrss, path, actor=None)

    assert [e.column for e in caught.value.errors] == ["aac002", "aac004", "aac006", "aac008"]
    assert nothing_saved()


def test_the_report_keeps_the_first_problems_and_counts_them_all(
    police: Source, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("renfang.sources.services.imports.MAX_PROBLEMS_KEPT", 3)
    rows = [police_row(人员编号=f"P{i}", 出生日期="1980年2月30日") for i in range(5)]

    done = source_import(police, write_csv(tmp_path / "police.csv", rows), actor=None)

    assert [p["record_id"] for p in done.report["problems"]] == ["P0", "P1", "P2"]
    assert done.report["problems_total"] == 5
    assert done.report["problems_by_field"] == {"birth_date": 5}
    assert SourceRecord.objects.filter(flagged=True).count() == 5


def test_an_import_by_a_user_names_the_user(police: Source, tmp_path: Path) -> None:
    user = User.objects.create_user("officer")

    done = source_import(police, write_csv(tmp_path / "p.csv", two_people()), actor=user)

    assert done.actor == "officer"
    event = AuditEvent.objects.get(record_type="source_import")
    assert (event.user_id, event.username) == (user.pk, "officer")


def test_lines_are_counted_in_the_file_even_with_quoted_line_breaks(
    police: Source, tmp_path: Path
) -> None:
    rows = two_people()
    rows[0]["人员标签"] = "独居\r\n残疾"  # a cell written over two lines
    path = write_csv(tmp_path / "police.csv", [*rows, police_row(人员编号="P002")])

    with pytest.raises(ImportRejected) as caught:
        source_import(police, path, actor=None)

    assert str(caught.value.errors[0]) == (
        "line 5, column record_id: record id 'P002' appears on line 4 and line 5"
    )


def test_json_lines_with_a_key_always_empty_are_read(tmp_path: Path) -> None:
    hrss = source_add("hrss", "人社", HRSS_MAPPING, actor=None)
    path = write_jsonl(
        tmp_path / "hrss.jsonl",
        [
            {
                "aac001": 1,
                "aac002": "",
                "aac003": "张伟",
                "aac004": None,
                "aac006": "",
                "aac008": "",
            },
            {
                "aac001": 2,
                "aac002": "",
                "aac003": "王芳",
                "aac004": None,
                "aac006": "",
                "aac008": "",
            },
        ],
    )

    done = source_import(hrss, path, actor=None)

    assert done.records == 2
    assert SourceRecord.objects.get(record_id="1").mapped == {"id_type": "other", "name": "张伟"}


# ---------------------------------------------------------------- golden records follow


def test_a_reimport_that_changes_a_linked_record_refreshes_the_persons_golden_record(
    tmp_path: Path,
) -> None:
    from renfang.linkage.resolve import resolve  # noqa: PLC0415 (linkage imports sources)

    civil = source_add("civil_affairs", "民政", POLICE_MAPPING, actor=None)
    rows = [police_row(婚姻状况="未婚")]
    source_import(civil, write_csv(tmp_path / "v1.csv", rows), actor=None)
    resolve()
    person = Person.objects.get()
    assert person.golden["marital_status"]["value"] == "10"

    rows[0]["婚姻状况"] = "已婚"
    done = source_import(civil, write_csv(tmp_path / "v2.csv", rows), actor=None)

    person.refresh_from_db()
    assert person.golden["marital_status"]["value"] == "20"
    assert done.report["golden_refreshed"] == 1
    assert (
        AuditEvent.objects.filter(
            record_type="person", record_id=str(person.pk), detail__source="golden record"
        ).count()
        == 2
    )  # created, then the change


def test_a_mapping_that_clears_a_code_clears_it_from_the_record_and_the_list(
    police: Source, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "police.csv", [police_row(婚姻状况="不详")])
    source_import(police, path, actor=None)
    assert [u.value for u in unmapped_codes_list(police)] == ["不详"]

    # "不详" (not stated) means nothing: the mapped values stay as they were.
    mapping_update(police, POLICE_MAPPING.replace('离婚: "40"', '离婚: "40", 不详: ~'), actor=None)
    again = source_import(police, path, actor=None)

    assert (again.changed, again.unchanged) == (1, 0)
    record = SourceRecord.objects.get()
    assert (record.version, record.problems) == (2, [])
    assert list(unmapped_codes_list(police)) == []


def test_a_problem_worded_in_another_language_is_no_change(police: Source, tmp_path: Path) -> None:
    from django.utils import translation  # noqa: PLC0415

    path = write_csv(tmp_path / "police.csv", [police_row(出生日期="1980年2月30日")])
    source_import(police, path, actor=None)

    with translation.override("zh-hans"):
        again = source_import(police, path, actor=None)

    assert (again.changed, again.unchanged) == (0, 1)
    assert SourceRecord.objects.get().version == 1
