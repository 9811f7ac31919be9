"""A synthetic district is believable: what a user loading it would notice."""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from renfang.people.categories import Category, HukouStatus, category, hukou_status
from renfang.people.idnumbers import parse_resident_id
from renfang.synth.tests.conftest import AS_OF, PEOPLE, District, on

CODES = Path(__file__).resolve().parents[2] / "codes" / "data"
DIVISIONS = Path(__file__).resolve().parents[2] / "areas" / "data" / "china_divisions.csv"
XUHUI = "310104"
AS_OF_TEXT = AS_OF.isoformat()
MOBILE = re.compile(r"^1[3-9]\d{9}$")


def codes(name: str) -> set[str]:
    with (CODES / f"{name}.csv").open(encoding="utf-8") as file:
        return {row["code"] for row in csv.DictReader(file)}


def counties() -> set[str]:
    with DIVISIONS.open(encoding="utf-8") as file:
        return {row["code"] for row in csv.DictReader(file)}


def test_the_file_holds_exactly_the_people_asked_for(district: District) -> None:
    assert len(district.people) == PEOPLE


def test_areas_are_xuhui_with_its_real_streets_and_committees(district: District) -> None:
    levels = Counter(area["level"] for area in district.areas)
    assert levels == {"city": 1, "district": 1, "street": 14, "committee": 313}
    codes_seen = {area["code"] for area in district.areas}
    assert all(area["parent_code"] in codes_seen for area in district.areas[1:])
    names = {area["code"]: area["name"] for area in district.areas}
    assert names["310104"] == "徐汇区"
    assert names["310104003001"] == "上海新村居委会"


def test_every_resident_id_is_valid_and_agrees_with_birth_date_and_sex(
    district: District,
) -> None:
    checked = 0
    for (id_type, number), rows in district.people.items():
        if id_type != "resident_id":
            continue
        parsed = parse_resident_id(number)
        assert parsed.number == number
        assert parsed.birth_date.isoformat() == rows[0]["birth_date"]
        assert parsed.sex == rows[0]["sex"]
        checked += 1
    assert checked > PEOPLE * 0.9


def test_id_region_is_the_hukou_county(district: District) -> None:
    known = counties()
    for (id_type, number), rows in district.people.items():
        hukous = {row["hukou_division"] for row in rows}
        if id_type == "resident_id" and len(hukous) == 1:
            assert number[:6] == rows[0]["hukou_division"][:6]
            assert number[:6] in known


def test_people_never_share_an_identity_and_repeat_it_on_every_row(district: District) -> None:
    seen_numbers: set[str] = set()
    for (_id_type, number), rows in district.people.items():
        identity = {(r["name"], r["sex"], r["birth_date"], r["nationality"]) for r in rows}
        assert len(identity) == 1
        assert number not in seen_numbers
        seen_numbers.add(number)
    # Rows of one person stand together in the file.
    numbers = [row["id_number"] for row in district.register]
    changes = sum(1 for before, after in zip(numbers, numbers[1:], strict=False) if before != after)
    assert changes + 1 == len(district.people)


def test_spells_are_in_date_order_and_never_overlap(district: District) -> None:
    for rows in district.people.values():
        for row in rows:
            assert row["birth_date"] <= row["residence_from"] <= AS_OF_TEXT
            assert not row["residence_to"] or row["residence_from"] <= row["residence_to"]
            assert row["residence_to"] <= AS_OF_TEXT
        for before, after in zip(rows, rows[1:], strict=False):
            assert before["residence_to"], "only the last spell may be open"
            assert before["residence_to"] < after["residence_from"]


def test_houses_in_the_register_exist_and_lie_in_the_residence_committee(
    district: District,
) -> None:
    used = 0
    for row in district.register:
        code = row["residence_house_code"]
        if not row["residence_division"]:
            assert not code, "no house when whereabouts are unknown"
        if code:
            house = district.houses[code]
            assert row["residence_division"] == house["area_code"][:12]
            assert code.startswith(row["residence_division"])
            used += 1
    assert used > len(district.register) / 2


def test_houses_are_well_formed(district: District) -> None:
    kinds, uses = codes("house_kind"), codes("house_use")
    committees = {a["code"] for a in district.areas if a["level"] == "committee"}
    for code, house in district.houses.items():
        assert re.fullmatch(r"\d{18}", code)
        assert house["area_code"] in committees
        assert house["road"]
        assert house["kind"] in kinds
        assert house["use"] in uses
        assert 31.12 <= float(house["latitude"]) <= 31.22
        assert 121.40 <= float(house["longitude"]) <= 121.48
        assert float(house["floor_area"]) > 5
    ratio = sum(1 for rows in district.people.values() if _lives_here(rows)) / len(district.houses)
    assert 1.8 < ratio < 2.6, "about one house per 2.2 residents"


def _lives_here(rows: list[dict[str, str]]) -> bool:
    row = on(rows, AS_OF_TEXT)
    return row is not None and row["residence_division"].startswith(XUHUI)


def test_house_use_agrees_with_who_lives_there(district: District) -> None:
    residents: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for (id_type, number), rows in district.people.items():
        row = on(rows, AS_OF_TEXT)
        if row and row["residence_house_code"]:
            residents[row["residence_house_code"]].append((id_type, number))
    for code, house in district.houses.items():
        if house["use"] == "vacant":
            assert code not in residents
        elif house["use"] != "shop_workplace":
            assert code in residents, f"{code} is {house['use']} but nobody lives there"
    group = [len(residents[c]) for c, h in district.houses.items() if h["use"] == "group_rental"]
    assert group and max(group) > 3, "a group rental has many people in one house"
    rooms = [len(residents[c]) for c, h in district.houses.items() if h["kind"] == "room"]
    assert rooms and max(rooms) <= 4


def test_families_share_a_house_a_surname_and_sometimes_a_phone(district: District) -> None:
    by_house: dict[str, list[dict[str, str]]] = defaultdict(list)
    for rows in district.people.values():
        row = on(rows, AS_OF_TEXT)
        if row and row["residence_house_code"]:
            by_house[row["residence_house_code"]].append(row)
    flats = ("owner_occupied", "rented_whole")
    households = [rows for code, rows in by_house.items() if district.houses[code]["use"] in flats]
    sizes = Counter(min(len(rows), 5) for rows in households)
    assert sizes[1] and sizes[2] and sizes[3] and sizes[4]
    families = [rows for rows in households if len(rows) > 1]
    shared_surname = sum(1 for rows in families if len({r["name"][0] for r in rows}) < len(rows))
    assert shared_surname > len(families) * 0.5
    phones = [[r["phone"] for r in rows if r["phone"]] for rows in families]
    assert any(len(set(numbers)) < len(numbers) for numbers in phones)


def test_names_documents_and_phones_look_real(district: District) -> None:
    firsts = [rows[0] for rows in district.people.values()]
    nationalities = codes("nationality")
    id_types = Counter(row["id_type"] for row in firsts)
    # Every identity document; "other" is a department's own identifier, no one's document.
    assert set(id_types) == codes("id_type") - {"other"}
    for row in firsts:
        assert row["nationality"] in nationalities
        assert row["sex"] in ("1", "2")
        assert not row["phone"] or MOBILE.match(row["phone"])
        if row["id_type"] == "hk_mo_permit":
            assert re.fullmatch(r"[HM]\d{8}", row["id_number"])
            assert row["nationality"] in ("HKG", "MAC")
        if row["id_type"] == "tw_permit":
            assert re.fullmatch(r"\d{8}", row["id_number"])
            assert row["nationality"] == "TWN"
        if row["id_type"] in ("passport", "foreign_pr"):
            assert re.fullmatch(r"[A-Za-zÀ-ÿ' .-]+", row["name"]), row["name"]
    han = [r["name"] for r in firsts if r["id_type"] == "resident_id" and "·" not in r["name"]]
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,4}", name) for name in han)
    assert any("·" in row["name"] for row in firsts), "minority names like 阿依古丽·买买提"
    assert 0.02 < sum(1 for r in firsts if not r["phone"]) / len(firsts) < 0.3
    surnames = Counter(name[0] for name in han)
    assert surnames.most_common(1)[0][1] < len(han) * 0.15, "many surnames, weighted"


def test_hukou_divisions_and_types(district: District) -> None:
    known = counties()
    for row in district.register:
        division, hukou_type = row["hukou_division"], row["hukou_type"]
        if row["nationality"] != "CHN":
            assert division == hukou_type == ""
        elif division.startswith("31"):
            assert len(division) in (9, 12)
            assert hukou_type in ("family", "collective")
        else:
            assert division in known
    types = Counter(row["hukou_type"] for row in district.register if row["hukou_type"])
    assert types["family"] > 10 * types["collective"] > 0


def figures(district: District, day: str, area: str = XUHUI) -> Counter[str]:
    """Categories and hukou status on ``day``, derived as DOMAIN.md defines them."""
    counts: Counter[str] = Counter()
    for rows in district.people.values():
        row = on(rows, day)
        if row is None:
            continue
        kind = category(
            id_type=row["id_type"],
            nationality=row["nationality"],
            hukou_division=row["hukou_division"] or None,
        )
        if row["residence_division"].startswith(area):
            counts["actual"] += 1
            counts[kind] += 1
        status = hukou_status(
            area_code=area,
            overseas=kind is Category.OVERSEAS,
            hukou_division=row["hukou_division"] or None,
            residence_division=row["residence_division"] or None,
        )
        if status:
            counts[status] += 1
    return counts


def test_category_mix_is_seed_000s_xuhui(district: District) -> None:
    counts = figures(district, AS_OF_TEXT)
    actual = counts["actual"]
    assert counts[Category.REGISTERED] / actual == pytest.approx(0.712, abs=0.01)
    assert counts[Category.DOMESTIC_MIGRANT] / actual == pytest.approx(0.265, abs=0.01)
    assert counts[Category.OVERSEAS] / actual == pytest.approx(0.023, abs=0.005)
    consistent = counts[HukouStatus.CONSISTENT]
    assert consistent / counts[Category.REGISTERED] == pytest.approx(0.70, abs=0.02)
    registered_population = (
        consistent
        + counts[HukouStatus.REGISTERED_HERE_LIVING_ELSEWHERE]
        + counts[HukouStatus.REGISTERED_HERE_WHEREABOUTS_UNKNOWN]
    )
    living_elsewhere = counts[HukouStatus.REGISTERED_HERE_LIVING_ELSEWHERE]
    unknown = counts[HukouStatus.REGISTERED_HERE_WHEREABOUTS_UNKNOWN]
    assert living_elsewhere / registered_population == pytest.approx(0.39, abs=0.02)
    assert unknown / registered_population == pytest.approx(0.04, abs=0.01)


def test_people_registered_here_live_in_other_districts_streets(district: District) -> None:
    for rows in district.people.values():
        row = on(rows, AS_OF_TEXT)
        if row and row["hukou_division"].startswith(XUHUI) and row["residence_division"]:
            if not row["residence_division"].startswith(XUHUI):
                assert len(row["residence_division"]) == 9
                assert row["residence_division"].startswith("31")
                assert not row["residence_house_code"]


def test_streets_see_people_separated_whom_the_district_counts_consistent(
    district: District,
) -> None:
    """Hukou in one street of Xuhui, living in another: consistent for the district."""
    crossing = 0
    for rows in district.people.values():
        row = on(rows, AS_OF_TEXT)
        if (
            row
            and row["hukou_division"].startswith(XUHUI)
            and row["residence_division"].startswith(XUHUI)
        ):
            crossing += row["hukou_division"][:9] != row["residence_division"][:9]
    assert crossing > 10
