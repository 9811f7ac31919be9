"""A synthetic district: who lives there on the as-of date, who lived there, who left.

The generator fills a budget of people per status on the as-of date (the shares of seed
000's Xuhui, see ``Mix``), household by household: it picks a status with probability
proportional to what is left of its budget, so the file holds exactly ``people`` people and
the shares come out as planned. Each household gets a history — stays in houses of the
district, elsewhere in the city, or unknown — ending in that status on the as-of date.
"""

from __future__ import annotations

import datetime
import os
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Never

from tqdm import tqdm

from renfang.synth.addresses import HouseClass
from renfang.synth.households import PeopleMaker
from renfang.synth.houses import HEADER as HOUSES_HEADER
from renfang.synth.houses import HouseStock
from renfang.synth.ids import IdentityMaker
from renfang.synth.names import NameMaker
from renfang.synth.places import Geography
from renfang.synth.sampling import DateText, ordinal
from renfang.synth.statuses import HouseholdMaker, Status
from renfang.synth.timeline import Timelines
from renfang.synth.writer import AREAS_HEADER, CsvOut, RegisterOut, place_houses

if TYPE_CHECKING:
    from renfang.synth.extracts.write import ExtractsSummary


@dataclass(frozen=True)
class Mix:
    """Shares on the as-of date, from seed 000 (Xuhui, 2010); *policy* for a synthetic run."""

    registered: float = 0.712  # of the actual population
    consistent: float = 0.70  # of the registered residents living here
    domestic_migrant: float = 0.265
    overseas: float = 0.023
    living_elsewhere: float = 0.39  # of the registered population
    whereabouts_unknown: float = 0.04  # of the registered population
    # People who left before the as-of date, per person of the actual population on it.
    left_migrant: float = 0.38
    left_overseas: float = 0.02
    left_registered: float = 0.14  # deaths, moves out of the city, moves on

    def weights(self) -> dict[Status, float]:
        consistent = self.registered * self.consistent
        registered_population = consistent / (1 - self.living_elsewhere - self.whereabouts_unknown)
        return {
            Status.CONSISTENT: consistent,
            Status.LIVING_HERE_REGISTERED_ELSEWHERE: self.registered - consistent,
            Status.DOMESTIC_MIGRANT: self.domestic_migrant,
            Status.OVERSEAS: self.overseas,
            Status.REGISTERED_HERE_LIVING_ELSEWHERE: registered_population * self.living_elsewhere,
            Status.REGISTERED_HERE_WHEREABOUTS_UNKNOWN: registered_population
            * self.whereabouts_unknown,
            Status.LEFT_MIGRANT: self.left_migrant,
            Status.LEFT_OVERSEAS: self.left_overseas,
            Status.LEFT_REGISTERED: self.left_registered,
        }


def budgets(people: int, mix: Mix) -> dict[Status, int]:
    """People per status, summing exactly to ``people`` (largest remainders)."""
    weights = mix.weights()
    total = sum(weights.values())
    exact = {status: people * weight / total for status, weight in weights.items()}
    counts = {status: int(value) for status, value in exact.items()}
    by_remainder = sorted(exact, key=lambda status: counts[status] - exact[status])
    for status in by_remainder[: people - sum(counts.values())]:
        counts[status] += 1
    return counts


@dataclass(frozen=True)
class Summary:
    people: int
    register_rows: int
    houses: int
    areas: int
    by_status: dict[Status, int]
    extracts: ExtractsSummary | None = None  # when department extracts were written too


class DistrictGenerator:
    def __init__(
        self,
        *,
        people: int,
        seed: int,
        district: str,
        as_of: datetime.date,
        grids: int = 0,
        mix: Mix | None = None,
    ) -> None:
        self.people = people
        self.rng = rng = random.Random(seed)
        self.geography = Geography(district, rng, grids=grids)
        self.stock = HouseStock(rng, self.geography)
        self.as_of = as_of.toordinal()
        self.window_start = ordinal(as_of.year - 10)
        self.timelines = Timelines(
            rng, self.stock, self.geography, as_of=self.as_of, window_start=self.window_start
        )
        self.households = HouseholdMaker(
            rng,
            self.geography,
            self.timelines,
            PeopleMaker(rng, NameMaker(rng), IdentityMaker(rng)),
            as_of=self.as_of,
            window_start=self.window_start,
        )
        self.budgets = budgets(people, mix or Mix())
        self.date_text = DateText()

    # -- the run -----------------------------------------------------------------------------
    def write(
        self, out: Path, *, progress: bool = False, households: Path | None = None
    ) -> Summary:
        """Write areas.csv, houses.csv and register.csv into ``out`` (progress bars on
        stderr when asked). With ``households``, also write there one line per person of the
        register, in its order: household number, role and status — what department extracts
        need and the register does not say (who is whose spouse, child or parent)."""
        with CsvOut(out / "areas.csv", AREAS_HEADER) as areas:
            for area in self.geography.area_rows():
                areas.write((area.code, area.name, area.parent_code, area.level))
        unmapped = out / "register.csv.unmapped"
        try:
            with _bar(progress, self.people, "people") as bar:
                register = self._write_people(unmapped, bar.update, households)
            self.stock.pack()
            # Houses nobody in the register lives in: empty flats, shops that are only shops.
            self.stock.add_unused(len(self.stock) // 40, HouseClass.OWN)
            self.stock.add_unused(len(self.stock) // 60, HouseClass.SHOP)
            with CsvOut(out / "houses.csv", HOUSES_HEADER) as houses:
                houses.write_all(self.stock.rows(self.date_text))
            with _bar(progress, register.rows, "rows with houses") as bar:
                place_houses(unmapped, out / "register.csv", self.stock, bar.update)
        finally:
            unmapped.unlink(missing_ok=True)
        return Summary(
            people=register.people,
            register_rows=register.rows,
            houses=houses.rows,
            areas=areas.rows,
            by_status=dict(self.budgets),
        )

    def _write_people(
        self, path: Path, progress: Callable[[int], object], households: Path | None
    ) -> RegisterOut:
        """Households of the statuses still in budget, until the budget is spent."""
        rng = self.rng
        remaining = dict(self.budgets)
        left_total = self.people
        number = 0
        with (
            RegisterOut(path, self.date_text) as register,
            open(households or os.devnull, "w", encoding="utf-8", buffering=1 << 20) as sidecar,
        ):
            while left_total > 0:
                pick = rng.randrange(left_total)
                status = Status.CONSISTENT
                for candidate, count in remaining.items():
                    if pick < count:
                        status = candidate
                        break
                    pick -= count
                household = self.households.make(status, remaining[status])
                number += 1
                for person, stays in household:
                    register.write_person(person, stays)
                    if households is not None:
                        sidecar.write(f"{number}\t{person.role}\t{status}\n")
                remaining[status] -= len(household)
                left_total -= len(household)
                progress(len(household))
        return register


def _bar(shown: bool, total: int, unit: str) -> tqdm[Never]:
    return tqdm(
        total=total, unit=f" {unit}", disable=None if shown else True, file=sys.stderr,
        mininterval=0.5,
    )  # fmt: skip
