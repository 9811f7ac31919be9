"""The demo's month after the load: a few changes of the district, made through the paths a
real district would take, so that each department's feed (synth/feeds.py) has something to
show.

- The collectors' visits (实有人口登记): a register-format file of the people whose lives
  changed — moves within the district (out of the demo street, into it, a woman of 15–49
  elsewhere), departures, and overseas people who came to live here — imported by
  ``register_import`` as ``renfang register import`` would.
- Records the departments publish one at a time (``record_publish``): health records with a
  death date (卫健: the death certificate) and health records of newborns, sent by the family
  planning office (计生 is part of the health commission); marriage registrations (民政), sent
  by the civil affairs relief office; residence permits of domestic migrants who arrived
  (居住证, issued by the police), sent by the police bureau.

Every choice comes from the seeded generator over people sorted by their ID, and every date
lies in the 30 days before ``today``: the same seed on the same day gives the same changes,
and running them twice changes nothing the second time (the same file, the same records).
"""

from __future__ import annotations

import csv
import datetime
import random
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser

from renfang.areas.models import in_city
from renfang.people.models import Person
from renfang.register.importer import register_import
from renfang.sources.models import Source, SourceRecord, SourceRecordVersion
from renfang.sources.services.publish.publishers import source_publishers_set
from renfang.sources.services.publish.record import record_publish
from renfang.synth.extracts.department import Places, chinese_date, split_name
from renfang.synth.feeds import FAMILY_PLANNING, POLICE_BUREAU, RELIEF_OFFICE
from renfang.synth.ids import IdentityMaker
from renfang.synth.names import NameMaker

VISITS = "visits.csv"  # the collectors' file, beside register.csv
# Who sends which department's records (synth/feeds.py's offices).
PUBLISHERS = {
    "health": FAMILY_PLANNING,
    "civil_affairs": RELIEF_OFFICE,
    "residence_permit": POLICE_BUREAU,
}
_MONTH = datetime.timedelta(days=30)
_CHUNK = 500
_FEW = 50
Rows = list[dict[str, str]]


@dataclass
class ChangesSummary:
    """How many of each change the demo made."""

    moved: int = 0
    left: int = 0
    overseas_arrived: int = 0
    migrants_arrived: int = 0
    died: int = 0
    married: int = 0
    born: int = 0
    records: list[str] = field(default_factory=list)  # published, as source:record_id


@dataclass(frozen=True)
class Resident:
    """A person of register.csv who lives in the district on ``today``."""

    key: tuple[str, str]
    rows: Rows
    sex: str
    age: int

    @property
    def division(self) -> str:
        return self.rows[-1]["residence_division"]


def _age(birth: str, today: datetime.date) -> int:
    born = datetime.date.fromisoformat(birth)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _read(path: Path) -> Rows:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


class _Round:
    def __init__(
        self, out: Path, *, seed: int, district: str, street: str, today: datetime.date
    ) -> None:
        self.rng = random.Random(f"demo changes {seed}")
        self.out, self.district, self.street, self.today = out, district, street, today
        register = _read(out / "register.csv")
        self.header = list(register[0])
        people: dict[tuple[str, str], Rows] = defaultdict(list)
        for row in register:
            people[(row["id_type"], row["id_number"])].append(row)
        self.residents = [
            Resident(key, rows, rows[0]["sex"], _age(rows[0]["birth_date"], today))
            for key, rows in sorted(people.items())
            if not rows[-1]["residence_to"]
            and rows[-1]["residence_division"].startswith(district)
            # Living in the same place for longer than the month (a move or a departure
            # of the month ends the spell after it began).
            and rows[-1]["residence_from"] < (today - _MONTH).isoformat()
        ]
        self.houses: dict[str, list[str]] = defaultdict(list)
        for house in _read(out / "houses.csv"):
            self.houses[house["area_code"]].append(house["house_code"])
        self.places = Places(out, district)
        self.taken: set[tuple[str, str]] = set()
        self.visits: Rows = []

    # -- choosing ----------------------------------------------------------------------------
    def day(self) -> datetime.date:
        return self.today - datetime.timedelta(days=self.rng.randint(1, _MONTH.days))

    def candidates(self, wanted: Callable[[Resident], bool]) -> list[Resident]:
        """Residents with a resident ID not chosen yet who are ``wanted``, in a seeded order."""
        found = [
            r
            for r in self.residents
            if r.key not in self.taken and r.key[0] == "resident_id" and wanted(r)
        ]
        self.rng.shuffle(found)
        return found

    def pick(self, count: int, wanted: Callable[[Resident], bool]) -> list[Resident]:
        chosen = self.candidates(wanted)[:count]
        self.taken.update(r.key for r in chosen)
        return chosen

    def new_id(self, identity: IdentityMaker, region: str, born: int, sex: str) -> str:
        """A resident ID nobody holds (the generator knows only its own numbers)."""
        while True:
            number = identity.resident_id(region, born, sex)
            if not Person.objects.filter(id_number=number).exists():
                return number

    def in_street(self, resident: Resident) -> bool:
        return resident.division.startswith(self.street)

    def house(self, wanted: Callable[[str], bool]) -> tuple[str, str]:
        """(committee, house code) of a house in the district whose committee is ``wanted``."""
        areas = sorted(a for a in self.houses if a.startswith(self.district) and wanted(a))
        area = self.rng.choice(areas)
        return area, self.rng.choice(self.houses[area])

    # -- the collectors' visits ----------------------------------------------------------------
    def move(self, resident: Resident, to: Callable[[str], bool]) -> None:
        division, house = self.house(lambda a: to(a) and a != resident.division)
        day = self.day()
        rows = [dict(row) for row in resident.rows]
        rows[-1]["residence_to"] = (day - datetime.timedelta(days=1)).isoformat()
        rows.append(
            {
                **rows[-1],
                "residence_division": division,
                "residence_house_code": house,
                "residence_from": day.isoformat(),
                "residence_to": "",
            }
        )
        self.visits += rows

    def leave(self, resident: Resident) -> None:
        rows = [dict(row) for row in resident.rows]
        rows[-1]["residence_to"] = self.day().isoformat()
        self.visits += rows

    def overseas(self, identity: IdentityMaker, names: NameMaker, nationality: str) -> None:
        sex = self.rng.choice("12")
        born = self.today.toordinal() - self.rng.randint(22 * 365, 45 * 365)
        if nationality in ("HKG", "MAC"):
            id_type, number = "hk_mo_permit", identity.hk_mo_permit(nationality)
            name = names.traditional(sex)
        else:
            id_type, number = "passport", identity.passport(nationality)
            name = names.foreign(nationality, sex)
        division, house = self.house(lambda a: True)
        row = dict.fromkeys(self.header, "")
        row.update(
            id_type=id_type,
            id_number=number,
            name=name,
            sex=sex,
            birth_date=datetime.date.fromordinal(born).isoformat(),
            nationality=nationality,
            residence_division=division,
            residence_house_code=house,
            residence_from=self.day().isoformat(),
        )
        self.visits.append(row)

    def write_visits(self) -> Path:
        path = self.out / VISITS
        with path.open("w", encoding="utf-8", newline="") as file:
            writer = csv.DictWriter(file, self.header)
            writer.writeheader()
            writer.writerows(self.visits)
        return path


def _fertile(resident: Resident) -> bool:
    """A woman of 15–49 (育龄妇女), whom the family planning office follows."""
    return resident.sex == "2" and 15 <= resident.age <= 49


def _people(residents: list[Resident]) -> dict[tuple[str, str], Person]:
    """The persons these residents are, with one query per chunk (one by one, each would
    scan: the identity index covers unmerged persons only)."""
    numbers = sorted({r.key[1] for r in residents})
    found: dict[tuple[str, str], Person] = {}
    for offset in range(0, len(numbers), _CHUNK):
        chunk = numbers[offset : offset + _CHUNK]
        for person in Person.objects.filter(id_number__in=chunk, merged_into__isnull=True):
            found[(person.id_type, person.id_number)] = person
    return found


def _latest_raw(record: SourceRecord) -> dict[str, Any]:
    version = SourceRecordVersion.objects.filter(record=record).order_by("-version").first()
    return dict(version.raw) if version is not None else {}


def _marital(person: Person) -> str:
    golden = person.golden if isinstance(person.golden, dict) else {}
    entry = golden.get("marital_status")
    return str(entry.get("value") or "") if isinstance(entry, dict) else ""


class _Publisher:
    """Sends records as the offices do: each office a publisher of its source."""

    def __init__(self, users: Mapping[str, AbstractBaseUser], summary: ChangesSummary) -> None:
        self.sources: dict[str, tuple[Source, AbstractBaseUser]] = {}
        for code, username in PUBLISHERS.items():
            source = Source.objects.get(code=code)
            source_publishers_set(source, add=[username], actor=None)
            self.sources[code] = (source, users[username])
        self.summary = summary

    def send(self, code: str, values: dict[str, Any], today: datetime.date) -> None:
        source, user = self.sources[code]
        published = record_publish(source, values, actor=user, today=today)
        self.summary.records.append(f"{code}:{published.record_id}")


def demo_changes(
    out: Path,
    *,
    seed: int,
    district: str,
    street: str,
    users: Mapping[str, AbstractBaseUser],
    today: datetime.date,
) -> ChangesSummary:
    """Make the demo's changes (see the module's docstring) from the district files in
    ``out`` (register.csv, houses.csv, areas.csv), ``street`` being the relief office's."""
    run = _Round(out, seed=seed, district=district, street=street, today=today)
    summary = ChangesSummary()
    names, identity = NameMaker(run.rng), IdentityMaker(run.rng)

    # The collectors' visits: moves, departures, newcomers from abroad.
    for resident in run.pick(2, run.in_street):
        run.move(resident, lambda a: not a.startswith(street))
    for resident in run.pick(1, lambda r: not run.in_street(r)):
        run.move(resident, lambda a: a.startswith(street))
    for resident in run.pick(2, lambda r: _fertile(r) and not run.in_street(r)):
        run.move(resident, lambda a: True)
    summary.moved = len({row["id_number"] for row in run.visits})
    for resident in run.pick(1, run.in_street) + run.pick(1, _fertile):
        run.leave(resident)
    summary.left = len({row["id_number"] for row in run.visits}) - summary.moved
    for nationality in ("JPN", "HKG"):
        run.overseas(identity, names, nationality)
        summary.overseas_arrived += 1
    register_import(path=run.write_visits(), today=today)

    publisher = _Publisher(users, summary)
    _deaths(run, publisher, summary)
    _marriages(run, publisher, summary)
    _births(run, publisher, summary, names, identity)
    _migrants(run, publisher, summary, names, identity)
    return summary


def _deaths(run: _Round, publisher: _Publisher, summary: ChangesSummary) -> None:
    """Death certificates: the dead person's health record, now with its death date."""
    health = publisher.sources["health"][0]
    elsewhere: Callable[[Resident], bool] = lambda r: not run.in_street(r)  # noqa: E731
    for wanted in (run.in_street, run.in_street, elsewhere):
        # The first few of the seeded order: most of them have a health record.
        candidates = run.candidates(lambda r, w=wanted: r.age >= 70 and w(r))[:_FEW]  # type: ignore[misc]
        people = _people(candidates)
        records = {
            record.person_id: record
            for record in SourceRecord.objects.filter(
                source=health, person_id__in=[p.pk for p in people.values()]
            ).order_by("-pk")
        }
        for resident in candidates:
            person = people.get(resident.key)
            record = records.get(person.pk) if person is not None else None
            if record is None:
                continue  # no health record to close: another one
            run.taken.add(resident.key)
            raw = _latest_raw(record)
            raw["swrq"] = run.day().isoformat()
            publisher.send("health", raw, run.today)
            summary.died += 1
            break


def _marriages(run: _Round, publisher: _Publisher, summary: ChangesSummary) -> None:
    """Marriage registrations of unmarried couples of the demo street (民政 says 初婚)."""
    single: dict[str, list[tuple[Resident, Person]]] = {"1": [], "2": []}
    residents = [
        r
        for r in run.residents
        if r.key not in run.taken
        and r.key[0] == "resident_id"
        and 22 <= r.age <= 45
        and run.in_street(r)
    ]
    people = _people(residents)
    for resident in residents:
        person = people.get(resident.key)
        if person is not None and _marital(person) == "10":
            single[resident.sex].append((resident, person))
    couples = min(2, len(single["1"]), len(single["2"]))
    men = run.rng.sample(single["1"], couples)
    women = run.rng.sample(single["2"], couples)
    for number, couple in enumerate(zip(men, women, strict=True), 1):
        day = run.day()
        for index, (resident, person) in enumerate(couple):
            run.taken.add(resident.key)
            born = person.birth_date
            publisher.send(
                "civil_affairs",
                {
                    "业务编号": f"MZ9{number:03d}{index:04d}",
                    "业务类别": "婚姻登记",
                    "姓名": person.name,
                    "性别": "男" if person.sex == "1" else "女",
                    "身份证号": person.id_number,
                    "出生日期": chinese_date(born.year, born.month, born.day) if born else "",
                    "婚姻状况": "初婚",
                    "登记日期": chinese_date(day.year, day.month, day.day),
                },
                run.today,
            )
        summary.married += 1


def _births(
    run: _Round,
    publisher: _Publisher,
    summary: ChangesSummary,
    names: NameMaker,
    identity: IdentityMaker,
) -> None:
    """Health records the clinics open for newborns, at their mothers' homes."""
    for number, mother in enumerate(run.pick(3, lambda r: r.sex == "2" and 22 <= r.age <= 40), 1):
        latest = mother.rows[-1]
        born = run.day()
        sex = run.rng.choice("12")
        hukou = latest["hukou_division"]
        region = hukou[:6] if in_city(hukou) else run.district
        family, _given = split_name(latest["name"])
        publisher.send(
            "health",
            {
                "jkdabh": f"{run.district}9{number:010d}",
                "xm": (family or "王") + names.given_name(sex, born.toordinal()),
                "xb": "M" if sex == "1" else "F",
                "csrq": born.isoformat(),
                "zjlx": "01",
                "zjhm": run.new_id(identity, region, born.toordinal(), sex),
                "xzz": run.places.house_address(latest["residence_house_code"], style="short")
                if latest["residence_house_code"]
                else "",
                "xzzqh": latest["residence_division"],
                "hjqh": hukou,
                "mz": "01",
                "jdrq": born.isoformat(),
                "jdjg": "徐汇区妇幼保健所",
            },
            run.today,
        )
        summary.born += 1


def _migrants(
    run: _Round,
    publisher: _Publisher,
    summary: ChangesSummary,
    names: NameMaker,
    identity: IdentityMaker,
) -> None:
    """Residence permits of people who came from other provinces to live here."""
    counties = sorted(c for c in run.places.counties if not in_city(c) and c[4:] != "00")
    for number, sex in enumerate(("2", "2", "1"), 1):
        county = run.rng.choice(counties)
        born = run.today.toordinal() - run.rng.randint(20 * 365, 45 * 365)
        day = run.day()
        division, house = run.house(lambda a: True)
        family = names.family_name(shanghai=False)
        given = names.given_name(sex, born)
        publisher.send(
            "residence_permit",
            {
                "居住证号": f"JZ9{number:09d}",
                "姓": family,
                "名": given,
                "公民身份号码": run.new_id(identity, county, born, sex),
                "性别": "男性" if sex == "1" else "女性",
                "民族": "汉族",
                "出生日期": datetime.date.fromordinal(born).isoformat(),
                "户籍地址": run.places.division_address(county, run.rng),
                "户籍地区划": county,
                "居住地址": run.places.house_address(house, style="full"),
                "居住地区划": division,
                "居住起始日期": day.isoformat(),
                "签发日期": day.isoformat(),
                "文化程度": "大专",
                "婚姻状况": "未婚",
                "就业状况": "务工",
            },
            run.today,
        )
        summary.migrants_arrived += 1
