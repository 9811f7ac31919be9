"""公安户籍: the police household register of the district — everyone whose hukou is or was
held here, in GB 18030, with GB codes for sex, marital status and schooling, ethnic groups
by name and dates as 19900102. The authoritative source of identity and hukou: few errors."""

from __future__ import annotations

from renfang.synth.extracts.department import (
    ETHNICITY_NAMES,
    Department,
    Output,
    Record,
    Value,
    ymd,
)
from renfang.synth.extracts.noise import Quality
from renfang.synth.extracts.population import Household, Resident

_RELATION = {"head": "户主", "spouse": "配偶", "elder": "父母"}
_HOUSEHOLD_TYPE = {"family": "家庭户", "collective": "集体户"}


class Police(Department):
    code = "police"
    name = "公安户籍"
    output = Output("police.csv", encoding="gb18030")
    columns = (
        "人员编号", "公民身份号码", "姓名", "曾用名", "性别", "民族", "出生日期",
        "户籍地行政区划", "户籍地址", "户别", "与户主关系", "婚姻状况", "文化程度", "人员状态",
        "联系电话",
    )  # fmt: skip
    quality = Quality(
        missing_id=0.001,
        wrong_digit=0.0005,
        swapped_digits=0.0003,
        wrong_check=0.0002,
        mistyped_valid=0.0001,
        homophone=0.001,
        lookalike=0.0005,
        traditional=0.0,
        dropped_char=0.0,
        dot_dropped=0.05,
        birth_swap=0.0003,
        birth_digit=0.0003,
        bad_date=0.0001,
        sex_flipped=0.0001,
        old_division=0.003,
        phone_format=0.1,
        stale_phone=0.2,
        missing_phone=0.6,
        unmapped=0.002,
        duplicate=0.002,
    )

    def covers(self, person: Resident, household: Household) -> bool:
        return person.hukou_in(self.places.district)

    def record(self, person: Resident, household: Household) -> Record:
        kinds: list[str] = []
        noise = self.noise
        rng = self.rng
        if person.status == "left_registered":
            state = "死亡" if person.age >= 75 else "迁出"
        else:
            state = "正常"
        marital = person.marital
        if marital in ("20", "22") and rng.random() < 0.03:
            kinds.append("stale_marital_status")
            marital = "10"
        relation = _RELATION.get(person.role) or ("子" if person.sex == "1" else "女")
        former = ""
        if rng.random() < 0.01:
            former = noise.name(person.name, [])
        record_id = f"R{self.places.district}{self.next_serial():09d}"
        values: dict[str, Value] = {
            "人员编号": record_id,
            "公民身份号码": self.id_number(person, household, kinds),
            "姓名": noise.name(person.name, kinds),
            "曾用名": former if former != person.name else "",
            "性别": noise.sex(person.sex, kinds),
            "民族": self.unmapped(
                ETHNICITY_NAMES.get(person.ethnicity, ""), ("穿青人", "革家人"), kinds
            ),
            "出生日期": self.birth(person, kinds, ymd),
            "户籍地行政区划": self.division(person.hukou_division, kinds),
            "户籍地址": self.hukou_address(person),
            "户别": _HOUSEHOLD_TYPE.get(person.hukou_type, ""),
            "与户主关系": relation,
            "婚姻状况": marital,
            "文化程度": person.education,
            "人员状态": state,
            "联系电话": self.phone(person, kinds),
        }
        return Record(record_id, person.key, values, kinds)
