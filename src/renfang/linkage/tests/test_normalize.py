"""The keys linkage compares: ID numbers, names, phones, folded the way clerks spoil them."""

from __future__ import annotations

import duckdb
import pytest
from django.utils import timezone

from renfang.linkage.normalize import (
    IdSimilarity,
    id_key,
    id_similarity,
    name_keys,
    phone_key,
)
from renfang.linkage.resolve import records
from renfang.people.idnumbers import with_check_digit

WOMAN = "11010519491231002X"  # GB 11643's own example


def test_old_15_digit_numbers_become_18_with_their_check_character() -> None:
    key = id_key("resident_id", "110105491231002")

    assert key.number == WOMAN
    assert key.valid
    assert key.kind == "resident_id"


@pytest.mark.parametrize(
    "written",
    [
        WOMAN.lower(),
        " 110105 19491231 002X ",
        "１１０１０５１９４９１２３１００２Ｘ",
        "110105-19491231-002x",
    ],
)
def test_lowercase_x_full_width_digits_spaces_and_dashes_are_folded(written: str) -> None:
    assert id_key("resident_id", written).number == WOMAN
    assert id_key("resident_id", written).valid


def test_a_number_whose_type_is_unknown_is_read_as_a_resident_id_when_it_looks_like_one() -> None:
    assert id_key("", WOMAN).valid_resident_id
    assert id_key("", "E12345678") == id_key("", "e12345678")
    assert id_key("", "E12345678").kind == "other"


@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("110105194912310021", "wrong check character"),
        (with_check_digit("11010519491331002"), "month 13"),
        (with_check_digit("11010518001231002"), "born before 1880"),
        (with_check_digit(f"110105{timezone.localdate().year + 1}0101002"), "born in the future"),
        ("11010519491231002", "17 characters"),
    ],
)
def test_invalid_resident_ids_are_kept_but_not_valid(number: str, why: str) -> None:
    key = id_key("resident_id", number)

    assert not key.valid, why
    assert key.number == number
    assert key.kind == "resident_id"


def test_other_identifiers_are_compared_as_they_are_never_checked() -> None:
    key = id_key("other", " ss-0012 3x ")

    assert key == id_key("other", "SS00123X")
    assert key.valid
    assert not key.valid_resident_id
    assert id_key("passport", "E1234").kind == "passport"
    assert not id_key("resident_id", "").valid


@pytest.mark.parametrize(
    ("typed", "similarity"),
    [
        (WOMAN, IdSimilarity.EQUAL),
        ("110105194912310021", IdSimilarity.CHECK_DIGIT),
        ("11010519491230002X", IdSimilarity.BIRTH_DATE_PART),
        ("11010519491231003X", IdSimilarity.ONE_DIGIT),
        ("11001519491231002X", IdSimilarity.TRANSPOSED),
        ("31010419800101123X", IdSimilarity.DIFFERENT),
    ],
)
def test_id_similarity_names_the_typing_error(typed: str, similarity: IdSimilarity) -> None:
    assert id_similarity(WOMAN, typed) == similarity


def test_traditional_characters_and_full_width_letters_are_folded() -> None:
    assert name_keys("陳偉華").simplified == "陈伟华"
    assert name_keys("ＷＡＮＧ Ｗｅｉ").simplified == "wangwei"


def test_the_middle_dot_of_minority_names_and_spaces_do_not_matter() -> None:
    plain = name_keys("阿依古丽买买提")

    for written in (
        "阿依古丽·买买提",
        "阿依古丽•买买提",
        "阿依古丽・买买提",
        "阿依古丽.买买提",
        "阿依古丽 买买提",
    ):
        assert name_keys(written) == plain


def test_homophones_agree_on_pinyin_and_look_alikes_on_shape() -> None:
    assert name_keys("张伟").pinyin == name_keys("张玮").pinyin == "zhangwei"
    assert name_keys("张伟").simplified != name_keys("张玮").simplified
    assert name_keys("李己明").shape == name_keys("李已明").shape
    assert name_keys("李己明").pinyin != name_keys("李已明").pinyin


def test_near_homophones_agree_on_the_fuzzy_key() -> None:
    assert name_keys("张振").fuzzy == name_keys("赞镇").fuzzy  # zh/z
    assert name_keys("刘宁").fuzzy == name_keys("牛林").fuzzy  # l/n, -ng/-n


@pytest.mark.parametrize(
    ("name", "surname", "surname_pinyin"),
    [
        ("单雄信", "单", "shan"),
        ("曾国藩", "曾", "zeng"),
        ("解缙", "解", "xie"),
        ("仇英", "仇", "qiu"),
        ("朴槿惠", "朴", "piao"),
        ("区寄", "区", "ou"),
        ("查良镛", "查", "zha"),
        ("盖聂", "盖", "ge"),
        ("缪斯", "缪", "miao"),
        ("尉迟恭", "尉迟", "yuchi"),
        ("万俟卨", "万俟", "moqi"),
        ("欧阳娜娜", "欧阳", "ouyang"),
        ("王伟", "王", "wang"),
    ],
)
def test_surnames_are_read_as_surnames(name: str, surname: str, surname_pinyin: str) -> None:
    keys = name_keys(name)

    assert keys.surname == surname
    assert keys.surname_pinyin == surname_pinyin
    assert keys.pinyin.startswith(surname_pinyin)


def test_a_name_that_came_split_is_keyed_like_the_whole_name() -> None:
    assert name_keys("", "單", "雄信") == name_keys("单雄信")
    assert name_keys("", "欧阳", "娜娜").initials == "oynn"


@pytest.mark.parametrize(
    "written",
    ["+86 138 1234 5678", "0086-13812345678", "8613812345678", "138-1234-5678", "(138)12345678"],
)
def test_phone_prefixes_spaces_and_dashes_are_dropped(written: str) -> None:
    assert phone_key(written) == "13812345678"


def test_a_landline_keeps_its_area_code_and_a_stub_is_no_phone() -> None:
    assert phone_key("+86 21 6123 4567") == phone_key("021-61234567") == "02161234567"
    assert phone_key("123") == ""


NUMBERS = [
    ("resident_id", WOMAN),
    ("resident_id", WOMAN.lower()),
    ("resident_id", "110105491231002"),
    ("resident_id", "110105194912310021"),
    ("resident_id", with_check_digit("11010519491331002")),
    ("resident_id", with_check_digit("11010518001231002")),
    ("resident_id", "1101051949123100"),
    ("resident_id", "11010519491231002Y"),
    ("resident_id", " 110105 19491231 002X "),
    ("resident_id", "１１０１０５１９４９１２３１００２Ｘ"),
    ("", WOMAN),
    ("", "110105491231002"),
    ("", "E12345678"),
    ("other", "ss-0012 3x"),
    ("passport", "E1234"),
    ("resident_id", ""),
]


def test_the_sql_reading_of_id_numbers_agrees_with_id_key() -> None:
    con = duckdb.connect()
    rows = [
        (index, "s", None, "", id_type, number, *[None] * (len(records.FIELDS) - 2))
        for index, (id_type, number) in enumerate(NUMBERS)
    ]
    columns = ", ".join(f'"{c}"' for c in ("rid", "source", "person_id", "link_rule"))
    fields = ", ".join(f'"{f}" VARCHAR' for f in records.FIELDS)
    con.execute(
        f"CREATE TABLE src (rid BIGINT, source VARCHAR, person_id BIGINT, link_rule VARCHAR, "
        f"{fields})"
    )
    con.executemany(
        f"INSERT INTO src ({columns}, {', '.join(records.FIELDS)}) VALUES "
        f"({', '.join('?' for _ in range(4 + len(records.FIELDS)))})",
        rows,
    )

    records.build_keys(con, timezone.localdate())
    read = {
        row[0]: row[1:]
        for row in con.execute("SELECT unique_id, id_number, id_valid, id_kind FROM rec").fetchall()
    }

    for index, (id_type, number) in enumerate(NUMBERS):
        key = id_key(id_type, number)
        expected = (key.number or None, key.valid_resident_id, key.kind or None)
        assert read[index] == expected, (id_type, number)


@pytest.mark.parametrize(
    ("a", "b", "differs", "dropped"),
    [
        ("成飞鹏", "成飞鹏", False, False),
        ("成飞鹏", "成飞鸣", True, False),
        ("成飞鹏", "成飞", False, True),
        ("成飞鹏", "飞鹏", False, True),
        ("成飞鹏", "成鹏", False, True),
        ("张伟", "张强", True, False),
        ("阿依古丽买买提", "阿依古丽买买", False, True),
        ("成飞鹏", "赵钱孙", False, False),
    ],
)
def test_names_are_compared_by_character_not_by_byte(
    a: str, b: str, differs: bool, dropped: bool
) -> None:
    con = duckdb.connect()
    con.execute(records._MACROS)

    row = con.execute(
        "SELECT one_char_differs(?, ?), one_char_dropped(?, ?) OR one_char_dropped(?, ?)",
        [a, b, a, b, b, a],
    ).fetchall()[0]

    assert row == (differs, dropped)
