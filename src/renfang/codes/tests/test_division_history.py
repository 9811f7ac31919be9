"""Historic division codes (ADR 0026): loaded with the code sets, named with their vintage."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from renfang.codes.files import DIVISION_HISTORY_CSV, HISTORY_COLUMNS
from renfang.codes.models import HistoricDivision
from renfang.codes.selectors import (
    active_codes,
    division_name,
    historic_division_successors,
    historic_divisions,
)
from renfang.codes.services import division_history_load, division_history_load_missing
from renfang.core.csvimport import ImportRejected

pytestmark = pytest.mark.django_db

HEADER = ",".join(HISTORY_COLUMNS) + "\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "division_history.csv"
    path.write_text(HEADER + text, encoding="utf-8")
    return path


def test_a_new_database_has_every_revision_and_no_code_of_today_is_historic() -> None:
    # `migrate` loaded the package's history (the test database is made by migrate).
    historic = historic_divisions()

    assert len(historic) > 3000  # noqa: PLR2004 (3,285 county codes of 1980-2019 gone by 2023)
    assert not set(historic) & active_codes("division")
    nanshi = HistoricDivision.objects.get(code="310102")
    assert (nanshi.name, nanshi.full_name) == ("南市区", "上海市南市区")
    assert (nanshi.first_seen, nanshi.last_seen, nanshi.gone_in) == ("198012", "199912", "200012")
    assert nanshi.successor == ""  # merged into 黄浦区: the revisions show no single successor


def test_successors_follow_renames_and_recodings_to_a_division_of_today() -> None:
    successors = historic_division_successors()

    assert successors["310222"] == "310114"  # 嘉定县 → 嘉定区 (1992)
    assert successors["310230"] == "310151"  # 崇明县 → 崇明区 (2016)
    assert successors["510202"] == "500103"  # 重庆市渝中区 of Sichuan → of Chongqing (1997)
    assert successors["310225"] == ""  # 南汇县 → 南汇区 (2001), merged into 浦东新区 (2009)
    current = active_codes("division")
    assert all(code in current for code in successors.values() if code)


def test_loading_again_writes_nothing_and_a_changed_row_is_updated(tmp_path: Path) -> None:
    assert division_history_load().added == 0  # the package's file, already there

    result = division_history_load(
        path=write(
            tmp_path,
            "310102,南市区,上海市,,198012,199912,200012,310101\n"
            "990101,测试县,测试省,,198012,198012,198112,\n",
        )
    )

    assert (result.added, result.changed) == (1, 1)
    assert historic_division_successors()["310102"] == "310101"  # the cache was emptied
    assert HistoricDivision.objects.filter(code="310103").exists()  # nothing deleted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("31010,南市区,上海市,,198012,199912,200012,\n", "line 2, column code: '31010'"),
        ("310102,南市区,上海市,,198012,199912,200012,黄浦\n", "line 2, column successor:"),
        ("310102,,,,198012,199912,200012,\n", "line 2, column name: must not be empty"),
    ],
)
def test_a_bad_history_file_is_refused_and_nothing_is_written(
    tmp_path: Path, text: str, expected: str
) -> None:
    before = HistoricDivision.objects.count()

    with pytest.raises(ImportRejected) as caught:
        division_history_load(path=write(tmp_path, text))

    assert any(str(error).startswith(expected) for error in caught.value.errors)
    assert HistoricDivision.objects.count() == before


def test_an_empty_table_is_filled_after_migrate_and_a_full_one_left_alone() -> None:
    assert division_history_load_missing() is None
    HistoricDivision.objects.all().delete()

    result = division_history_load_missing()

    assert result is not None and result.added == HistoricDivision.objects.count() > 0


def test_the_command_loads_the_history_with_the_package_sets() -> None:
    HistoricDivision.objects.filter(code__startswith="31").delete()
    out = StringIO()

    call_command("codes", "load", stdout=out)

    assert "division history: 3285 historic codes (15 added, 0 changed)" in out.getvalue()
    assert HistoricDivision.objects.filter(code__startswith="31").count() == 15  # noqa: PLR2004


def test_a_historic_code_is_named_with_the_year_it_left() -> None:
    with translation.override("zh-hans"):
        assert division_name("310102") == "上海市南市区（2000年前）"
        assert division_name("330221") == "浙江省宁波市镇海县（1985年前）"
    with translation.override("en"):
        assert division_name("310102") == "上海市南市区 (before 2000)"
    assert division_name("310104") == "上海市徐汇区"  # a division of today: no vintage
    assert division_name("340199") == "340199"  # no revision had it


def test_a_district_adds_a_successor_from_the_published_change_list(tmp_path: Path) -> None:
    # Given the shipped history, where 南市区 has no successor, copied by a district that adds
    # the one the State Council's approval of 2000 states: 黄浦区 310101.
    shipped = DIVISION_HISTORY_CSV.read_text(encoding="utf-8")
    own = tmp_path / "codes"
    own.mkdir()
    (own / "division_history.csv").write_text(
        shipped.replace(
            "310102,南市区,上海市,,198012,199912,200012,\n",
            "310102,南市区,上海市,,198012,199912,200012,310101\n",
        ),
        encoding="utf-8",
    )
    out = StringIO()

    # When it loads its directory
    call_command("codes", "load", str(own), stdout=out)

    # Then the history knows the successor; the package's load puts it back as shipped.
    assert "division history: 3285 historic codes (0 added, 1 changed)" in out.getvalue()
    assert historic_division_successors()["310102"] == "310101"
    call_command("codes", "load", stdout=StringIO())
    assert historic_division_successors()["310102"] == ""


def test_a_bad_history_file_among_the_sets_leaves_everything_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "division_history.csv").write_text(HEADER + "3101,x,,,,,,\n", encoding="utf-8")
    (tmp_path / "sex.csv").write_text("code,name,name_en\n1,男,male\n", encoding="utf-8")

    with pytest.raises(CommandError, match=r"(?s)division_history.csv.*line 2, column code"):
        call_command("codes", "load", str(tmp_path), stdout=StringIO())

    assert "2" in active_codes("sex")  # the sex file's load was rolled back with it
