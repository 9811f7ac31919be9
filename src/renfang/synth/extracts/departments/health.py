"""卫健: residents' health records (居民健康档案) — most people who live here, foreigners too,
and the records of many who left. JSON Lines from a web system, keys in pinyin initials (xm
姓名, xb 性别, csrq 出生日期, zjhm 证件号码…), sex as M/F, ISO dates. Records are opened by
clinics from what patients say: the most ID errors of all, full-width digits and spaces
from copy and paste, old 15-digit numbers, and a medical insurance card number for some.
A death certificate fills in swrq 死亡日期 (empty in the extract: it holds the living)."""

from __future__ import annotations

from renfang.synth.extracts.department import Department, Output, Record, Value, iso
from renfang.synth.extracts.noise import Quality
from renfang.synth.extracts.population import Household, Resident

_ID_TYPES = {
    "resident_id": "01", "passport": "02", "hk_mo_permit": "03", "tw_permit": "04",
    "foreign_pr": "05",
}  # fmt: skip
_CLINICS = tuple(
    f"{place}社区卫生服务中心"
    for place in ("徐家汇街道", "田林街道", "枫林街道", "湖南街道", "斜土街道", "长桥街道",
                  "龙华街道", "漕河泾街道", "华泾镇")
)  # fmt: skip


class Health(Department):
    code = "health"
    name = "卫生健康（居民健康档案）"
    output = Output("health.jsonl", kind="jsonl")
    columns = (
        "jkdabh", "xm", "xb", "csrq", "zjlx", "zjhm", "lxdh", "xzz", "xzzqh", "hjqh", "mz",
        "hyzk", "jdrq", "jdjg", "swrq",
    )  # fmt: skip
    quality = Quality(
        missing_id=0.03,
        family_id=0.004,
        wrong_digit=0.006,
        swapped_digits=0.004,
        wrong_check=0.003,
        mistyped_valid=0.0005,
        old_15=0.05,
        lowercase_x=0.25,
        full_width=0.01,
        spaced_id=0.01,
        homophone=0.015,
        lookalike=0.005,
        traditional=0.005,
        dropped_char=0.002,
        name_space=0.005,
        dot_dropped=0.4,
        birth_swap=0.004,
        birth_digit=0.004,
        bad_date=0.0005,
        sex_flipped=0.001,
        stale_address=0.1,
        old_division=0.02,
        phone_format=0.3,
        stale_phone=0.1,
        missing_phone=0.05,
        unmapped=0.002,
        duplicate=0.025,
    )

    def covers(self, person: Resident, household: Household) -> bool:
        rng = self.rng
        if person.lives_here:
            return rng.random() < 0.92
        if person.left and person.was_here:
            return rng.random() < 0.3
        if person.status == "registered_here_living_elsewhere":
            return rng.random() < 0.1
        return False

    def record(self, person: Resident, household: Household) -> Record:
        kinds: list[str] = []
        noise = self.noise
        rng = self.rng
        id_type = _ID_TYPES[person.id_type]
        number = self.id_number(person, household, kinds)
        if not number and 16 <= person.age < 65 and rng.random() < 0.3:
            kinds.append("other_identifier")
            id_type, number = "99", person.card
        sex = noise.sex(person.sex, kinds)
        spell = self.house_spell(person, kinds)
        address = division = ""
        if spell is not None:
            address = self.places.house_address(spell[3], style="short")
            division = self.division(spell[2], kinds)
        opened = max(int(person.birth[:4]), self.context.as_of.year - rng.randrange(15))
        record_id = f"{self.places.district}{self.next_serial():011d}"
        values: dict[str, Value] = {
            "jkdabh": record_id,
            "xm": noise.name(person.name, kinds),
            "xb": self.unmapped({"1": "M", "2": "F"}.get(sex, ""), ("U", "X"), kinds),
            "csrq": self.birth(person, kinds, iso),
            "zjlx": id_type,
            "zjhm": number,
            "lxdh": self.phone(person, kinds),
            "xzz": address,
            "xzzqh": division,
            "hjqh": person.hukou_division if not person.overseas else "",
            "mz": person.ethnicity,
            "hyzk": person.marital if person.age >= 18 else "",
            "jdrq": iso(opened, rng.randint(1, 12), rng.randint(1, 28)),
            "jdjg": rng.choice(_CLINICS),
            "swrq": "",  # a death date, once a death certificate is issued
        }
        return Record(record_id, person.key, values, kinds)
