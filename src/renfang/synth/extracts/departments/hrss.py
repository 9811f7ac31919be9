"""人社: human resources and social security — people of working age who work or look for
work, and pensioners, insured in the district. GBK, as its old client exports it; dates from
two merged systems (19900102 and 1990-01-02); its own codes for document types, where some
records carry the social security card number instead of the ID (证件类型 99: an identifier
of type ``other``). The authoritative source of employment."""

from __future__ import annotations

from renfang.synth.extracts.department import Department, Output, Record, Value, iso, ymd
from renfang.synth.extracts.noise import Quality
from renfang.synth.extracts.population import WORKING, Household, Resident

_ID_TYPES = {
    "resident_id": "01", "hk_mo_permit": "02", "tw_permit": "03", "passport": "04",
    "foreign_pr": "05",
}  # fmt: skip
_WORK = {
    "employed": "在职", "self_employed": "个体", "flexible": "灵活就业", "unemployed": "失业",
    "retired": "退休", "no_work": "无业",
}  # fmt: skip
_SCHOOLING = {
    "11": "博士研究生", "14": "硕士研究生", "21": "大学本科", "31": "大学专科",
    "41": "中等专科", "44": "职业高中", "47": "技工学校", "61": "普通高中", "60": "普通高中",
    "71": "初中", "70": "初中", "81": "小学", "80": "小学", "90": "其他",
}  # fmt: skip
_EMPLOYERS = (
    "上海华东电脑有限公司", "徐汇区环卫所", "上海家化联合股份有限公司", "上海申通地铁集团",
    "上海市第六人民医院", "上海城建物业管理有限公司", "上海联华超市", "个体工商户",
    "上海锦江国际酒店", "上海漕河泾开发区物业公司", "上海美团科技有限公司", "顺丰速运",
)  # fmt: skip


class HumanResources(Department):
    code = "hrss"
    name = "人力资源和社会保障"
    output = Output("hrss.csv", encoding="gbk")
    columns = (
        "个人编号", "证件类型", "证件号码", "社会保障卡号", "姓名", "性别", "出生日期", "民族",
        "就业状态", "参保状态", "单位名称", "文化程度", "手机号码", "户口性质", "居住地址",
    )  # fmt: skip
    quality = Quality(
        missing_id=0.012,
        family_id=0.001,
        wrong_digit=0.003,
        swapped_digits=0.003,
        wrong_check=0.002,
        mistyped_valid=0.0003,
        old_15=0.01,
        lowercase_x=0.1,
        full_width=0.002,
        spaced_id=0.005,
        homophone=0.008,
        lookalike=0.002,
        traditional=0.001,
        dot_dropped=0.6,
        birth_swap=0.002,
        birth_digit=0.002,
        bad_date=0.0003,
        stale_address=0.15,
        phone_format=0.25,
        stale_phone=0.06,
        missing_phone=0.03,
        unmapped=0.004,
        duplicate=0.015,
    )

    def covers(self, person: Resident, household: Household) -> bool:
        if person.age < 16:
            return False
        working = person.employment in WORKING
        pension = person.employment == "retired" and not person.migrant and not person.overseas
        if not (working or pension):
            return False
        rng = self.rng
        if person.lives_here:
            return rng.random() < (0.85 if working else 0.5)
        if person.status == "registered_here_living_elsewhere":
            return rng.random() < 0.25
        return person.left and person.was_here and rng.random() < 0.4

    def record(self, person: Resident, household: Household) -> Record:
        kinds: list[str] = []
        noise = self.noise
        rng = self.rng
        id_type = _ID_TYPES[person.id_type]
        number = self.id_number(person, household, kinds)
        if (not number and rng.random() < 0.6) or rng.random() < 0.03:
            kinds.append("other_identifier")
            id_type, number = "99", person.card
        employment = person.employment
        if employment in WORKING and rng.random() < 0.04:
            kinds.append("stale_employment")
            employment = rng.choice(("employed", "unemployed", "flexible"))
        work = self.unmapped(_WORK.get(employment, ""), ("退休返聘", "待业"), kinds)
        spell = self.house_spell(person, kinds)
        address = "" if spell is None else self.places.house_address(spell[3])
        if person.overseas:
            hukou = ""
        elif person.hukou_division.startswith("31"):
            hukou = "本市城镇"
        else:
            hukou = "外省市农业" if rng.random() < 0.6 else "外省市城镇"
        record_id = f"31{self.next_serial():010d}"
        values: dict[str, Value] = {
            "个人编号": record_id,
            "证件类型": id_type,
            "证件号码": number,
            "社会保障卡号": person.card,
            "姓名": noise.name(person.name, kinds),
            "性别": noise.sex(person.sex, kinds),
            "出生日期": self.birth(person, kinds, ymd if rng.random() < 0.7 else iso),
            "民族": person.ethnicity,
            "就业状态": work,
            "参保状态": "参保缴费" if employment in WORKING - {"unemployed"} else "暂停缴费",
            "单位名称": rng.choice(_EMPLOYERS) if employment == "employed" else "",
            "文化程度": _SCHOOLING.get(person.education, ""),
            "手机号码": self.phone(person, kinds),
            "户口性质": hukou,
            "居住地址": address,
        }
        return Record(record_id, person.key, values, kinds)
