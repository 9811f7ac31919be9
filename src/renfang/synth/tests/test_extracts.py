"""Department extracts of a synthetic district (``renfang synth --extracts``): files that differ
the way real department systems differ, the errors real records carry, and the truth."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import opencc  # type: ignore[import-untyped]
import pytest
from django.core.management import call_command

from renfang.people.idnumbers import upgrade_15
from renfang.sources.mapping import FileOptions
from renfang.sources.models import SourceRecord, UnmappedCode
from renfang.sources.readers import read_table
from renfang.sources.services import source_add, source_import
from renfang.synth.extracts.departments import DEPARTMENTS
from renfang.synth.extracts.noise import HOMOPHONES
from renfang.synth.management.commands.synth import generate

AS_OF = datetime.date(2025, 12, 31)
PEOPLE = 6000
DISTRICT = "310104"
FILE_OPTIONS = {  # how the tests open each file, independent of the mapping files
    "police": FileOptions(encoding="gb18030"),
    "hrss": FileOptions(encoding="gbk"),
    "civil_affairs": FileOptions(sheet="救助与登记对象"),
    "education": FileOptions(sheet="学籍信息"),
}
ID_COLUMN = {
    "police": "公民身份号码", "civil_affairs": "身份证号", "family_planning": "证件号码",
    "hrss": "证件号码", "health": "zjhm", "education": "身份证件号",
    "residence_permit": "公民身份号码",
}  # fmt: skip
NAME_COLUMN = {"hrss": "姓名", "health": "xm", "police": "姓名", "civil_affairs": "姓名",
               "family_planning": "姓名", "education": "姓名"}  # fmt: skip
PHONE_COLUMN = {"hrss": "手机号码", "health": "lxdh", "civil_affairs": "联系电话"}


@dataclass
class TruePerson:
    id_number: str
    name: str
    sex: str
    birth: str
    hukou: list[str]  # hukou divisions held, in order
    last_day: str  # last day of the last spell ("" while still here)

    def age(self) -> int:
        on = datetime.date.fromisoformat(self.last_day) if self.last_day else AS_OF
        born = datetime.date.fromisoformat(self.birth)
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


@dataclass
class Extracts:
    out: Path
    sources: list[list[str]]  # code, name, file, mapping
    truth: list[tuple[str, str, str]]
    rows: dict[str, list[dict[str, str]]]  # by source: the file's rows
    people: dict[str, TruePerson]  # by person_key
    noise: Counter[str]


def register_people(path: Path) -> dict[str, TruePerson]:
    people: dict[str, TruePerson] = {}
    previous: tuple[str, str] | None = None
    with path.open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            key = (row["id_type"], row["id_number"])
            if key != previous:
                person = TruePerson(
                    row["id_number"], row["name"], row["sex"], row["birth_date"], [], ""
                )
                people[f"P{len(people) + 1:08d}"] = person
                previous = key
            if row["hukou_division"] not in person.hukou:
                person.hukou.append(row["hukou_division"])
            person.last_day = row["residence_to"]
    return people


def file_rows(path: Path, code: str) -> list[dict[str, str]]:
    with read_table(path, FILE_OPTIONS.get(code, FileOptions()), needed=[]) as table:
        return [row for _line, row in table.rows]


def read_extracts(out: Path) -> Extracts:
    extracts = out / "extracts"
    sources = [line.split("\t") for line in (extracts / "sources.txt").read_text().splitlines()]
    with (extracts / "truth.csv").open(encoding="utf-8", newline="") as file:
        truth = [tuple(row) for row in list(csv.reader(file))[1:]]
    noise: Counter[str] = Counter()
    with (extracts / "noise.csv").open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            noise.update(row["kinds"].split())
    return Extracts(
        out=out,
        sources=sources,
        truth=truth,  # type: ignore[arg-type]
        rows={code: file_rows(extracts / name, code) for code, _n, name, _m in sources},
        people=register_people(out / "register.csv"),
        noise=noise,
    )


@pytest.fixture(scope="module")
def extracts(tmp_path_factory: pytest.TempPathFactory) -> Extracts:
    out = tmp_path_factory.mktemp("extracts")
    generate(people=PEOPLE, seed=11, out=out, as_of=AS_OF, extracts=True)
    return read_extracts(out)


def records_of(extracts: Extracts) -> dict[tuple[str, str], dict[str, str]]:
    """Every record by (source, record id): the record id is each file's first column."""
    found: dict[tuple[str, str], dict[str, str]] = {}
    for code, rows in extracts.rows.items():
        first = next(department for department in DEPARTMENTS if department.code == code)
        for row in rows:
            found[(code, row[first.columns[0]])] = row
    return found


# -- the files ----------------------------------------------------------------------------


def test_same_seed_gives_the_same_extracts_byte_for_byte(tmp_path: Path) -> None:
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        (tmp_path / name).mkdir()
        generate(people=700, seed=seed, out=(tmp_path / name), as_of=AS_OF, extracts=True)
    files = sorted(path.name for path in (tmp_path / "a" / "extracts").iterdir())
    assert "truth.csv" in files and "sources.txt" in files
    for name in files:
        if (tmp_path / "a" / "extracts" / name).is_file():
            first = (tmp_path / "a" / "extracts" / name).read_bytes()
            assert first == (tmp_path / "b" / "extracts" / name).read_bytes(), name
    assert (tmp_path / "a" / "extracts" / "health.jsonl").read_bytes() != (
        tmp_path / "c" / "extracts" / "health.jsonl"
    ).read_bytes()
    assert not list((tmp_path / "a").glob("*.partial")), "no temporary file is left behind"


def test_at_least_six_departments_each_in_its_own_shape(extracts: Extracts) -> None:
    codes = [code for code, *_rest in extracts.sources]
    assert len(codes) >= 6
    assert {"police", "civil_affairs", "family_planning", "hrss", "health", "education",
            "residence_permit"} <= set(codes)  # fmt: skip
    directory = extracts.out / "extracts"
    raw = {code: (directory / name).read_bytes() for code, _n, name, _m in extracts.sources}
    for _code, _name, _file, mapping in extracts.sources:
        assert (directory / mapping).read_text(encoding="utf-8").startswith("#")
    # Encodings: GB 18030 and GBK (not UTF-8), UTF-8 with and without a BOM, JSON Lines, XLSX.
    for code in ("police", "hrss"):
        with pytest.raises(UnicodeDecodeError):
            raw[code].decode("utf-8")
    assert raw["police"].decode("gb18030").startswith("人员编号")
    assert raw["hrss"].decode("gbk").startswith("个人编号")
    assert raw["family_planning"].startswith(b"\xef\xbb\xbf")
    assert not raw["residence_permit"].startswith(b"\xef\xbb\xbf")
    first_line = raw["health"].decode("utf-8").splitlines()[0]
    assert isinstance(json.loads(first_line), dict)
    assert raw["education"][:2] == raw["civil_affairs"][:2] == b"PK"
    # Own column names: no two departments share a header.
    headers = [tuple(rows[0]) for rows in extracts.rows.values()]
    assert len(set(headers)) == len(headers)
    # Own codes for sex.
    sexes = {code: {row.get(column, "") for row in extracts.rows[code]} for code, column in (
        ("police", "性别"), ("civil_affairs", "性别"), ("health", "xb"),
        ("residence_permit", "性别"),
    )}  # fmt: skip
    assert {"1", "2"} <= sexes["police"]
    assert {"男", "女"} <= sexes["civil_affairs"]
    assert {"M", "F"} <= sexes["health"]
    assert {"男性", "女性"} <= sexes["residence_permit"]
    # Dates in other formats.
    assert re.fullmatch(r"\d{8}", extracts.rows["police"][0]["出生日期"])
    assert re.fullmatch(r"\d{4}年\d{1,2}月\d{1,2}日", extracts.rows["civil_affairs"][0]["出生日期"])
    assert re.fullmatch(r"\d{4}/\d{1,2}/\d{1,2}", extracts.rows["family_planning"][0]["出生日期"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", extracts.rows["education"][0]["出生日期"])


def test_truth_names_every_record_once_and_a_real_person(extracts: Extracts) -> None:
    records = records_of(extracts)
    truth = {(source, record_id): person for source, record_id, person in extracts.truth}
    assert len(truth) == len(extracts.truth), "a record is in truth.csv once"
    assert set(truth) == set(records)
    assert set(truth.values()) <= set(extracts.people)
    for code, rows in extracts.rows.items():
        assert len(rows) == sum(1 for source, _r, _p in extracts.truth if source == code)


def test_the_command_says_how_many_distinct_people_the_extracts_hold(tmp_path: Path) -> None:
    stdout = io.StringIO()
    call_command(
        "synth", "--people", "400", "--seed", "2", "--out", str(tmp_path), "--extracts",
        verbosity=0, stdout=stdout,
    )  # fmt: skip
    output = stdout.getvalue()
    with (tmp_path / "extracts" / "truth.csv").open(encoding="utf-8") as file:
        persons = {row["person_key"] for row in csv.DictReader(file)}
    assert f"of {len(persons):,} distinct people" in output
    assert "police" in output and "health" in output
    assert not (tmp_path / ".households.partial").exists()


# -- who each department knows ------------------------------------------------------------


def people_of(extracts: Extracts, code: str) -> list[TruePerson]:
    return [extracts.people[person] for source, _r, person in extracts.truth if source == code]


def test_each_department_knows_its_own_people(extracts: Extracts) -> None:
    for person in people_of(extracts, "police"):
        assert any(division.startswith(DISTRICT) for division in person.hukou)
    for person in people_of(extracts, "residence_permit"):
        assert not person.hukou[-1].startswith("31") and person.age() >= 16
    for person in people_of(extracts, "education"):
        assert 3 <= person.age() <= 18
    for person in people_of(extracts, "family_planning"):
        assert (person.sex == "2" and 15 <= person.age() <= 49) or person.age() < 6
    for person in people_of(extracts, "hrss"):
        assert person.age() >= 16
    for person in people_of(extracts, "civil_affairs"):
        assert person.id_number and person.hukou  # citizens only
    # Health knows most people living in the district on the as-of date.
    living = {key for key, person in extracts.people.items() if not person.last_day}
    in_health = {person for source, _r, person in extracts.truth if source == "health"}
    assert len(in_health & living) > 0.6 * len(living)


def test_some_people_are_recorded_twice_in_one_source(extracts: Extracts) -> None:
    counts = Counter((source, person) for source, _r, person in extracts.truth)
    twice = Counter(source for (source, _p), count in counts.items() if count > 1)
    assert twice["health"] > 0 and twice["residence_permit"] > 0
    assert sum(twice.values()) > 0.005 * len(extracts.truth)


# -- the errors ---------------------------------------------------------------------------


def id_errors(extracts: Extracts) -> Counter[str]:
    """Kinds of ID errors found by comparing each record's ID with its person's."""
    truth = {(source, record_id): person for source, record_id, person in extracts.truth}
    by_number = {person.id_number: key for key, person in extracts.people.items()}
    found: Counter[str] = Counter()
    for (source, record_id), row in records_of(extracts).items():
        if source not in ID_COLUMN or row.get("证件类型") == "99" or row.get("zjlx") == "99":
            continue
        key = truth[(source, record_id)]
        true = extracts.people[key].id_number
        written = row.get(ID_COLUMN[source], "")
        folded = unicodedata.normalize("NFKC", written).replace(" ", "").upper()
        if not written:
            found["missing"] += 1
        elif any("０" <= char <= "９" for char in written):
            found["full_width"] += 1
        elif written.endswith("x"):
            found["lowercase_x"] += 1
        if len(folded) == 15 and folded.isdigit() and upgrade_15(folded) == true:
            found["old_15"] += 1
            continue
        if not folded or folded == true:
            continue
        if folded in by_number and by_number[folded] != key:
            found["family_member"] += 1
        elif len(folded) == 18:
            differ = [i for i in range(18) if folded[i] != true[i]]
            if differ == [17]:
                found["check_digit"] += 1
            elif len(differ) == 1:
                found["wrong_digit"] += 1
            elif len(differ) == 2 and differ[1] == differ[0] + 1:
                found["swapped"] += 1
    return found


def test_id_numbers_carry_the_errors_clerks_make(extracts: Extracts) -> None:
    found = id_errors(extracts)
    for kind in ("missing", "full_width", "lowercase_x", "old_15", "family_member",
                 "check_digit", "wrong_digit", "swapped"):  # fmt: skip
        assert found[kind] > 0, kind
    # Rare, as in real data: a few in a hundred records at most.
    assert found["missing"] < 0.05 * len(extracts.truth)


def test_names_carry_homophones_traditional_characters_and_lost_dots(extracts: Extracts) -> None:
    to_simplified = opencc.OpenCC("t2s")
    truth = {(source, record_id): person for source, record_id, person in extracts.truth}
    found: Counter[str] = Counter()
    for (source, record_id), row in records_of(extracts).items():
        true = extracts.people[truth[(source, record_id)]].name
        if source == "residence_permit":
            name = row.get("姓", "") + row.get("名", "")
        else:
            name = row.get(NAME_COLUMN[source], "")
        if name == true:
            continue
        if "·" in true and name == true.replace("·", ""):
            found["dot_dropped"] += 1
        elif to_simplified.convert(name) == true:
            found["traditional"] += 1
        elif len(name) == len(true):
            differ = [(a, b) for a, b in zip(name, true, strict=True) if a != b]
            if len(differ) == 1 and differ[0][0] in HOMOPHONES.get(differ[0][1], ""):
                found["homophone"] += 1
    assert found["homophone"] > 0
    assert found["traditional"] > 0
    assert found["dot_dropped"] > 0
    assert sum(found.values()) < 0.05 * len(extracts.truth)


def test_phones_addresses_and_codes_go_astray(extracts: Extracts) -> None:
    phones = [row.get(column, "") for code, column in PHONE_COLUMN.items()
              for row in extracts.rows[code]]  # fmt: skip
    assert any(phone.startswith("+86") for phone in phones)
    assert any(" " in phone for phone in phones)
    for kind in ("stale_address", "old_division", "unmapped_code", "birth_day_month_swapped",
                 "other_identifier"):  # fmt: skip
        assert extracts.noise[kind] > 0, kind
    hrss_types = Counter(row["证件类型"] for row in extracts.rows["hrss"])
    assert hrss_types["99"] > 0  # the social security card number as the identifier


# -- read with their mappings -------------------------------------------------------------


@pytest.mark.django_db
def test_every_extract_imports_with_its_mapping(extracts: Extracts) -> None:
    directory = extracts.out / "extracts"
    truth: dict[tuple[str, str], str] = {
        (source, record_id): person for source, record_id, person in extracts.truth
    }
    for code, name, file_name, mapping in extracts.sources:
        source = source_add(code, name, (directory / mapping).read_text("utf-8"), actor=None)
        done = source_import(source, directory / file_name, actor=None)
        rows = len(extracts.rows[code])
        assert (done.status, done.records, done.new) == ("done", rows, rows), code
        assert done.flagged < 0.01 * rows, (code, done.report.get("problems_by_field"))
    assert UnmappedCode.objects.exists()
    records = SourceRecord.objects.select_related("source")
    linked = defaultdict(set)
    for record in records:
        person = truth[(record.source.code, record.record_id)]
        linked[person].add(record.source.code)
        mapped = record.mapped
        assert mapped.get("name"), (record.source.code, record.record_id)
        if record.source.code == "hrss" and mapped.get("id_type") == "other":
            assert len(mapped["id_number"]) == 10
    assert SourceRecord.objects.filter(mapped__id_type="other").exists()
    # Mapped ID numbers are folded: a 15-digit number arrives as the person's 18-digit one.
    for (code, record_id), row in records_of(extracts).items():
        written = row.get(ID_COLUMN[code], "")
        if len(written) == 15 and written.isdigit():
            record = SourceRecord.objects.get(source__code=code, record_id=record_id)
            assert record.mapped["id_number"] == upgrade_15(written)
            break
    else:
        pytest.fail("no 15-digit ID number in the extracts")
    assert max(len(sources) for sources in linked.values()) >= 4
