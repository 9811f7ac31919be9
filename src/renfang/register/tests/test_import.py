"""The register format in and out: good files, bad files, and files imported twice."""

from __future__ import annotations

import csv
import datetime
import gc
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from renfang.core.csvimport import ImportRejected
from renfang.houses.models import House
from renfang.people.idnumbers import with_check_digit
from renfang.people.models import Hukou, IdentityRevision, Person, PersonAttribute, Residence
from renfang.register.exporter import register_export
from renfang.register.importer import register_import
from renfang.stats.models import PopulationSpell

pytestmark = pytest.mark.django_db

COLUMNS = [
    "id_type",
    "id_number",
    "name",
    "sex",
    "birth_date",
    "nationality",
    "hukou_division",
    "hukou_type",
    "residence_division",
    "residence_house_code",
    "residence_from",
    "residence_to",
    "phone",
]
TODAY = datetime.date(2026, 6, 30)
ZHANG = with_check_digit("31010419800101123")  # male, born 1980-01-01
LI = with_check_digit("34012219900215002")  # female, born 1990-02-15, hukou in Anhui


@pytest.fixture
def reference(db: None) -> None:
    call_command("codes", "load", verbosity=0)
    call_command("areas", "load-builtin", verbosity=0)
    for code, committee in (
        ("310104003001000001", "310104003001"),
        ("310104004001000001", "310104004001"),
    ):
        House.objects.create(
            house_code=code,
            area_id=committee,
            road="天平路",
            number="1",
            address="天平路1号",
            kind="flat",
        )


def row(**values: str) -> dict[str, str]:
    base = {
        "id_type": "resident_id",
        "id_number": ZHANG,
        "name": "张伟",
        "sex": "1",
        "birth_date": "1980-01-01",
        "nationality": "CHN",
        "hukou_division": "310104003",
        "hukou_type": "family",
        "residence_division": "310104003001",
        "residence_house_code": "310104003001000001",
        "residence_from": "2015-03-01",
        "residence_to": "",
        "phone": "13812345678",
    }
    base.update(values)
    return base


def write(path: Path, rows: list[dict[str, str]], columns: list[str] = COLUMNS) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def li_rows() -> list[dict[str, str]]:
    li = {
        "id_number": LI,
        "name": "李娜",
        "sex": "2",
        "birth_date": "1990-02-15",
        "hukou_division": "340122",
        "hukou_type": "",
        "phone": "",
    }
    return [
        row(
            **li,
            residence_division="310104003001",
            residence_from="2018-05-01",
            residence_to="2020-12-31",
        ),
        row(
            **li,
            residence_division="310104004001",
            residence_house_code="310104004001000001",
            residence_from="2021-01-01",
        ),
    ]


def counts() -> tuple[int, int, int, int, int]:
    return (
        Person.objects.count(),
        Residence.all_versions.count(),
        Hukou.all_versions.count(),
        PersonAttribute.all_versions.count(),
        PopulationSpell.objects.count(),
    )


def test_import_records_people_spells_hukou_and_phone(reference: None, tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", [row(), *li_rows()])

    summary = register_import(path=path, today=TODAY)

    assert (summary.rows, summary.people_created) == (3, 2)
    zhang = Person.objects.get(id_number=ZHANG)
    assert (zhang.name, zhang.sex, zhang.birth_date) == ("张伟", "1", datetime.date(1980, 1, 1))
    house = zhang.residences.get().house
    assert house is not None and house.house_code == "310104003001000001"
    assert zhang.hukous.get().division == "310104003"
    assert zhang.attributes.get(kind="phone").value == "13812345678"
    li = Person.objects.get(id_number=LI)
    spells = list(li.residences.order_by("valid_from").values_list("division", "valid_to"))
    assert spells == [("310104003001", datetime.date(2020, 12, 31)), ("310104004001", None)]
    # Li's hukou stayed in Anhui over both contiguous spells: one hukou fact.
    assert list(li.hukous.values_list("division", "valid_from", "valid_to")) == [
        ("340122", datetime.date(2018, 5, 1), None)
    ]
    assert PopulationSpell.objects.filter(person=li).count() == 2


def test_old_15_digit_full_width_and_lowercase_numbers_are_normalised(
    reference: None, tmp_path: Path
) -> None:
    old = "310104800101123"  # the 15-digit form of ZHANG
    x_number = with_check_digit("11010519491231002")
    assert x_number.endswith("X")
    woman = {"sex": "2", "birth_date": "1949-12-31", "hukou_division": "110105", "name": "王芳"}
    path = write(
        tmp_path / "r.csv",
        [row(id_number=old), row(id_number="１" + x_number[1:].lower(), **woman)],
    )

    register_import(path=path, today=TODAY)

    assert set(Person.objects.values_list("id_number", flat=True)) == {ZHANG, x_number}


def test_importing_the_same_file_twice_changes_nothing(reference: None, tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", [row(), *li_rows()])
    register_import(path=path, today=TODAY)
    before = counts()
    recorded = sorted(Residence.objects.values_list("id", "recorded_at"))

    again = register_import(path=path, today=TODAY)

    assert (again.people_created, again.people_changed, again.people_unchanged) == (0, 0, 2)
    assert counts() == before
    assert sorted(Residence.objects.values_list("id", "recorded_at")) == recorded


def test_export_then_import_changes_nothing_and_keeps_every_row(
    reference: None, tmp_path: Path
) -> None:
    register_import(path=write(tmp_path / "r.csv", [row(), *li_rows()]), today=TODAY)
    before = counts()
    exported = tmp_path / "export.csv"

    assert register_export(path=exported) == 3
    again = register_import(path=exported, today=TODAY)

    assert again.people_unchanged == 2 and counts() == before
    with exported.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["residence_division"] for r in rows if r["id_number"] == LI] == [
        "310104003001",
        "310104004001",
    ]


def test_a_move_closes_the_old_spell_and_keeps_it_in_history(
    reference: None, tmp_path: Path
) -> None:
    register_import(path=write(tmp_path / "a.csv", [row()]), today=TODAY)
    moved = [
        row(residence_to="2025-12-31", phone=""),
        row(
            residence_division="310104004001",
            residence_house_code="310104004001000001",
            residence_from="2026-01-01",
            phone="+86 139 0000 1111",
        ),
    ]

    summary = register_import(path=write(tmp_path / "b.csv", moved), today=TODAY)

    assert summary.people_changed == 1
    zhang = Person.objects.get(id_number=ZHANG)
    current = list(zhang.residences.order_by("valid_from").values_list("division", "valid_to"))
    assert current == [("310104003001", datetime.date(2025, 12, 31)), ("310104004001", None)]
    retracted = Residence.all_versions.filter(person=zhang, retracted_at__isnull=False)
    assert list(retracted.values_list("valid_to", flat=True)) == [None]  # the open spell
    phones = list(
        PersonAttribute.objects.filter(person=zhang, kind="phone")
        .order_by("id")
        .values_list("value", "valid_to", "valid_from")
    )
    assert phones[0][0] == "13812345678" and phones[0][1] is not None
    assert phones[1] == ("13900001111", None, TODAY)
    assert PopulationSpell.objects.filter(person=zhang).count() == 2


def test_a_corrected_name_keeps_the_old_one(reference: None, tmp_path: Path) -> None:
    register_import(path=write(tmp_path / "a.csv", [row()]), today=TODAY)

    register_import(path=write(tmp_path / "b.csv", [row(name="张玮")]), today=TODAY)

    assert Person.objects.get(id_number=ZHANG).name == "张玮"
    revision = IdentityRevision.objects.get()
    assert (revision.field, revision.old_value, revision.new_value) == ("name", "张伟", "张玮")


def test_optional_columns_may_be_left_out(reference: None, tmp_path: Path) -> None:
    columns = [c for c in COLUMNS if c not in {"phone", "residence_house_code"}]
    path = write(tmp_path / "r.csv", [row(residence_division="")], columns=columns)

    register_import(path=path, today=TODAY)

    spell = Residence.objects.get()
    assert spell.division is None and spell.house is None  # whereabouts unknown
    assert not PersonAttribute.objects.exists()


def rejected(tmp_path: Path, rows: list[dict[str, str]], **kwargs: list[str]) -> list[str]:
    path = write(tmp_path / "bad.csv", rows, **kwargs)
    with pytest.raises(ImportRejected) as caught:
        register_import(path=path, today=TODAY)
    return [str(error) for error in caught.value.errors]


def test_a_birth_date_other_than_the_id_numbers_is_kept_and_counted(
    reference: None, tmp_path: Path
) -> None:
    """A corrected birth date (出生日期更正) keeps the ID number it was issued with: the
    register holds both, as the police register does, and an export imports again unchanged."""
    path = write(tmp_path / "r.csv", [row(birth_date="1980-01-02"), *li_rows()])

    summary = register_import(path=path)

    assert Person.objects.get(id_number=ZHANG).birth_date == datetime.date(1980, 1, 2)
    assert summary.birth_dates_differing == 1
    assert "1 rows with a birth date other than their ID number's" in summary.as_text()
    exported = register_export(path=tmp_path / "out.csv")
    again = register_import(path=tmp_path / "out.csv")
    assert exported == 3 and not again.changed_anything and again.people_unchanged == 2


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"id_number": ZHANG[:-1] + ("0" if ZHANG[-1] != "0" else "1")},
            "line 2, column id_number: check digit",
        ),
        ({"id_number": "31010419801301123X"}, "line 2, column id_number:"),
        ({"id_number": "123"}, "line 2, column id_number: an ID number has 18 characters"),
        ({"id_type": "driving_licence"}, "line 2, column id_type:"),
        ({"sex": "2"}, "line 2, column sex: sex 2 differs from 1"),
        ({"sex": "m"}, "line 2, column sex:"),
        ({"nationality": "XXX"}, "line 2, column nationality:"),
        ({"nationality": "USA"}, "line 2, column nationality: this ID number belongs to CHN"),
        ({"name": " "}, "line 2, column name: a name is required"),
        ({"hukou_division": "31x"}, "line 2, column hukou_division:"),
        ({"hukou_division": "999999"}, "line 2, column hukou_division: 999999 is not a county"),
        ({"hukou_type": "single"}, "line 2, column hukou_type:"),
        ({"residence_division": "310104999999"}, "line 2, column residence_division:"),
        ({"residence_house_code": "nope"}, "line 2, column residence_house_code: no house nope"),
        ({"residence_division": "310104004001"}, "line 2, column residence_house_code: house"),
        (
            {"residence_from": "2015-02-30"},
            "line 2, column residence_from: '2015-02-30' is not a date",
        ),
        ({"residence_from": ""}, "line 2, column residence_from: the first day is required"),
        ({"residence_to": "2014-01-01"}, "line 2, column residence_to: 2014-01-01 is before"),
        (
            {"residence_to": "2099-01-01"},
            "line 2, column residence_to: 2099-01-01 is in the future",
        ),
        (
            {"residence_from": "1979-01-01"},
            "line 2, column residence_from: 1979-01-01 is before the birth",
        ),
        ({"phone": "12345"}, "line 2, column phone:"),
    ],
)
def test_a_bad_field_is_named_with_its_line_and_nothing_is_saved(
    reference: None, tmp_path: Path, values: dict[str, str], expected: str
) -> None:
    errors = rejected(tmp_path, [row(**values), *li_rows()])

    assert any(error.startswith(expected) for error in errors), errors
    assert counts() == (0, 0, 0, 0, 0)
    assert gc.isenabled()  # off for the check (renfang.core.collector), on again after


def test_a_bad_value_repeated_on_several_rows_is_named_on_each(
    reference: None, tmp_path: Path
) -> None:
    """The checks remember what they have seen (a person's rows repeat their ID number, dates,
    divisions and phone); a remembered value never hides an error of a later row."""
    bad_id = ZHANG[:-1] + ("0" if ZHANG[-1] != "0" else "1")
    bad = {
        "hukou_division": "999999",
        "residence_to": "2099-01-01",
        "phone": "12345",
        "nationality": "USA",
    }
    errors = rejected(
        tmp_path,
        [
            row(id_number=bad_id),
            row(id_number=bad_id, residence_from="2016-01-01"),
            row(**bad),
            row(**bad),
            row(**bad, id_number=LI, name="李娜", sex="2", birth_date="1990-02-15"),
        ],
    )

    for line in (2, 3):
        assert any(e.startswith(f"line {line}, column id_number: check digit") for e in errors)
    for line in (4, 5, 6):
        for expected in (
            "column nationality: this ID number belongs to CHN, not USA",
            "column hukou_division: 999999 is not a county",
            "column residence_to: 2099-01-01 is in the future",
            "column phone: '12345' is not a phone number",
        ):
            assert any(e.startswith(f"line {line}, {expected}") for e in errors), (line, errors)


def test_rows_of_one_person_must_agree_and_not_overlap(reference: None, tmp_path: Path) -> None:
    errors = rejected(
        tmp_path,
        [
            row(residence_to="2019-12-31"),
            row(name="张三", residence_from="2020-01-01"),
            row(
                residence_from="2019-06-01",
                residence_to="2019-12-31",
                residence_division="",
                residence_house_code="",
            ),
        ],
    )

    assert "line 3, column name: 张三 differs from 张伟 on line 2 for the same person" in errors
    assert any(
        e.startswith("line 4, column residence_from: 2019-06-01 overlaps the spell on line 2")
        for e in errors
    )


def test_a_bad_file_leaves_the_register_as_it_was(reference: None, tmp_path: Path) -> None:
    register_import(path=write(tmp_path / "a.csv", [row()]), today=TODAY)
    before = counts()

    rejected(tmp_path, [row(residence_to="2025-12-31"), *li_rows(), row(id_number="1")])

    assert counts() == before
    assert Residence.objects.get().valid_to is None


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", "line 1, column -: the file is empty: a header row is required"),
        ("id_type,id_number\n", "line 1, column name: required column is missing"),
        (",".join([*COLUMNS, "shoe_size"]) + "\n", "line 1, column shoe_size: unknown column"),
        (",".join(COLUMNS) + "\n", "line 2, column -: the file has a header and no rows"),
        (
            ",".join(COLUMNS) + "\nresident_id,1,2\n",
            "line 2, column -: 3 fields, the header has 13",
        ),
    ],
)
def test_a_malformed_file_is_explained(
    reference: None, tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(ImportRejected) as caught:
        register_import(path=path, today=TODAY)

    assert expected in [str(error) for error in caught.value.errors]


def test_rows_are_numbered_as_before_around_blank_lines(reference: None, tmp_path: Path) -> None:
    """Blank lines are skipped and a row after them is named by its own line; a short row is
    counted as before."""
    header = ",".join(COLUMNS)
    good = ",".join(row()[column] for column in COLUMNS)
    bad = ",".join(row(sex="3", residence_from="2020-01-01")[column] for column in COLUMNS)
    path = tmp_path / "blank.csv"
    path.write_text(f"{header}\n{good}\n\n\n{bad}\nresident_id,1\n", encoding="utf-8")

    with pytest.raises(ImportRejected) as caught:
        register_import(path=path, today=TODAY)

    assert [str(error) for error in caught.value.errors] == [
        "line 5, column sex: '3' is not a GB/T 2261.1 sex code",
        "line 6, column -: 2 fields, the header has 13",
    ]


def test_a_file_that_is_not_utf8_is_refused(reference: None, tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes((",".join(COLUMNS) + "\n").encode() + "张伟".encode("gbk") + b"\n")

    with pytest.raises(ImportRejected, match="not UTF-8"):
        register_import(path=path, today=TODAY)


def test_the_command_reports_errors_and_results(reference: None, tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.csv", [row(sex="3")])
    with pytest.raises(
        CommandError, match=r"1 error\(s\) in .*nothing was saved.\nline 2, column sex"
    ):
        call_command("register", "import", str(bad), "--no-progress")
    good = write(tmp_path / "good.csv", [row(residence_from="2015-03-01")])
    out = tmp_path / "out.txt"
    with out.open("w") as stdout:
        call_command("register", "import", str(good), "--no-progress", stdout=stdout)
    assert "1 rows, 1 people: 1 new" in out.read_text()
    with pytest.raises(CommandError, match="no such file"):
        call_command("register", "import", str(tmp_path / "missing.csv"))


# ---------------------------------------------------------------- historic division codes


def born_1980(prefix: str, serial: str) -> str:
    """A man's resident ID born 1980-01-01 (``serial`` ends in an odd digit)."""
    return with_check_digit(f"{prefix}19800101{serial}")


def test_historic_county_codes_are_accepted_and_counted_by_city_and_successor(
    reference: None, tmp_path: Path
) -> None:
    from renfang.stats.selectors import area_figures  # noqa: PLC0415

    # Given hukous coded with GB/T 2260 codes of earlier revisions: 镇海县 330221 (Ningbo,
    # re-coded 1985), 嘉定县 310222 (Shanghai, re-coded 嘉定区 310114 in 1992) and 南市区
    # 310102 (Shanghai, merged into 黄浦区 in 2000: no single successor), all living in Xuhui.
    ningbo, jiading, nanshi = (
        born_1980("330221", "001"),
        born_1980("310222", "003"),
        born_1980("310102", "005"),
    )
    path = write(
        tmp_path / "r.csv",
        [
            row(id_number=ningbo, name="王一", hukou_division="330221"),
            row(id_number=jiading, name="王二", hukou_division="310222"),
            row(id_number=nanshi, name="王三", hukou_division="310102"),
        ],
    )

    # When the register is imported
    summary = register_import(path=path, today=TODAY)

    # Then every row is in; the city's re-coded county is recorded as its successor, the others
    # as given.
    assert summary.rows == 3
    assert Person.objects.get(id_number=ningbo).hukous.get().division == "330221"
    assert Person.objects.get(id_number=jiading).hukous.get().division == "310114"
    assert Person.objects.get(id_number=nanshi).hukous.get().division == "310102"
    # Xuhui counts the Ningbo hukou as a migrant, the two Shanghai hukous as registered
    # residents living in Xuhui with a hukou elsewhere in the city.
    xuhui = area_figures(area_code="310104", as_of=TODAY)
    assert xuhui["actual_population"] == {
        "total": 3,
        "registered": 2,
        "domestic_migrant": 1,
        "overseas": 0,
    }
    assert xuhui["hukou_status"]["living_here_registered_elsewhere"] == 2
    # Jiading counts the old 嘉定县 hukou as registered there, living elsewhere.
    jiading_figures = area_figures(area_code="310114", as_of=TODAY)
    assert jiading_figures["hukou_status"]["registered_here_living_elsewhere"] == 1
    assert jiading_figures["actual_population"]["total"] == 0
    # The city counts all three as living in it, two with a hukou of the city.
    city = area_figures(area_code="31", as_of=TODAY)
    assert (city["actual_population"]["registered"], city["hukou_status"]["consistent"]) == (2, 2)
    assert city["actual_population"]["domestic_migrant"] == 1


def test_historic_codes_imported_again_or_exported_and_imported_change_nothing(
    reference: None, tmp_path: Path
) -> None:
    rows = [
        row(id_number=born_1980("330221", "001"), name="王一", hukou_division="330221"),
        row(id_number=born_1980("310222", "003"), name="王二", hukou_division="310222"),
    ]
    path = write(tmp_path / "r.csv", rows)
    register_import(path=path, today=TODAY)
    before = counts()

    again = register_import(path=path, today=TODAY)
    exported = tmp_path / "export.csv"
    register_export(path=exported)
    after_export = register_import(path=exported, today=TODAY)

    assert again.people_unchanged == after_export.people_unchanged == 2  # noqa: PLR2004
    assert counts() == before
    with exported.open(encoding="utf-8") as handle:
        assert sorted(r["hukou_division"] for r in csv.DictReader(handle)) == ["310114", "330221"]


def test_a_historic_county_of_the_city_may_be_a_residence_when_it_has_a_successor(
    reference: None, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "r.csv",
        [row(residence_division="310222", residence_house_code="", hukou_division="310222")],
    )

    register_import(path=path, today=TODAY)

    assert Residence.objects.get().division == "310114"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"hukou_division": "319999"},
            "line 2, column hukou_division: 319999 is not a district of the city in any "
            "revision of GB/T 2260 since 1980",
        ),
        (
            {"hukou_division": "340199"},
            "line 2, column hukou_division: 340199 is not a county-level division in any "
            "revision of GB/T 2260 since 1980",
        ),
        (
            {"residence_division": "340199", "residence_house_code": ""},
            "line 2, column residence_division: 340199 is not a county-level division in any "
            "revision of GB/T 2260 since 1980",
        ),
        (
            {"residence_division": "310102", "residence_house_code": ""},
            "line 2, column residence_division: 310102 is not a loaded area of the city "
            "(a former district with no single successor)",
        ),
    ],
)
def test_a_code_of_no_revision_is_refused_with_line_field_and_reason(
    reference: None, tmp_path: Path, values: dict[str, str], expected: str
) -> None:
    errors = rejected(tmp_path, [row(**values)])

    assert expected in errors
    assert counts() == (0, 0, 0, 0, 0)
