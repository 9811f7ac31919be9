"""教育: the pupils' register (学籍) — children of 3 to 18 at school here, and those who
moved away. An Excel workbook with real date cells; document types by name; the phone is the
guardian's (a school calls the parents), and now and then a parent's ID number is typed in
the child's place. Children's names are typed by many hands: homophones are common."""

from __future__ import annotations

import datetime

from renfang.synth.extracts.department import (
    ETHNICITY_NAMES,
    Department,
    Output,
    Record,
    Value,
    iso,
)
from renfang.synth.extracts.noise import Quality
from renfang.synth.extracts.population import Household, Resident

_ID_TYPES = {
    "resident_id": "居民身份证", "passport": "护照", "hk_mo_permit": "港澳居民来往内地通行证",
    "tw_permit": "台湾居民来往大陆通行证", "foreign_pr": "外国人永久居留身份证",
}  # fmt: skip
_GRADES = ("小班", "中班", "大班", "一年级", "二年级", "三年级", "四年级", "五年级", "六年级",
           "初一", "初二", "初三", "高一", "高二", "高三", "高三")  # fmt: skip
_SCHOOLS = {
    "kindergarten": ("徐汇区东方幼儿园", "徐汇区康乐幼儿园", "徐汇区建襄幼儿园"),
    "primary": ("徐汇区第一中心小学", "上海小学", "徐汇区逸夫小学", "徐汇区向阳小学"),
    "middle": ("南洋模范初级中学", "位育初级中学", "徐汇中学", "田林第三中学"),
    "high": ("上海中学", "南洋模范中学", "位育中学", "市二中学"),
}


class Education(Department):
    code = "education"
    name = "教育（学籍管理）"
    output = Output("education.xlsx", kind="xlsx", sheet="学籍信息")
    columns = (
        "学籍号", "姓名", "性别", "出生日期", "民族", "身份证件类型", "身份证件号", "户口所在地",
        "现住址", "监护人姓名", "监护人关系", "监护人联系电话", "学校", "年级",
    )  # fmt: skip
    quality = Quality(
        missing_id=0.05,
        family_id=0.01,
        wrong_digit=0.005,
        swapped_digits=0.004,
        wrong_check=0.003,
        mistyped_valid=0.0005,
        lowercase_x=0.15,
        full_width=0.003,
        homophone=0.025,
        lookalike=0.006,
        traditional=0.002,
        dropped_char=0.002,
        dot_dropped=0.4,
        birth_swap=0.003,
        birth_digit=0.002,
        bad_date=0.0005,
        sex_flipped=0.001,
        stale_address=0.08,
        phone_format=0.2,
        stale_phone=0.05,
        missing_phone=0.03,
        unmapped=0.003,
        duplicate=0.01,
    )

    def covers(self, person: Resident, household: Household) -> bool:
        if not 3 <= person.age <= 18 or person.role != "child":
            return False
        if person.lives_here:
            return self.rng.random() < 0.95
        return person.left and person.was_here and self.rng.random() < 0.4

    def record(self, person: Resident, household: Household) -> Record:
        kinds: list[str] = []
        noise = self.noise
        rng = self.rng
        parents = [other for other in household if other.role in ("head", "spouse")]
        guardian = rng.choice(parents) if parents else None
        relation = ""
        if guardian is not None:
            relation = "父亲" if guardian.sex == "1" else "母亲"
        year, month, day = noise.birth(person.birth, kinds)
        try:
            born: Value = datetime.date(year, month, day)
        except ValueError:
            born = iso(year, month, day)  # typed as text into the date column
        spell = self.house_spell(person, kinds)
        address = "" if spell is None else self.places.house_address(spell[3])
        age = min(max(person.age, 3), 18)
        if age < 6:
            school = rng.choice(_SCHOOLS["kindergarten"])
        elif age < 12:
            school = rng.choice(_SCHOOLS["primary"])
        else:
            school = rng.choice(_SCHOOLS["middle" if age < 15 else "high"])
        record_id = f"L{self.places.district}{self.next_serial():08d}"
        values: dict[str, Value] = {
            "学籍号": record_id,
            "姓名": noise.name(person.name, kinds),
            "性别": self.unmapped(
                "男" if noise.sex(person.sex, kinds) == "1" else "女", ("不详",), kinds
            ),
            "出生日期": born,
            "民族": ETHNICITY_NAMES.get(person.ethnicity, ""),
            "身份证件类型": _ID_TYPES[person.id_type],
            "身份证件号": self.id_number(person, household, kinds),
            "户口所在地": person.hukou_division,
            "现住址": address,
            "监护人姓名": guardian.name if guardian is not None else "",
            "监护人关系": relation,
            "监护人联系电话": self.phone(guardian, kinds) if guardian is not None else "",
            "学校": school,
            "年级": _GRADES[age - 3],
        }
        return Record(record_id, person.key, values, kinds)
