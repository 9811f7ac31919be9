"""居住证: residence permits — domestic migrants of 16 and more who live or lived here.
Plain UTF-8 CSV; the name split into 姓 and 名 (a minority name all in 名); sex as 男性/女性;
its own words for schooling, marriage and work. Migrants move from room to room and seldom
tell the permit office: the address is often an earlier one; a renewal makes a new permit."""

from __future__ import annotations

import datetime

from renfang.synth.extracts.department import (
    ETHNICITY_NAMES,
    Department,
    Output,
    Record,
    Value,
    iso,
    split_name,
)
from renfang.synth.extracts.noise import Quality
from renfang.synth.extracts.population import Household, Resident

_SCHOOLING = {
    "11": "研究生", "14": "研究生", "21": "本科", "31": "大专", "41": "中专", "44": "中专",
    "47": "中专", "61": "高中", "71": "初中", "81": "小学", "90": "文盲",
}  # fmt: skip
_MARITAL = {"10": "未婚", "20": "已婚", "21": "已婚", "22": "已婚", "30": "丧偶", "40": "离异"}
_WORK = {
    "employed": "务工", "self_employed": "经商", "flexible": "灵活就业", "unemployed": "待业",
    "no_work": "无业", "student": "就学", "retired": "离退休",
}  # fmt: skip


class ResidencePermits(Department):
    code = "residence_permit"
    name = "居住证管理"
    output = Output("residence_permit.csv")
    columns = (
        "居住证号", "姓", "名", "公民身份号码", "性别", "民族", "出生日期", "户籍地址",
        "户籍地区划", "居住地址", "居住地区划", "居住起始日期", "签发日期", "有效期至", "联系电话",
        "文化程度", "婚姻状况", "就业状况",
    )  # fmt: skip
    quality = Quality(
        missing_id=0.002,
        family_id=0.002,
        wrong_digit=0.003,
        swapped_digits=0.003,
        wrong_check=0.002,
        mistyped_valid=0.0003,
        lowercase_x=0.05,
        homophone=0.01,
        lookalike=0.003,
        traditional=0.001,
        dot_dropped=0.5,
        birth_swap=0.002,
        birth_digit=0.002,
        bad_date=0.0003,
        stale_address=0.35,
        old_division=0.0,
        phone_format=0.2,
        stale_phone=0.15,
        missing_phone=0.02,
        unmapped=0.004,
        duplicate=0.05,
    )

    def covers(self, person: Resident, household: Household) -> bool:
        if not person.migrant or person.age < 16 or not person.was_here:
            return False
        return self.rng.random() < (0.85 if person.lives_here else 0.7)

    def record(self, person: Resident, household: Household) -> Record:
        kinds: list[str] = []
        noise = self.noise
        rng = self.rng
        family, given = split_name(noise.name(person.name, kinds))
        spell = self.house_spell(person, kinds)
        address = division = since = ""
        issued = self.context.as_of
        if spell is not None:
            address = self.places.house_address(spell[3], style="full")
            division = spell[2][:9]
            since = spell[0]
            start = datetime.date.fromisoformat(since)
            issued = min(start + datetime.timedelta(days=rng.randint(15, 200)), issued)
        schooling = self.unmapped(
            _SCHOOLING.get(person.education, ""), ("博士后", "大学肄业"), kinds
        )
        marital = _MARITAL.get(person.marital, "")
        if marital and rng.random() < 0.004:
            kinds.append("unmapped_code")
            marital = "分居"
        record_id = f"JZ{self.next_serial():010d}"
        values: dict[str, Value] = {
            "居住证号": record_id,
            "姓": family,
            "名": given,
            "公民身份号码": self.id_number(person, household, kinds),
            "性别": "男性" if noise.sex(person.sex, kinds) == "1" else "女性",
            "民族": ETHNICITY_NAMES.get(person.ethnicity, ""),
            "出生日期": self.birth(person, kinds, iso),
            "户籍地址": self.hukou_address(person),
            "户籍地区划": person.hukou_division,
            "居住地址": address,
            "居住地区划": division,
            "居住起始日期": since,
            "签发日期": issued.isoformat(),
            "有效期至": issued.replace(year=issued.year + 1).isoformat()
            if not (issued.month == 2 and issued.day == 29)
            else f"{issued.year + 1}-02-28",
            "联系电话": self.phone(person, kinds),
            "文化程度": schooling,
            "婚姻状况": marital,
            "就业状况": _WORK.get(person.employment, ""),
        }
        return Record(record_id, person.key, values, kinds)
