"""The errors department records carry, kind by kind, at each department's own rates.

Every function that spoils a value also says which kinds of error it made, so ``noise.csv``
can list them per record: the linkage engineer sees which records were hard and why, and the
tests check that every kind occurs. The kinds are the ones DOMAIN.md names ("What makes
matching people hard here") and the ones clerks make: IDs missing, mistyped (one digit, two
swapped, the check digit), old 15-digit numbers, a lowercase x, full-width digits; names
typed by sound (伟/玮) or by look (己/已), in traditional characters, without the middle dot;
birth dates with day and month swapped; phones with +86 and spaces; stale addresses.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

import opencc  # type: ignore[import-untyped]

from renfang.people.idnumbers import with_check_digit

_CHECKS = "0123456789X"
_FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")

# Characters of names that sound alike (same syllable): typed by pinyin, the wrong one is
# picked from the list. Groups, not pairs: any member may become any other.
_HOMOPHONE_GROUPS = (
    "伟玮炜纬", "丽莉俐", "华骅桦", "明铭鸣", "军君钧", "芳方舫", "静婧靖", "婷亭庭", "杰洁",
    "涛韬", "磊蕾", "敏珉", "燕艳雁", "霞遐", "娟鹃涓", "勇永咏", "斌彬滨", "强蔷", "辉晖徽",
    "玲铃伶", "琳林霖淋", "萍平苹", "红宏鸿洪虹", "刚钢纲", "建健剑", "峰锋枫丰", "慧惠蕙",
    "颖莹", "宇雨语羽禹", "轩萱宣", "浩皓昊灏", "涵晗寒", "欣馨鑫新心", "怡宜仪", "梓子紫",
    "晨辰宸", "泽择", "博柏", "俊骏峻", "思斯丝", "琪琦淇祺棋", "佳嘉家", "瑶遥", "妍研",
    "彤桐童", "悦月越", "依伊", "晓筱", "秀绣", "英瑛莺", "兰岚蓝", "梅玫", "珍真", "桂贵",
    "玉钰", "荣容蓉", "兴星", "龙隆", "金锦", "昌常", "文雯", "云芸", "春纯", "东冬", "亮靓",
    "楠南", "航杭", "睿瑞锐", "熙希曦溪", "志智治", "成诚承城", "振镇", "秋邱", "凯恺铠",
    "超朝", "飞菲", "娜纳", "雪薛", "洁捷", "倩茜", "琴芹勤", "凤奉", "菊桔", "德得",
    # surnames
    "张章", "王汪", "李黎", "刘柳", "杨阳", "徐许", "吴伍", "周舟", "朱诸", "何贺", "于余俞",
    "萧肖", "傅付", "卢陆", "严颜阎", "姜江", "汤唐", "吕侣", "钟仲", "程成",
)  # fmt: skip
# Characters that look alike: misread from paper forms, picked from a handwriting pad.
_LOOKALIKE_GROUPS = (
    "己已巳", "未末", "土士", "日曰", "王玉", "大太", "千干", "候侯", "茶荼", "晴睛",
    "菁箐", "苟荀", "徽微", "戊戌戍", "汩汨", "崇祟", "栗粟", "免兔", "乌鸟", "冶治",
    "壁璧", "辨辩", "贷货", "折析", "仝全", "毫亳", "宦宙", "杨扬", "淑叔", "祥详", "鸿鸡",
)  # fmt: skip


def _table(groups: tuple[str, ...]) -> dict[str, str]:
    """Each character → the other characters of its group."""
    table: dict[str, str] = {}
    for group in groups:
        for char in group:
            table[char] = table.get(char, "") + group.replace(char, "")
    return table


HOMOPHONES = _table(_HOMOPHONE_GROUPS)
LOOKALIKES = _table(_LOOKALIKE_GROUPS)
DOTS = "·"
_DOT_VARIANTS = (".", "•", "・", "．")
# How phones are written: {0} the number, {1} {2} {3} its parts (3, 4 and 4 digits).
_PHONE_STYLES = ("+86 {0}", "+86-{1}-{2}-{3}", "{1} {2} {3}", "0086{0}", "86 {0}", "{1}-{2}-{3}")


@dataclass(frozen=True)
class Quality:
    """How often a department's records carry each kind of error (per record, or per
    record that can carry it: a 15-digit number only for people born before 1980, …)."""

    missing_id: float = 0.01
    family_id: float = 0.0  # the ID of a household member instead of one's own
    wrong_digit: float = 0.003
    swapped_digits: float = 0.002
    wrong_check: float = 0.002
    mistyped_valid: float = 0.0003  # a wrong digit that happens to make a valid number
    short_id: float = 0.0003  # a digit left out: no ID number at all (a problem, flagged)
    old_15: float = 0.0  # of people born 1900–1979
    lowercase_x: float = 0.0  # of numbers ending in X
    full_width: float = 0.0
    spaced_id: float = 0.0
    homophone: float = 0.008
    lookalike: float = 0.002
    traditional: float = 0.002
    dropped_char: float = 0.001
    name_space: float = 0.0
    dot_dropped: float = 0.3  # of names with a middle dot
    birth_swap: float = 0.002  # day and month swapped (when the day is 12 or less)
    birth_digit: float = 0.002  # one digit of the birth date wrong
    bad_date: float = 0.0003  # a date that does not exist
    sex_flipped: float = 0.0005
    stale_address: float = 0.05  # of people who moved: an earlier address
    old_division: float = 0.01
    phone_format: float = 0.2  # +86, spaces, dashes
    stale_phone: float = 0.03
    missing_phone: float = 0.05
    unmapped: float = 0.002  # a coded value the mapping does not know
    duplicate: float = 0.01  # the person recorded twice


class Noise:
    """Spoils values at a department's rates; ``kinds`` collects what it did to a record."""

    def __init__(self, rng: random.Random, quality: Quality) -> None:
        self.rng = rng
        self.quality = quality
        self._s2t = _simplified_to_traditional()

    # -- identity numbers -------------------------------------------------------------------
    def resident_id(
        self, number: str, birth_year: int, kinds: list[str], family: list[str] | None = None
    ) -> str:
        """A resident ID number as a clerk typed it; ``family``: household members' numbers
        the clerk may have taken instead."""
        rng = self.rng
        quality = self.quality
        roll = rng.random()
        if roll < quality.missing_id:
            kinds.append("missing_id")
            return ""
        roll -= quality.missing_id
        if family and roll < quality.family_id:
            kinds.append("family_member_id")
            return rng.choice(family)
        roll = rng.random()
        if roll < quality.wrong_digit:
            kinds.append("wrong_digit")
            number = _wrong_digit(rng, number)
        elif (roll := roll - quality.wrong_digit) < quality.swapped_digits:
            swapped = _swap_digits(rng, number)
            if swapped != number:
                kinds.append("swapped_digits")
                number = swapped
        elif (roll := roll - quality.swapped_digits) < quality.wrong_check:
            kinds.append("wrong_check_digit")
            number = number[:17] + rng.choice(_CHECKS.replace(number[17], ""))
        elif (roll := roll - quality.wrong_check) < quality.mistyped_valid:
            kinds.append("mistyped_valid_id")
            number = with_check_digit(_wrong_digit(rng, number, body_only=True)[:17])
        elif roll - quality.mistyped_valid < quality.short_id:
            kinds.append("short_id")
            position = rng.randrange(18)
            return number[:position] + number[position + 1 :]
        return self.id_format(number, birth_year, kinds)

    def id_format(self, number: str, birth_year: int, kinds: list[str]) -> str:
        """How a number is written: old 15 digits, a lowercase x, full width, spaces."""
        rng = self.rng
        quality = self.quality
        if (
            len(number) == 18
            and 1900 <= birth_year < 1980
            and number[6:8] == "19"
            and rng.random() < quality.old_15
        ):
            kinds.append("old_15_digit")
            return number[:6] + number[8:17]
        if number.endswith("X") and rng.random() < quality.lowercase_x:
            kinds.append("lowercase_x")
            number = number[:-1] + "x"
        roll = rng.random()
        if roll < quality.full_width:
            kinds.append("full_width_id")
            return number.translate(_FULL_WIDTH)
        if roll - quality.full_width < quality.spaced_id:
            kinds.append("spaced_id")
            if rng.random() < 0.5:
                return f"{number[:6]} {number[6:14]} {number[14:]}"
            return f" {number} "
        return number

    def other_id(self, number: str, kinds: list[str]) -> str:
        """A passport or permit number: missing, or lowercase, now and then."""
        rng = self.rng
        if rng.random() < self.quality.missing_id:
            kinds.append("missing_id")
            return ""
        if rng.random() < 0.01 and not number.isdigit():
            kinds.append("lowercase_id")
            return number.lower()
        return number

    # -- names ------------------------------------------------------------------------------
    def name(self, name: str, kinds: list[str]) -> str:
        rng = self.rng
        quality = self.quality
        if DOTS in name and rng.random() < quality.dot_dropped:
            if rng.random() < 0.7:
                kinds.append("dot_dropped")
                name = name.replace(DOTS, "")
            else:
                kinds.append("dot_variant")
                name = name.replace(DOTS, rng.choice(_DOT_VARIANTS))
        if not _is_chinese(name):
            return name
        roll = rng.random()
        if roll < quality.homophone:
            changed = _substitute(rng, name, HOMOPHONES)
            if changed != name:
                kinds.append("homophone")
                name = changed
        elif (roll := roll - quality.homophone) < quality.lookalike:
            changed = _substitute(rng, name, LOOKALIKES)
            if changed != name:
                kinds.append("lookalike")
                name = changed
        elif (roll := roll - quality.lookalike) < quality.traditional:
            changed = self._s2t.convert(name)
            if changed != name:
                kinds.append("traditional")
                name = changed
        elif roll - quality.traditional < quality.dropped_char and len(name) == 3:
            kinds.append("dropped_char")
            name = name[:2]
        if rng.random() < quality.name_space and len(name) in (2, 3):
            kinds.append("name_space")
            name = name[0] + rng.choice((" ", "\u3000")) + name[1:]
        return name

    # -- dates ------------------------------------------------------------------------------
    def birth(self, iso: str, kinds: list[str]) -> tuple[int, int, int]:
        """(year, month, day) as recorded: now and then swapped, off by a digit, or a day
        that does not exist."""
        rng = self.rng
        quality = self.quality
        year, month, day = int(iso[:4]), int(iso[5:7]), int(iso[8:10])
        roll = rng.random()
        if roll < quality.birth_swap and day <= 12 and day != month:
            kinds.append("birth_day_month_swapped")
            return year, day, month
        roll -= quality.birth_swap
        if roll < quality.birth_digit:
            kinds.append("birth_digit")
            part = rng.randrange(3)
            if part == 0:
                return year + rng.choice((-10, -1, 1, 10)), month, day
            if part == 1 and month not in (1, 10, 11, 12):
                return year, (month + rng.choice((-1, 1))), min(day, 28)
            return year, month, min(max(1, day + rng.choice((-10, -1, 1, 10))), 28)
        if roll - quality.birth_digit < quality.bad_date:
            kinds.append("bad_date")
            return year, 2, 30
        return year, month, day

    # -- phones -----------------------------------------------------------------------------
    def phone(self, phone: str, kinds: list[str]) -> str:
        rng = self.rng
        quality = self.quality
        if not phone:
            return ""
        if rng.random() < quality.missing_phone:
            kinds.append("missing_phone")
            return ""
        if rng.random() < quality.stale_phone:
            kinds.append("stale_phone")
            phone = phone[:3] + f"{rng.randrange(10**8):08d}"
        if rng.random() < quality.phone_format:
            kinds.append("phone_format")
            return rng.choice(_PHONE_STYLES).format(phone, phone[:3], phone[3:7], phone[7:])
        return phone

    def sex(self, sex: str, kinds: list[str]) -> str:
        if sex in ("1", "2") and self.rng.random() < self.quality.sex_flipped:
            kinds.append("sex_flipped")
            return "2" if sex == "1" else "1"
        return sex

    def chance(self, rate: float) -> bool:
        return self.rng.random() < rate


@cache
def _simplified_to_traditional() -> opencc.OpenCC:
    """One converter for all departments: building one reads OpenCC's dictionaries."""
    return opencc.OpenCC("s2t")


def _is_chinese(name: str) -> bool:
    return bool(name) and "\u4e00" <= name[0] <= "\u9fff"


def _substitute(rng: random.Random, name: str, table: dict[str, str]) -> str:
    """One character of ``name`` replaced by another of its group (a given-name character
    four times as often as the surname)."""
    places = [index for index, char in enumerate(name) if char in table]
    if not places:
        return name
    given = [index for index in places if index > 0]
    index = rng.choice(given) if given and (rng.random() < 0.8 or places == given) else places[0]
    return name[:index] + rng.choice(table[name[index]]) + name[index + 1 :]


def _wrong_digit(rng: random.Random, number: str, *, body_only: bool = False) -> str:
    """One digit of the first 17 replaced by another (the check digit left as it was).
    With ``body_only``, the birth date is spared (a mistyped sequence or region)."""
    positions = [*range(6), *range(14, 17)] if body_only else list(range(17))
    position = rng.choice(positions)
    digit = rng.choice("0123456789".replace(number[position], ""))
    return number[:position] + digit + number[position + 1 :]


def _swap_digits(rng: random.Random, number: str) -> str:
    """Two neighbouring different characters swapped."""
    places = [i for i in range(len(number) - 1) if number[i] != number[i + 1]]
    if not places:
        return number
    i = rng.choice(places)
    return number[:i] + number[i + 1] + number[i] + number[i + 2 :]
