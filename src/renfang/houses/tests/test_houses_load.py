"""Loading houses.csv: houses and their use over time, idempotence, bad files."""

from __future__ import annotations

import datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from renfang.areas.models import Area, AreaLevel
from renfang.codes.models import Code
from renfang.core.csvimport import ImportRejected
from renfang.houses import services
from renfang.houses.models import House, HouseUse
from renfang.houses.services import houses_load

pytestmark = pytest.mark.django_db

HEADER = (
    "house_code,area_code,road,number,building,unit,room,kind,use,use_from,"
    "floor_area,rooms,latitude,longitude\n"
)
ROWS = (
    "310104003001000001,310104003001,漕溪北路,18,3,2,501,flat,owner_occupied,2015-06-01,"
    "85.5,3,31.191234,121.437654\n"
    "310104003001000002,310104003001,漕溪北路,18弄,3号楼,,502,room,rented_by_room,,12,1,,\n"
    "310104003001000003,310104003001,天钥桥路,100,,,,shop,,,,,,\n"
)


@pytest.fixture(autouse=True)
def committee():
    city = Area.objects.create(code="31", name="上海市", level=AreaLevel.CITY)
    district = Area.objects.create(
        code="310104", name="徐汇区", parent=city, level=AreaLevel.DISTRICT
    )
    street = Area.objects.create(
        code="310104003", name="天平路街道", parent=district, level=AreaLevel.STREET
    )
    return Area.objects.create(
        code="310104003001", name="上海新村居委会", parent=street, level=AreaLevel.COMMITTEE
    )


def write(directory: Path, text: str, name: str = "houses.csv") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def snapshot() -> tuple[list[Any], list[Any]]:
    return (
        list(House.objects.order_by("id").values()),
        list(HouseUse.all_versions.order_by("id").values()),
    )


def uses_of(house_code: str) -> list[tuple[str, datetime.date | None, datetime.date | None]]:
    return list(
        HouseUse.objects.filter(house__house_code=house_code)
        .order_by("id")
        .values_list("use", "valid_from", "valid_to")
    )


def test_houses_are_loaded_with_a_standard_address_and_their_use(tmp_path):
    result = houses_load(path=write(tmp_path, HEADER + ROWS))

    assert (result.created, result.updated, result.unchanged, result.uses_opened) == (3, 0, 0, 2)
    first = House.objects.get(house_code="310104003001000001")
    assert first.address == "漕溪北路18号3幢2单元501室"
    assert first.area_id == "310104003001"
    assert first.kind == "flat"
    assert (first.floor_area, first.rooms) == (Decimal("85.50"), 3)
    assert (first.latitude, first.longitude) == (Decimal("31.191234"), Decimal("121.437654"))
    assert uses_of("310104003001000001") == [("owner_occupied", datetime.date(2015, 6, 1), None)]
    second = House.objects.get(house_code="310104003001000002")
    assert second.address == "漕溪北路18弄3号楼502室"
    assert (second.latitude, second.longitude) == (None, None)
    assert uses_of("310104003001000002") == [("rented_by_room", None, None)]
    assert House.objects.get(house_code="310104003001000003").address == "天钥桥路100号"
    assert uses_of("310104003001000003") == []


def test_only_the_required_columns_are_needed(tmp_path):
    houses_load(
        path=write(tmp_path, "house_code,area_code,road,kind\nH1,310104003001,宛平南路,flat\n")
    )

    house = House.objects.get(house_code="H1")
    assert (house.address, house.number, house.floor_area) == ("宛平南路", "", None)


def test_loading_the_same_file_twice_changes_nothing(tmp_path):
    path = write(tmp_path, HEADER + ROWS)
    houses_load(path=path)
    before = snapshot()

    result = houses_load(path=path)

    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert (result.uses_opened, result.uses_closed) == (0, 0)
    assert snapshot() == before


def test_a_changed_use_closes_the_old_one_the_day_before_and_opens_the_new(tmp_path):
    houses_load(path=write(tmp_path, HEADER + ROWS))
    changed = ROWS.replace("owner_occupied,2015-06-01", "group_rental,2024-03-01")

    result = houses_load(path=write(tmp_path, HEADER + changed))

    assert (result.uses_opened, result.uses_closed, result.updated) == (1, 1, 0)
    assert uses_of("310104003001000001") == [
        ("owner_occupied", datetime.date(2015, 6, 1), datetime.date(2024, 2, 29)),
        ("group_rental", datetime.date(2024, 3, 1), None),
    ]
    # Loading the changed file again changes nothing more.
    before = snapshot()
    houses_load(path=write(tmp_path, HEADER + changed))
    assert snapshot() == before


def test_a_use_of_unknown_start_is_closed_by_a_new_use(tmp_path):
    houses_load(path=write(tmp_path, HEADER + ROWS))
    changed = ROWS.replace("rented_by_room,,", "vacant,2023-01-01,")

    houses_load(path=write(tmp_path, HEADER + changed))

    assert uses_of("310104003001000002") == [
        ("rented_by_room", None, datetime.date(2022, 12, 31)),
        ("vacant", datetime.date(2023, 1, 1), None),
    ]


def test_a_house_without_a_use_gets_its_first_use(tmp_path):
    houses_load(path=write(tmp_path, HEADER + ROWS))
    changed = ROWS.replace("shop,,,", "shop,shop_workplace,2020-05-01,")

    result = houses_load(path=write(tmp_path, HEADER + changed))

    assert (result.uses_opened, result.uses_closed) == (1, 0)
    assert uses_of("310104003001000003") == [("shop_workplace", datetime.date(2020, 5, 1), None)]


def test_an_empty_use_says_nothing_about_the_use(tmp_path):
    houses_load(path=write(tmp_path, HEADER + ROWS))
    no_use = ROWS.replace("owner_occupied,2015-06-01", ",")

    houses_load(path=write(tmp_path, HEADER + no_use))

    assert uses_of("310104003001000001") == [("owner_occupied", datetime.date(2015, 6, 1), None)]


def test_a_changed_use_without_its_date_is_refused(tmp_path):
    houses_load(path=write(tmp_path, HEADER + ROWS))
    before = snapshot()
    changed = ROWS.replace("owner_occupied,2015-06-01", "vacant,")

    with pytest.raises(ImportRejected, match="line 2, column use_from: the use changes"):
        houses_load(path=write(tmp_path, HEADER + changed))

    assert snapshot() == before


def test_a_new_use_that_begins_before_the_current_one_is_refused(tmp_path):
    houses_load(path=write(tmp_path, HEADER + ROWS))
    changed = ROWS.replace("owner_occupied,2015-06-01", "vacant,2015-06-01")

    with pytest.raises(ImportRejected, match="line 2, column use_from: 2015-06-01 is not after"):
        houses_load(path=write(tmp_path, HEADER + changed))


def test_a_new_use_must_begin_after_the_last_use_ended(tmp_path):
    houses_load(path=write(tmp_path, HEADER + ROWS))
    HouseUse.objects.filter(house__house_code="310104003001000001").update(
        valid_to=datetime.date(2020, 12, 31)
    )
    changed = ROWS.replace("owner_occupied,2015-06-01", "vacant,2020-06-01")

    with pytest.raises(ImportRejected, match="must be after 2020-12-31"):
        houses_load(path=write(tmp_path, HEADER + changed))

    houses_load(
        path=write(
            tmp_path, HEADER + ROWS.replace("owner_occupied,2015-06-01", "vacant,2021-01-01")
        )
    )
    assert uses_of("310104003001000001")[-1] == ("vacant", datetime.date(2021, 1, 1), None)


def test_other_changed_attributes_are_updated_and_the_address_follows(tmp_path):
    houses_load(path=write(tmp_path, HEADER + ROWS))
    changed = ROWS.replace("漕溪北路,18,3,2,501,flat", "漕溪北路,20,3,2,501,room").replace(
        "85.5,3", "90,2"
    )

    result = houses_load(path=write(tmp_path, HEADER + changed))

    assert (result.updated, result.unchanged) == (1, 2)
    house = House.objects.get(house_code="310104003001000001")
    assert (house.address, house.kind, house.floor_area, house.rooms) == (
        "漕溪北路20号3幢2单元501室",
        "room",
        Decimal("90.00"),
        2,
    )
    assert len(uses_of("310104003001000001")) == 1


def test_a_house_moved_to_another_area_is_updated(tmp_path, committee):
    Area.objects.create(
        code="310104003002", name="庆余居委会", parent=committee.parent, level=AreaLevel.COMMITTEE
    )
    houses_load(path=write(tmp_path, HEADER + ROWS))

    houses_load(
        path=write(
            tmp_path, HEADER + ROWS.replace(",310104003001,天钥桥路", ",310104003002,天钥桥路")
        )
    )

    assert House.objects.get(house_code="310104003001000003").area_id == "310104003002"


def test_a_column_the_file_lacks_leaves_the_field_alone(tmp_path):
    houses_load(path=write(tmp_path, HEADER + ROWS))

    result = houses_load(
        path=write(
            tmp_path,
            "house_code,area_code,road,kind\n310104003001000001,310104003001,漕溪北路,flat\n",
        )
    )

    assert result.unchanged == 1
    house = House.objects.get(house_code="310104003001000001")
    assert (house.number, house.floor_area) == ("18", Decimal("85.50"))


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        (
            ",310104003001,漕溪北路,18,",
            ",310104003999,漕溪北路,18,",
            "column area_code: '310104003999' is not a loaded area",
        ),
        (",flat,", ",villa,", "column kind: 'villa' is not in code set house_kind"),
        ("owner_occupied", "rented", "column use: 'rented' is not in code set house_use"),
        ("2015-06-01", "2015-02-30", "column use_from: '2015-02-30' is not a date YYYY-MM-DD"),
        ("2015-06-01", "2015/06/01", "column use_from: '2015/06/01' is not a date"),
        ("2015-06-01", "20150601", "column use_from: '20150601' is not a date"),
        ("owner_occupied,2015-06-01", ",2015-06-01", "column use_from: a use_from needs a use"),
        ("85.5,3", "85.5平米,3", "column floor_area: '85.5平米' is not a number"),
        ("85.5,3", "-1,3", "column floor_area: -1 is not between 0"),
        ("85.5,3", "85.5,three", "column rooms: 'three' is not a number of rooms"),
        ("85.5,3", "85.5,-1", "column rooms: '-1' is not a number of rooms"),
        ("31.191234", "91.5", "column latitude: 91.5 is not between -90 and 90"),
        ("121.437654", "NaN", "column longitude: NaN is not between"),
        ("漕溪北路,18,3", ",18,3", "column road: must not be empty"),
        ("310104003001000001,", ",", "column house_code: must not be empty"),
        ("310104003001000001,", "3101 04,", "column house_code: '3101 04' contains spaces"),
        ("501,flat", "501,flat,extra", "column -: expected 14 fields, found 15"),
    ],
)
def test_a_bad_row_is_refused_naming_line_column_and_reason(tmp_path, replace, by, expected):
    rows = ROWS.splitlines(keepends=True)
    bad = HEADER + rows[1] + rows[0].replace(replace, by, 1) + rows[2]

    with pytest.raises(ImportRejected) as rejected:
        houses_load(path=write(tmp_path, bad))

    assert f"line 3, {expected}" in str(rejected.value)
    assert "houses.csv" in str(rejected.value)
    assert not House.objects.exists()  # all or nothing
    assert not HouseUse.all_versions.exists()


def test_a_house_code_given_twice_is_refused(tmp_path):
    rows = ROWS.splitlines(keepends=True)

    with pytest.raises(
        ImportRejected,
        match="line 5, column house_code: 310104003001000001 appears twice \\(first on line 2\\)",
    ):
        houses_load(path=write(tmp_path, HEADER + ROWS + rows[0]))


def test_a_closed_kind_is_refused(tmp_path):
    Code.objects.filter(code_set_id="house_kind", code="shop").update(active=False)

    with pytest.raises(ImportRejected, match="line 4, column kind: 'shop' is not in code set"):
        houses_load(path=write(tmp_path, HEADER + ROWS))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "house_code,area_code,road\nH1,310104003001,宛平南路\n",
            "line 1, column kind: required column is missing",
        ),
        ("house_code,area_code,road,kind,colour\n", "line 1, column colour: unknown column"),
        ("", "line 1, column -: the file is empty"),
    ],
)
def test_a_bad_header_is_refused(tmp_path, text, expected):
    with pytest.raises(ImportRejected) as rejected:
        houses_load(path=write(tmp_path, text))

    assert expected in str(rejected.value)


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "houses.csv"
    path.write_bytes((HEADER + ROWS).encode("gb18030"))

    with pytest.raises(ImportRejected, match="not UTF-8"):
        houses_load(path=path)
    assert not House.objects.exists()


def test_an_error_after_chunks_were_written_still_saves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    good = "".join(
        f"3101040030010001{n:02d},310104003001,漕溪北路,{n},,,,flat,vacant,2020-01-01,,,,\n"
        for n in range(10)
    )
    bad = "3101040030010001xx,310104003001,漕溪北路,1,,,,flat,vacant,2020-13-01,,,,\n"

    with pytest.raises(ImportRejected, match="line 12, column use_from"):
        houses_load(path=write(tmp_path, HEADER + good + bad))
    assert not House.objects.exists()

    result = houses_load(path=write(tmp_path, HEADER + good))
    assert (result.created, result.uses_opened) == (10, 10)
    assert HouseUse.objects.count() == 10


def test_the_check_stops_after_enough_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(services, "MAX_ERRORS", 3)
    bad = "".join(f"H{n},310104003999,漕溪北路,,,,,flat,,,,,,\n" for n in range(10))

    with pytest.raises(ImportRejected) as rejected:
        houses_load(path=write(tmp_path, HEADER + bad))

    assert len(rejected.value.errors) == 3


def test_the_command_loads_a_file_and_reports(tmp_path):
    out = StringIO()

    call_command("houses", "load", str(write(tmp_path, HEADER + ROWS)), stdout=out, verbosity=0)

    assert "houses: 3 created, 0 updated, 0 unchanged; uses: 2 opened, 0 closed" in out.getvalue()


def test_the_command_reports_errors(tmp_path):
    with pytest.raises(CommandError, match="line 2, column kind"):
        call_command("houses", "load", str(write(tmp_path, HEADER + ROWS.replace("flat", "villa"))))
    with pytest.raises(CommandError, match="no such file"):
        call_command("houses", "load", str(tmp_path / "missing.csv"))
