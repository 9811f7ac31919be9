"""民政: civil affairs — the old-age allowance for people of 80 and more (高龄津贴), relief
(低保, 低收入, 特困) and marriage registrations. An Excel workbook kept by hand: sex as 男/女,
dates as 1990年1月2日, marital status by name, old 15-digit numbers for the elderly, and now
and then the spouse's ID number on a record. The authoritative source of marital status."""

from __future__ import annotations

from renfang.synth.extracts.department import (
    Context,
    Department,
    Output,
    Record,
    Value,
    chinese_date,
)
from renfang.synth.extracts.noise import Quality
from renfang.synth.extracts.population import Household, Resident

_MARITAL = {"10": "未婚", "20": "已婚", "21": "初婚", "22": "再婚", "30": "丧偶", "40": "离婚"}
_RELIEF = {
    "subsistence_allowance": ("最低生活保障", "低保"),
    "low_income": ("低收入家庭", "低收入"),
    "extreme_hardship": ("特困供养", "特困"),
}


class CivilAffairs(Department):
    code = "civil_affairs"
    name = "民政救助与婚姻登记"
    output = Output("civil_affairs.xlsx", kind="xlsx", sheet="救助与登记对象")
    columns = (
        "业务编号", "业务类别", "姓名", "性别", "身份证号", "出生日期", "婚姻状况", "救助类别",
        "联系电话", "居住地址", "所属居委", "登记日期",
    )  # fmt: skip
    quality = Quality(
        missing_id=0.01,
        family_id=0.004,
        wrong_digit=0.003,
        swapped_digits=0.003,
        wrong_check=0.002,
        old_15=0.08,
        lowercase_x=0.3,
        homophone=0.01,
        lookalike=0.004,
        traditional=0.003,
        dropped_char=0.001,
        birth_swap=0.003,
        birth_digit=0.002,
        bad_date=0.0005,
        stale_address=0.1,
        phone_format=0.4,
        stale_phone=0.05,
        missing_phone=0.1,
        unmapped=0.004,
        duplicate=0.01,
    )

    def __init__(self, context: Context) -> None:
        super().__init__(context)
        self._marriage = (0, False)  # (household, married here?)

    def covers(self, person: Resident, household: Household) -> bool:
        if person.overseas:
            return False
        relief = any(tag in _RELIEF for tag in person.tags)
        if person.lives_here and (person.age >= 80 or relief):
            return True
        if person.status == "left_registered" and person.age >= 80:
            return self.rng.random() < 0.4  # the allowance ended; the record stays
        if (
            person.lives_here
            and person.role in ("head", "spouse")
            and person.marital in ("20", "22")
        ):
            # A marriage registered here: both spouses, decided once per household.
            if self._marriage[0] != person.household:
                self._marriage = (person.household, self.rng.random() < 0.35)
            return self._marriage[1]
        return False

    def record(self, person: Resident, household: Household) -> Record:
        kinds: list[str] = []
        noise = self.noise
        relief = [_RELIEF[tag] for tag in person.tags if tag in _RELIEF]
        tags = [short for _long, short in relief]
        if "disabled" in person.tags and relief:
            tags.append("残疾")
        if relief:
            business = relief[0][0]
        elif person.age >= 80:
            business = "高龄津贴"
        else:
            business = "婚姻登记"
        spell = self.house_spell(person, kinds)
        address = committee = ""
        if spell is not None:
            address = self.places.house_address(spell[3], style="standard")
            committee = self.places.committee_name(spell[2])
        marital = self.unmapped(_MARITAL.get(person.marital, ""), ("同居", "分居"), kinds)
        registered = ""
        if business == "婚姻登记":
            year = min(self.context.as_of.year, int(person.birth[:4]) + 22 + self.rng.randrange(12))
            registered = chinese_date(year, self.rng.randint(1, 12), self.rng.randint(1, 28))
        record_id = f"MZ{self.next_serial():08d}"
        values: dict[str, Value] = {
            "业务编号": record_id,
            "业务类别": business,
            "姓名": noise.name(person.name, kinds),
            "性别": "男" if noise.sex(person.sex, kinds) == "1" else "女",
            "身份证号": self.id_number(person, household, kinds),
            "出生日期": self.birth(person, kinds, chinese_date),
            "婚姻状况": marital,
            "救助类别": "、".join(tags),
            "联系电话": self.phone(person, kinds),
            "居住地址": address,
            "所属居委": committee,
            "登记日期": registered,
        }
        return Record(record_id, person.key, values, kinds)
