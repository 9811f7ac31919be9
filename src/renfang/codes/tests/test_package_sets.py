"""The code sets shipped with renfang: present after `migrate`, complete, and right."""

from __future__ import annotations

import csv

import pytest

from renfang.codes.files import CHINA_DIVISIONS_CSV
from renfang.codes.models import Code, CodeSet
from renfang.codes.services import code_sets_load_package

pytestmark = pytest.mark.django_db


def codes_of(key: str) -> dict[str, Code]:
    return {code.code: code for code in Code.objects.filter(code_set_id=key)}


def test_migrate_loads_every_package_set():
    keys = set(CodeSet.objects.values_list("key", flat=True))

    assert keys >= {
        "id_type",
        "sex",
        "ethnicity",
        "nationality",
        "education",
        "marital_status",
        "employment",
        "person_tag",
        "household_type",
        "house_kind",
        "house_use",
        "residence_relation",
        "division",
    }
    assert CodeSet.objects.get(key="sex").standard == "GB/T 2261.1-2003"


def test_loading_the_package_again_changes_nothing():
    before = list(Code.objects.order_by("id").values())

    results = code_sets_load_package()

    assert all(result.unchanged for result in results)
    assert set(CodeSet.objects.values_list("version", flat=True)) == {1}
    assert list(Code.objects.order_by("id").values()) == before


def test_the_shared_vocabulary_is_exactly_the_agreed_codes():
    expected = {
        "id_type": ["resident_id", "passport", "hk_mo_permit", "tw_permit", "foreign_pr", "other"],
        "sex": ["1", "2", "0", "9"],
        "marital_status": ["10", "20", "21", "22", "23", "30", "40", "90"],
        "household_type": ["family", "collective"],
        "house_kind": ["flat", "room", "dormitory", "shop", "factory", "shelter", "other"],
        "house_use": [
            "owner_occupied",
            "rented_whole",
            "rented_by_room",
            "group_rental",
            "short_term_rental",
            "vacant",
            "dormitory",
            "shop_workplace",
        ],
        "residence_relation": ["owner", "family", "tenant", "dormitory", "other"],
    }
    for key, codes in expected.items():
        in_order = list(
            Code.objects.filter(code_set_id=key)
            .order_by("sort_order")
            .values_list("code", flat=True)
        )
        assert in_order == codes, key


def test_marital_status_names_follow_gb_t_2261_2():
    names = {code: c.name for code, c in codes_of("marital_status").items()}

    assert names == {
        "10": "未婚",
        "20": "已婚",
        "21": "初婚",
        "22": "再婚",
        "23": "复婚",
        "30": "丧偶",
        "40": "离婚",
        "90": "未说明的婚姻状况",
    }


def test_ethnicity_has_the_56_groups_and_97_98_in_chinese():
    codes = codes_of("ethnicity")

    assert set(codes) == {f"{n:02d}" for n in range(1, 57)} | {"97", "98"}
    assert codes["01"].name == "汉族"
    assert codes["05"].name == "维吾尔族"
    assert codes["56"].name == "基诺族"
    assert codes["98"].name == "外国血统中国籍人士"


def test_nationality_is_iso_alpha_3_with_chinese_names():
    codes = codes_of("nationality")

    assert 245 <= len(codes) <= 255
    assert all(len(code) == 3 and code.isupper() for code in codes)
    assert codes["CHN"].name == "中国"
    assert codes["USA"].name == "美国"
    assert (codes["HKG"].name, codes["MAC"].name, codes["TWN"].name) == (
        "中国香港",
        "中国澳门",
        "中国台湾",
    )
    # China and its regions come first in a list to choose from.
    first = Code.objects.filter(code_set_id="nationality").order_by("sort_order")[:4]
    assert [code.code for code in first] == ["CHN", "HKG", "MAC", "TWN"]


def test_education_follows_gb_t_4658():
    codes = codes_of("education")

    assert codes["11"].name == "博士研究生毕业"
    assert codes["21"].name == "大学本科毕业"
    assert codes["61"].name == "普通高中毕业"
    assert codes["90"].name == "其他"


def test_employment_has_the_usual_statuses_but_not_the_districts_own():
    names = {c.name for c in codes_of("employment").values()}

    assert {"在业", "失业", "离退休", "在校学生", "灵活就业", "无业"} <= names
    assert "退休后返聘" not in names  # a district adds it with its own file


def test_person_tags_count_twenty_kinds_and_flag_the_sensitive_ones():
    tags = {c.name: c for c in codes_of("person_tag").values()}

    assert len(tags) >= 20
    sensitive = {"残疾人", "低保对象", "刑满释放人员", "社区矫正人员", "吸毒人员", "重点上访人员"}
    for name in sensitive:
        assert tags[name].sensitive, name
    assert tags["严重精神障碍患者"].sensitive
    for name in ["独居老人", "育龄妇女", "失业人员", "优抚对象"]:
        assert not tags[name].sensitive, name


def test_division_has_every_county_with_its_full_name():
    with CHINA_DIVISIONS_CSV.open(encoding="utf-8") as handle:
        county_count = sum(1 for _ in csv.DictReader(handle))
    codes = codes_of("division")

    assert len(codes) == county_count
    assert codes["330302"].name == "浙江省温州市鹿城区"
    assert codes["110101"].name == "北京市东城区"  # no 市辖区
    assert codes["469005"].name == "海南省文昌市"  # no 省直辖县级行政区划
    assert codes["500229"].name == "重庆市城口县"  # no 县
    assert codes["659001"].name.startswith("新疆维吾尔自治区")
    assert codes["310104"].name == "上海市徐汇区"
