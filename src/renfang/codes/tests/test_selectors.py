"""Labels, choices and division names: right in both languages, and cached in the process."""

from __future__ import annotations

import pytest
from django.utils import translation

from renfang.areas.models import Area, AreaLevel
from renfang.codes import selectors
from renfang.codes.models import Code
from renfang.codes.selectors import (
    active_codes,
    clear_cache,
    code_choices,
    code_label,
    division_name,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def xuhui():
    city = Area.objects.create(code="31", name="上海市", level=AreaLevel.CITY)
    district = Area.objects.create(
        code="310104", name="徐汇区", parent=city, level=AreaLevel.DISTRICT
    )
    return Area.objects.create(
        code="310104003", name="天平路街道", parent=district, level=AreaLevel.STREET
    )


def test_a_label_is_chinese_in_chinese_and_english_in_english():
    with translation.override("zh-hans"):
        assert code_label("marital_status", "22") == "再婚"
        assert code_label("nationality", "HKG") == "中国香港"
    with translation.override("en"):
        assert code_label("marital_status", "22") == "remarried"
        assert code_label("nationality", "HKG") == "Hong Kong, China"


def test_a_label_without_an_english_name_falls_back_to_chinese():
    with translation.override("en"):
        assert code_label("division", "330302") == "浙江省温州市鹿城区"


def test_an_unknown_code_or_set_is_shown_as_itself():
    assert code_label("marital_status", "77") == "77"
    assert code_label("no_such_set", "x") == "x"
    assert active_codes("no_such_set") == frozenset()
    assert code_choices("no_such_set") == []


def test_choices_are_the_active_codes_in_the_sets_order():
    Code.objects.filter(code_set_id="sex", code="0").update(active=False)
    clear_cache()

    with translation.override("zh-hans"):
        assert code_choices("sex") == [("1", "男性"), ("2", "女性"), ("9", "未说明的性别")]
    assert active_codes("sex") == frozenset({"1", "2", "9"})


def test_lookups_are_cached_after_the_first(django_assert_num_queries):
    code_label("ethnicity", "01")
    division_name("330302")

    with django_assert_num_queries(0):
        for _ in range(1000):
            code_label("ethnicity", "01")
            active_codes("ethnicity")
            code_choices("ethnicity")
            division_name("330302")


def test_a_saved_code_is_seen_at_once():
    assert code_label("sex", "1") == "男性"

    code = Code.objects.get(code_set_id="sex", code="1")
    code.name = "男"
    code.save()

    assert code_label("sex", "1") == "男"


def test_the_cache_expires_so_other_processes_see_a_load(monkeypatch):
    assert code_label("sex", "1") == "男性"
    Code.objects.filter(code_set_id="sex", code="1").update(name="男")  # no signal
    assert code_label("sex", "1") == "男性"

    monkeypatch.setattr(selectors, "_filled_at", selectors._filled_at - selectors.CACHE_SECONDS - 1)

    assert code_label("sex", "1") == "男"


def test_a_division_is_named_from_the_areas_first(xuhui):
    assert division_name("310104003") == "上海市徐汇区天平路街道"
    assert division_name("31") == "上海市"


def test_a_division_that_is_no_area_is_named_from_the_county_list(xuhui):
    assert division_name("330302") == "浙江省温州市鹿城区"
    assert division_name("310105") == "上海市长宁区"


def test_an_unknown_division_is_shown_as_its_code():
    assert division_name("999999") == "999999"
    assert division_name("330302001") == "330302001"


def test_a_renamed_area_is_named_anew(xuhui):
    assert division_name("310104003") == "上海市徐汇区天平路街道"

    xuhui.name = "天平街道"
    xuhui.save()

    assert division_name("310104003") == "上海市徐汇区天平街道"
