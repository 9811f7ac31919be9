"""Names: Han Chinese by surname frequency, minority names, Hong Kong/Taiwan names, Latin names.

Faker's data lists are read directly (drawing a name through ``faker.name()`` per row would
cost more than the rest of a person together).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from types import ModuleType

from faker.providers.person import (
    de_DE,
    en_GB,
    en_US,
    es_ES,
    fr_FR,
    it_IT,
    ja_JP,
    nl_NL,
    zh_CN,
    zh_TW,
)

from renfang.synth.sampling import Weighted, ordinal

# Surnames that Shanghai natives carry far more often than China at large (沈陆顾钱朱徐…).
_SHANGHAI_SURNAME_BOOST = {
    "沈": 4.0, "陆": 4.0, "顾": 4.0, "钱": 3.0, "朱": 2.5, "徐": 2.5, "周": 1.8, "吴": 1.8,
    "蒋": 2.0, "姚": 2.0, "金": 2.0, "施": 3.0, "瞿": 3.0, "倪": 2.0, "陈": 1.3, "张": 1.2,
}  # fmt: skip

# Given-name characters of the generations, beside Faker's list (which leans to the 1970s).
_OLD_MALE = "国建华明德福根宝荣生海林兴龙发金昌仁"
_OLD_FEMALE = "秀英兰芳桂珍凤玉梅菊琴娣妹宝彩娥"
_YOUNG_MALE = "子轩浩宇睿辰泽宸沐一诺俊熙皓博逸航铭煜楷翰"
_YOUNG_FEMALE = "梓涵萱欣怡诗雨琪语彤可馨思悦妍若汐佳瑶依"

# 维吾尔/哈萨克 names: own name · father's name (阿依古丽·买买提).
_UYGHUR_MALE = [
    "艾力", "买买提", "阿不都", "吐尔逊", "艾买提", "热合曼", "伊力哈木", "努尔", "阿里木",
    "亚森", "玉素甫", "依明", "卡德尔", "肉孜", "塔依尔", "艾尔肯", "麦麦提", "阿迪力",
]  # fmt: skip
_UYGHUR_FEMALE = [
    "阿依古丽", "古丽娜尔", "帕提古丽", "热依拉", "迪丽娜尔", "阿依努尔", "米热古丽",
    "再努尔", "努尔古丽", "阿依加玛丽", "古再丽", "热孜宛古丽", "布合力且姆",
]  # fmt: skip
# 藏 names: two two-character names, no surname.
_TIBETAN_MALE = ["扎西", "次仁", "多吉", "平措", "达瓦", "格桑", "尼玛", "旺堆", "索朗", "丹增"]
_TIBETAN_FEMALE = ["卓玛", "央金", "拉姆", "次仁", "格桑", "曲珍", "德吉", "白玛", "措姆"]

_KOREAN_SURNAMES = ["Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim"]
_KOREAN_MALE = ["Min-jun", "Ji-hoon", "Seo-jun", "Hyun-woo", "Dong-hyun", "Sung-min", "Jae-won"]
_KOREAN_FEMALE = ["Seo-yeon", "Ji-woo", "Min-seo", "Su-bin", "Ha-eun", "Ye-jin", "Eun-ji"]


def _weighted(table: Mapping[str, float] | Iterable[str]) -> Weighted[str]:
    """Faker keeps some lists as {name: weight}, others as plain tuples."""
    if isinstance(table, Mapping):
        return Weighted(list(table), [float(weight) for weight in table.values()])
    names = list(table)
    return Weighted(names, [1.0] * len(names))


def _characters(names: Sequence[str], extra: str) -> list[str]:
    return sorted({char for name in names for char in name} | set(extra))


class _Latin:
    """Given names by sex and family names of one language, written given name first."""

    def __init__(self, module: ModuleType, *, family_first: bool = False) -> None:
        provider = module.Provider

        def first_of(*attributes: str) -> Weighted[str]:
            for attribute in attributes:
                table = getattr(provider, attribute, None)
                if table:
                    return _weighted(table)
            raise ValueError(f"{module} has none of {attributes}")

        # Romanized lists first: foreigners' names are recorded in Latin letters.
        self.male = first_of(
            "first_romanized_names_male", "first_romanized_names", "first_names_male"
        )
        self.female = first_of(
            "first_romanized_names_female", "first_romanized_names", "first_names_female"
        )
        self.family = first_of("last_romanized_names", "last_names")
        self.family_first = family_first

    def name(self, rng: random.Random, sex: str, family: str | None = None) -> str:
        given = (self.male if sex == "1" else self.female).draw(rng)
        family = family or self.family.draw(rng)
        return f"{family} {given}" if self.family_first else f"{given} {family}"


class _Korean(_Latin):
    def __init__(self) -> None:
        self.male = Weighted(_KOREAN_MALE, [1.0] * len(_KOREAN_MALE))
        self.female = Weighted(_KOREAN_FEMALE, [1.0] * len(_KOREAN_FEMALE))
        self.family = Weighted(_KOREAN_SURNAMES, [1.0] * len(_KOREAN_SURNAMES))
        self.family_first = True


class NameMaker:
    """Draws names; one instance per run, all randomness from the run's generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        han = zh_CN.Provider
        surnames = dict(han.last_names)
        self.surname = Weighted.of(surnames)
        self.shanghai_surname = Weighted.of(
            {
                name: weight * _SHANGHAI_SURNAME_BOOST.get(name, 1.0)
                for name, weight in surnames.items()
            }
        )
        self.male_names = list(han.first_names_male)
        self.female_names = list(han.first_names_female)
        self.male_chars = _characters(self.male_names, "")
        self.female_chars = _characters(self.female_names, "")
        self.traditional_surname = _weighted(zh_TW.Provider.last_names)
        self.traditional_male = _weighted(zh_TW.Provider.first_names_male)
        self.traditional_female = _weighted(zh_TW.Provider.first_names_female)
        english = _Latin(en_US)
        self.latin: dict[str, _Latin] = {
            "USA": english, "CAN": english, "AUS": _Latin(en_GB), "GBR": _Latin(en_GB),
            "FRA": _Latin(fr_FR), "DEU": _Latin(de_DE), "ITA": _Latin(it_IT),
            "ESP": _Latin(es_ES), "NLD": _Latin(nl_NL), "JPN": _Latin(ja_JP, family_first=True),
            "KOR": _Korean(), "SGP": _Latin(zh_CN, family_first=True),
            "MYS": _Latin(zh_CN, family_first=True),
        }  # fmt: skip
        self.modern_day = ordinal(2005)
        self.old_day = ordinal(1960)

    # -- Han ---------------------------------------------------------------------------------
    def family_name(self, *, shanghai: bool) -> str:
        return (self.shanghai_surname if shanghai else self.surname).draw(self.rng)

    def given_name(self, sex: str, birth: int) -> str:
        rng = self.rng
        male = sex == "1"
        if birth >= self.modern_day and rng.random() < 0.6:
            return self._two(_YOUNG_MALE if male else _YOUNG_FEMALE)
        if birth < self.old_day and rng.random() < 0.4:
            pool = _OLD_MALE if male else _OLD_FEMALE
            return rng.choice(pool) + (rng.choice(pool) if rng.random() < 0.6 else "")
        roll = rng.random()
        if roll < 0.45:
            return rng.choice(self.male_names if male else self.female_names)
        chars = self.male_chars if male else self.female_chars
        if roll < 0.6:
            return rng.choice(chars)
        return self._two(chars)

    def _two(self, chars: Sequence[str]) -> str:
        """Two characters, seldom the same one twice (婷婷 happens, 梓梓 hardly)."""
        first, second = self.rng.choice(chars), self.rng.choice(chars)
        if first == second:
            second = self.rng.choice(chars)
        return first + second

    def han(self, sex: str, birth: int, surname: str) -> str:
        return surname + self.given_name(sex, birth)

    # -- minorities --------------------------------------------------------------------------
    def uyghur(self, sex: str, father_given: str | None = None) -> tuple[str, str]:
        """(full name, own given name): children carry their father's name after the dot."""
        own = self.rng.choice(_UYGHUR_MALE if sex == "1" else _UYGHUR_FEMALE)
        father = father_given or self.rng.choice(_UYGHUR_MALE)
        return f"{own}·{father}", own

    def tibetan(self, sex: str) -> str:
        first = self.rng.choice(_TIBETAN_MALE if sex == "1" else _TIBETAN_FEMALE)
        second = self.rng.choice(_TIBETAN_MALE if sex == "1" else _TIBETAN_FEMALE)
        return first + second if first != second else first + "多吉"

    # -- Hong Kong, Macau, Taiwan, foreigners ------------------------------------------------
    def traditional(self, sex: str, surname: str | None = None) -> str:
        given = (self.traditional_male if sex == "1" else self.traditional_female).draw(self.rng)
        return (surname or self.traditional_surname.draw(self.rng)) + given

    def traditional_surname_of(self) -> str:
        return self.traditional_surname.draw(self.rng)

    def foreign(self, nationality: str, sex: str, family: str | None = None) -> str:
        maker = self.latin.get(nationality, self.latin["USA"])
        return maker.name(self.rng, sex, family)

    def foreign_family(self, nationality: str) -> str:
        return self.latin.get(nationality, self.latin["USA"]).family.draw(self.rng)
