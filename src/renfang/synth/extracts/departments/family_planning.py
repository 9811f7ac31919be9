"""计生: family planning — women of 15 to 49 and children under 6 who live here (and some
who left: the records are not closed). UTF-8 with a byte-order mark, as Excel on Windows
saves it; dates as 1990/1/2; marital status in its own numbers (1 未婚 … 5 丧偶), often stale;
a child's record carries the mother and, now and then, the mother's ID number as its own."""

from __future__ import annotations

from renfang.synth.extracts.department import Department, Output, Record, Value, slashed
from renfang.synth.extracts.noise import Quality
from renfang.synth.extracts.population import Household, Resident

_MARITAL = {"10": "1", "20": "2", "21": "2", "22": "3", "40": "4", "30": "5"}  # 2: 已婚


class FamilyPlanning(Department):
    code = "family_planning"
    name = "计划生育服务管理"
    output = Output("family_planning.csv", encoding="utf-8-sig")
    columns = (
        "档案编号", "姓名", "性别", "出生日期", "证件号码", "婚姻状况", "配偶姓名", "现居住地址",
        "居委会代码", "户籍地", "户籍性质", "联系电话", "母亲姓名", "母亲证件号码", "更新日期",
    )  # fmt: skip
    quality = Quality(
        missing_id=0.04,
        family_id=0.008,
        wrong_digit=0.005,
        swapped_digits=0.003,
        wrong_check=0.003,
        mistyped_valid=0.0005,
        lowercase_x=0.2,
        full_width=0.005,
        homophone=0.015,
        lookalike=0.004,
        traditional=0.002,
        dropped_char=0.002,
        dot_dropped=0.5,
        birth_swap=0.004,
        birth_digit=0.003,
        bad_date=0.0005,
        stale_address=0.08,
        old_division=0.02,
        phone_format=0.3,
        stale_phone=0.08,
        missing_phone=0.05,
        unmapped=0.003,
        duplicate=0.012,
    )

    def covers(self, person: Resident, household: Household) -> bool:
        if person.overseas or not person.was_here:
            return False
        woman = person.sex == "2" and 15 <= person.age <= 49
        child = person.age < 6
        if not (woman or child):
            return False
        return self.rng.random() < (0.9 if person.lives_here else 0.25)

    def record(self, person: Resident, household: Household) -> Record:
        kinds: list[str] = []
        noise = self.noise
        child = person.age < 6
        marital = "" if child else _MARITAL.get(person.marital, "")
        if marital in ("2", "3") and self.rng.random() < 0.06:
            kinds.append("stale_marital_status")
            marital = "1"
        if marital:
            marital = self.unmapped(marital, ("6", "9"), kinds)
        spouse = mother = None
        for other in household:
            if person.role in ("head", "spouse") and other.role in ("head", "spouse"):
                spouse = other if other is not person else spouse
            if child and other.role in ("head", "spouse") and other.sex == "2":
                mother = other
        spell = self.house_spell(person, kinds)
        address = division = ""
        if spell is not None:
            address = self.places.house_address(spell[3], style="short")
            division = self.division(spell[2], kinds)
        updated = self.context.as_of.year - self.rng.randrange(4)
        record_id = f"JS{self.next_serial():09d}"
        values: dict[str, Value] = {
            "档案编号": record_id,
            "姓名": noise.name(person.name, kinds),
            "性别": "男" if noise.sex(person.sex, kinds) == "1" else "女",
            "出生日期": self.birth(person, kinds, slashed),
            "证件号码": self.id_number(person, household, kinds),
            "婚姻状况": marital,
            "配偶姓名": spouse.name if spouse is not None and marital in ("2", "3") else "",
            "现居住地址": address,
            "居委会代码": division,
            "户籍地": person.hukou_division,
            "户籍性质": "本市" if person.hukou_division.startswith("31") else "外省市",
            "联系电话": self.phone(mother if child and mother else person, kinds),
            "母亲姓名": mother.name if mother is not None else "",
            "母亲证件号码": mother.id_number if mother is not None else "",
            "更新日期": f"{updated}/{self.rng.randint(1, 12)}/{self.rng.randint(1, 28)}",
        }
        return Record(record_id, person.key, values, kinds)
