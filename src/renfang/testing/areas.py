"""The one area tree of the test world, and its codes.

Shanghai (31) → Xuhui (310104) and Changning (310105); Xuhui has two streets, Tianping
(310104003) with the Tianping and Jianguo committees, and Hunan (310104004) with the Hunan
committee; the Tianping committee has a grid. Nanjing's Xuanwu district (320102) is outside
the city and has no area.
"""

from __future__ import annotations

from renfang.areas.models import Area, AreaLevel

CITY = "31"  # 上海市
XUHUI = "310104"  # 徐汇区
CHANGNING = "310105"  # 长宁区, elsewhere in the city
TIANPING = "310104003"  # 天平路街道
HUNAN = "310104004"  # 湖南路街道
TIANPING_1 = "310104003001"  # 天平居委会
TIANPING_2 = "310104003002"  # 建国居委会, the Tianping committee's sibling
HUNAN_1 = "310104004001"  # 湖南居委会, in another street
GRID = "310104003001001"  # 天平第一网格, in the Tianping committee
NANJING = "320102"  # 南京市玄武区, outside the city

TREE = (
    (CITY, "上海市", None, AreaLevel.CITY),
    (XUHUI, "徐汇区", CITY, AreaLevel.DISTRICT),
    (CHANGNING, "长宁区", CITY, AreaLevel.DISTRICT),
    (TIANPING, "天平路街道", XUHUI, AreaLevel.STREET),
    (HUNAN, "湖南路街道", XUHUI, AreaLevel.STREET),
    (TIANPING_1, "天平居委会", TIANPING, AreaLevel.COMMITTEE),
    (TIANPING_2, "建国居委会", TIANPING, AreaLevel.COMMITTEE),
    (HUNAN_1, "湖南居委会", HUNAN, AreaLevel.COMMITTEE),
    (GRID, "天平第一网格", TIANPING_1, AreaLevel.GRID),
)


def area(code: str, name: str, parent: Area | None, level: str) -> Area:
    """One area (made again with the same values if it is there)."""
    made, _ = Area.objects.update_or_create(
        code=code, defaults={"name": name, "parent": parent, "level": level}
    )
    return made


def make_areas() -> dict[str, Area]:
    """The whole tree, by code."""
    areas: dict[str, Area] = {}
    for code, name, parent, level in TREE:
        areas[code] = area(code, name, areas[parent] if parent else None, level)
    return areas
