"""Mapping files: every mistake reported with its line, key and reason; rows mapped as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from renfang.sources.mapping import MappingError, parse_mapping
from renfang.sources.tests.conftest import POLICE_MAPPING, ZHANG, police_row

pytestmark = pytest.mark.django_db


def problems_of(text: str) -> list[str]:
    with pytest.raises(MappingError) as caught:
        parse_mapping(text)
    return [str(problem) for problem in caught.value.problems]


# ---------------------------------------------------------------- errors


def test_a_code_mapped_to_no_standard_code_names_line_key_and_set() -> None:
    text = (
        'record_id: "{编号}"\nfields:\n  sex:\n    value: "{性别}"\n'
        '    codes:\n      女: "2"\n      男: M\n'
    )

    assert problems_of(text) == [
        "line 7, fields.sex.codes: '男' maps to 'M', which is not a code of sex"
    ]


def test_every_problem_is_reported_at_once() -> None:
    text = """\
record_id: 编号
colour: blue
file:
  encoding: big5
  header_row: zero
fields:
  nickname: "{昵称}"
  name: "{姓{名}"
  phone:
    value: "{电话}"
    date_format: "%Y"
  birth_date:
    value: "{出生}"
    date_format: "%Y"
    codes: {a: b}
  nationality: 中国
  hukou_type:
    value: "{户别}"
    colour: red
"""
    assert problems_of(text) == [
        "line 2, colour: unknown key 'colour'; known: record_id, file, fields",
        'line 1, record_id: must name the columns that identify a record, e.g. "{人员编号}"',
        "line 4, file.encoding: 'big5' is not one of auto, utf-8, gbk, gb18030",
        "line 5, file.header_row: 'zero' is not a row number (1, 2, …)",
        "line 7, fields.nickname: unknown field 'nickname'; known: "
        "id_type, id_number, name, family_name, given_name, sex, birth_date, death_date, "
        "nationality, "
        "ethnicity, hukou_division, hukou_type, hukou_address, residence_division, "
        "residence_house_code, residence_address, residence_from, residence_to, phone, "
        "marital_status, education, employment, tags",
        "line 8, fields.name: template '{姓{名}': '{' at position 1 is not closed",
        "line 11, fields.phone.date_format: not allowed on phone, only on birth_date, "
        "death_date, residence_from, residence_to",
        "line 14, fields.birth_date.date_format: '%Y' does not read a whole date "
        "(year, month and day, e.g. %Y%m%d)",
        "line 15, fields.birth_date.codes: not allowed on birth_date, only on id_type, sex, "
        "nationality, ethnicity, hukou_type, marital_status, education, employment, tags",
        "line 16, fields.nationality: '中国' is not a code of nationality "
        "(nor mapped under codes:)",
        "line 19, fields.hukou_type.colour: unknown key 'colour'; known: "
        "value, date_format, codes, default",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the mapping is empty"),
        ("record_id: [\n", "not YAML"),
        ("- a\n- b\n", "must be a mapping of keys to values"),
        ('record_id: "{a}"\n', "fields: required, and missing"),
        ("fields:\n  name: '{a}'\n", "record_id: required, and missing"),
        ('record_id: "{a}"\nfields: {}\n', "fields: map at least one field"),
        (
            'record_id: "{a}"\nrecord_id: "{b}"\nfields:\n  name: "{n}"\n',
            "'record_id' appears twice",
        ),
        ('record_id: "{a}}"\nfields:\n  name: "{n}"\n', "'}' at position 4 closes nothing"),
        ('record_id: "{}"\nfields:\n  name: "{n}"\n', "'{}' at position 1 names no column"),
        ('record_id: "{a}"\nfields:\n  sex: {codes: {男: "1"}}\n', "fields.sex.value: required"),
        (
            'record_id: "{a}"\nfields:\n  sex:\n    value: "{s}"\n    default: X\n',
            "'X' is not a code",
        ),
        ('record_id: "{a}"\nfields:\n  phone: 热线\n', "'热线' is not a phone number"),
        ('record_id: "{a}"\nfields:\n  hukou_division: 上海\n', "is not a division code"),
        ('record_id: "{a}"\nfields:\n  name: [a, b]\n', "fields.name: must be a single value"),
        ('record_id: "{a}"\nfile:\n  delimiter: ";;"\nfields:\n  name: "{n}"\n', "one character"),
        (
            'record_id: "{a}"\nfile:\n  format: et\nfields:\n  name: "{n}"\n',
            "'et' is not one of auto, csv, xlsx, xls, xlsb, ods, jsonl",
        ),
    ],
)
def test_each_kind_of_mistake_is_explained(text: str, expected: str) -> None:
    assert any(expected in problem for problem in problems_of(text))


def test_an_unloaded_code_set_is_named() -> None:
    from renfang.codes.models import Code  # noqa: PLC0415
    from renfang.codes.selectors import clear_cache  # noqa: PLC0415

    Code.objects.filter(code_set_id="sex").delete()
    clear_cache()

    assert problems_of(
        'record_id: "{a}"\nfields:\n  sex:\n    value: "{s}"\n    codes: {男: "1"}\n'
    ) == ["line 5, fields.sex.codes: code set sex is not loaded (renfang codes load)"]


# ---------------------------------------------------------------- a good mapping


def test_the_columns_are_those_the_templates_read() -> None:
    spec = parse_mapping(POLICE_MAPPING)

    assert spec.columns == [
        "人员编号",
        "公民身份号码",
        "姓",
        "名",
        "性别",
        "出生日期",
        "国籍",
        "民族",
        "户籍地区划",
        "户别",
        "联系电话",
        "婚姻状况",
        "人员标签",
    ]
    assert spec.file.encoding == "auto"


def test_a_row_is_mapped_to_standard_codes_and_iso_dates() -> None:
    applied = parse_mapping(POLICE_MAPPING).apply(police_row())

    assert applied.record_id == "P001"
    assert applied.mapped == {
        "id_type": "resident_id",
        "id_number": ZHANG,
        "name": "张伟",
        "family_name": "张",
        "given_name": "伟",
        "sex": "1",
        "birth_date": "1980-01-01",
        "nationality": "CHN",  # the default
        "ethnicity": "01",
        "hukou_division": "310104",
        "hukou_type": "family",
        "phone": "13800138000",
        "marital_status": "20",
    }
    assert applied.problems == []
    assert applied.unmapped == []


def test_codes_first_then_standard_codes_then_unmapped() -> None:
    spec = parse_mapping(POLICE_MAPPING)

    # "2" is already a code of sex; 蒙古族 is neither mapped nor a code: unmapped, never guessed.
    applied = spec.apply(police_row(性别="2", 民族="蒙古族", 婚姻状况="丧偶"))

    assert applied.mapped["sex"] == "2"
    assert "ethnicity" not in applied.mapped
    assert "marital_status" not in applied.mapped
    assert applied.unmapped == [("ethnicity", "蒙古族"), ("marital_status", "丧偶")]
    assert applied.problems == []


def test_a_code_mapped_to_nothing_is_known_to_mean_no_value() -> None:
    applied = parse_mapping(POLICE_MAPPING).apply(police_row(性别="未知"))

    assert "sex" not in applied.mapped
    assert applied.unmapped == []


def test_tags_are_split_and_each_mapped() -> None:
    spec = parse_mapping(POLICE_MAPPING)

    applied = spec.apply(police_row(人员标签="独居、残疾,独居 veteran；吸烟"))

    assert applied.mapped["tags"] == "elderly_alone disabled veteran"
    assert applied.unmapped == [("tags", "吸烟")]


@pytest.mark.parametrize(
    ("written", "iso"),
    [("1980年1月1日", "1980-01-01"), ("19800101", "1980-01-01"), ("1980-01-01", "1980-01-01")],
)
def test_dates_in_any_listed_format_and_iso(written: str, iso: str) -> None:
    applied = parse_mapping(POLICE_MAPPING).apply(police_row(出生日期=written))

    assert applied.mapped["birth_date"] == iso


def test_a_date_that_does_not_exist_is_a_problem_and_the_field_stays_empty() -> None:
    spec = parse_mapping('record_id: "{id}"\nfields:\n  birth_date: "{born}"\n')

    applied = spec.apply({"id": "1", "born": "1990-02-30"})

    assert applied.mapped == {}
    assert applied.problems == [
        {
            "field": "birth_date",
            "value": "1990-02-30",
            "reason": "'1990-02-30' is not a date (format %Y-%m-%d)",
            "kind": "unreadable",
        }
    ]


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("310104800101123", ZHANG),  # an old 15-digit number, made 18
        ("３１０１０４１９８００１０１１２３９", ZHANG),  # full-width digits
        (" 310104 19800101 1239 ", ZHANG),  # spaces
        ("31010419800101123x", "31010419800101123X"),  # lowercase x; wrong check digit kept
        ("310104198001011230", "310104198001011230"),  # wrong check digit: kept for linkage
    ],
)
def test_resident_ids_are_folded_and_a_wrong_check_digit_is_kept(written: str, stored: str) -> None:
    applied = parse_mapping(POLICE_MAPPING).apply(police_row(公民身份号码=written))

    assert applied.mapped["id_number"] == stored
    assert applied.problems == []


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("31010419800101", "'31010419800101' is not a resident ID number: it has 14 characters"),
        (
            "3101041980O1011239",
            "'3101041980O1011239' is not a resident ID number: "
            "it is not 17 digits and a digit or X",
        ),
    ],
)
def test_a_value_that_cannot_be_a_resident_id_is_a_problem(written: str, reason: str) -> None:
    applied = parse_mapping(POLICE_MAPPING).apply(police_row(公民身份号码=written))

    assert "id_number" not in applied.mapped
    assert applied.problems == [
        {"field": "id_number", "value": written, "reason": reason, "kind": "unreadable"}
    ]


@pytest.mark.parametrize("kind", ["xlsx", "xls", "xlsb", "ods", "XLS"])
def test_every_workbook_kind_can_be_named(kind: str) -> None:
    spec = parse_mapping(f'record_id: "{{a}}"\nfile:\n  format: {kind}\nfields:\n  name: "{{n}}"\n')

    assert spec.file.format == kind.lower()


@pytest.mark.parametrize(
    ("id_type", "written"),
    [("resident_id", "3.101041990010113e+17"), ("other", "1e+20"), ("passport", "1234.5")],
)
def test_an_id_number_written_as_a_number_is_a_problem_for_any_id_type(
    id_type: str, written: str
) -> None:
    spec = parse_mapping(
        f'record_id: "{{号}}"\nfields:\n  id_type: {id_type}\n  id_number: "{{号}}"\n'
    )

    applied = spec.apply({"号": written})

    assert "id_number" not in applied.mapped
    assert applied.problems[0]["reason"] == (
        f"{written!r} is an ID number stored as a number: the workbook kept only its first "
        "15 or so digits; keep ID numbers as text cells and export the file again"
    )


def test_other_identifiers_are_folded_but_not_validated() -> None:
    spec = parse_mapping(
        'record_id: "{社保号}"\nfields:\n  id_type: other\n  id_number: "{社保号}"\n'
    )

    applied = spec.apply({"社保号": " sb-00１２3 "})

    assert applied.mapped == {"id_type": "other", "id_number": "SB-00123"}
    assert applied.problems == []


def test_phones_keep_digits_and_plus() -> None:
    spec = parse_mapping(POLICE_MAPPING)

    assert spec.apply(police_row(联系电话="+86 138-0013-8000")).mapped["phone"] == "+8613800138000"
    assert spec.apply(police_row(联系电话="(021) 6439 1234")).mapped["phone"] == "02164391234"
    bad = spec.apply(police_row(联系电话="无"))
    assert "phone" not in bad.mapped
    assert bad.problems[0]["reason"] == "'无' is not a phone number"


def test_divisions_must_be_digits() -> None:
    applied = parse_mapping(POLICE_MAPPING).apply(police_row(户籍地区划="上海市徐汇区"))

    assert "hukou_division" not in applied.mapped
    assert applied.problems[0]["field"] == "hukou_division"


@pytest.mark.parametrize(
    ("value", "mapped"),
    [
        ("310104003", "310104003"),  # a street of today
        ("330221", "330221"),  # 镇海县 of Ningbo, gone in 1985: kept as given
        ("310222", "310114"),  # 嘉定县 of the city: read as 嘉定区, its successor
        ("310102", "310102"),  # 南市区 of the city, merged in 2000: no single successor
        ("330200", "330200"),  # 宁波市, a prefecture
        ("330000", "330000"),  # 浙江省
    ],
)
def test_divisions_of_every_revision_are_read(value: str, mapped: str) -> None:
    applied = parse_mapping(POLICE_MAPPING).apply(police_row(户籍地区划=value))

    assert applied.mapped["hukou_division"] == mapped
    assert applied.problems == []


@pytest.mark.parametrize("value", ["340199", "990000", "339900", "3401991"])
def test_a_division_of_no_revision_is_a_problem(value: str) -> None:
    applied = parse_mapping(POLICE_MAPPING).apply(police_row(户籍地区划=value))

    assert "hukou_division" not in applied.mapped
    assert applied.problems[0]["field"] == "hukou_division"
    assert applied.problems[0]["reason"] == (
        f"{value!r} is not a county-level division in any revision of GB/T 2260 since 1980"
    )


def test_an_empty_template_falls_back_to_the_default_or_is_absent() -> None:
    spec = parse_mapping(
        'record_id: "{id}"\nfields:\n'
        '  residence_address: "{路}{号}号"\n'
        "  nationality: {value: '{国籍}', default: CHN}\n"
        "  name: '{姓}{名}'\n"
    )

    applied = spec.apply({"id": "1", "名": "伟"})

    # No column of the address was filled: no address (not "号"); a name in part is kept.
    assert applied.mapped == {"nationality": "CHN", "name": "伟"}


def test_braces_can_be_written_doubled_and_constants_are_kept() -> None:
    spec = parse_mapping(
        'record_id: "{{{id}}}"\nfields:\n  id_type: passport\n  residence_address: "{{{地址}}}"\n'
    )

    applied = spec.apply({"id": "7", "地址": "天平路1号"})

    assert applied.record_id == "{7}"
    assert applied.mapped == {"id_type": "passport", "residence_address": "{天平路1号}"}


def test_codes_written_with_leading_zeros_stay_text() -> None:
    # YAML would read 01 as the number 1; the mapping reads what was written.
    spec = parse_mapping(
        'record_id: "{id}"\nfields:\n  ethnicity:\n    value: "{mz}"\n    codes: {1: 01}\n'
    )

    assert spec.apply({"id": "1", "mz": "1"}).mapped == {"ethnicity": "01"}


DOCS = Path(__file__).resolve().parents[4] / "docs" / "MAPPINGS.md"


def test_every_mapping_in_the_documentation_is_a_good_one() -> None:
    if not DOCS.is_file():
        pytest.skip("docs/MAPPINGS.md is not next to the source")
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)

    assert len(blocks) >= 4
    for block in blocks:
        assert parse_mapping(block).fields
