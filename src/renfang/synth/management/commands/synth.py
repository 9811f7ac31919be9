"""``renfang synth``: write a synthetic district (areas.csv, houses.csv, register.csv)."""

from __future__ import annotations

import dataclasses
import datetime
import time
from argparse import ArgumentParser, ArgumentTypeError
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from renfang.synth.district import DistrictGenerator, Summary
from renfang.synth.extracts.write import EXTRACTS, write_extracts
from renfang.synth.places import XUHUI, district_codes

MAX_PEOPLE = 10_000_000
OUTPUT_FILES = ("areas.csv", "houses.csv", "register.csv")


def people_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise ArgumentTypeError(f"{text!r} is not a whole number") from exc
    if not 1 <= value <= MAX_PEOPLE:
        raise ArgumentTypeError(f"{value} is not between 1 and {MAX_PEOPLE:,}")
    return value


def seed_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise ArgumentTypeError(f"{text!r} is not a whole number") from exc
    if value < 0:
        raise ArgumentTypeError("the seed is a whole number from 0 up")
    return value


def _day(text: str) -> datetime.date:
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError as exc:
        raise ArgumentTypeError(f"{text!r} is not a date like 2025-12-31") from exc
    if not datetime.date(2000, 1, 1) <= day <= datetime.date(2099, 12, 31):
        raise ArgumentTypeError(f"{day} is not between 2000-01-01 and 2099-12-31")
    return day


def _grids(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise ArgumentTypeError(f"{text!r} is not a whole number") from exc
    if not 0 <= value <= 50:
        raise ArgumentTypeError("grids per committee is between 0 and 50")
    return value


def prepare_output(out: Path, *, force: bool) -> None:
    """Make ``out``; refuse a directory that already holds files unless forced."""
    if out.exists() and not out.is_dir():
        raise CommandError(_("%(path)s exists and is not a directory") % {"path": out})
    if out.is_dir() and any(out.iterdir()) and not force:
        raise CommandError(
            _("%(path)s is not empty; choose another directory or pass --force to overwrite")
            % {"path": out}
        )
    out.mkdir(parents=True, exist_ok=True)


def generate(
    *,
    people: int,
    seed: int,
    out: Path,
    district: str = XUHUI,
    as_of: datetime.date = datetime.date(2025, 12, 31),
    grids: int = 0,
    progress: bool = False,
    extracts: bool = False,
) -> Summary:
    """Write the three files of a synthetic district into ``out`` (which must exist); with
    ``extracts``, also the department extracts of the same district in ``out/extracts``."""
    generator = DistrictGenerator(
        people=people, seed=seed, district=district, as_of=as_of, grids=grids
    )
    if not extracts:
        return generator.write(out, progress=progress)
    households = out / ".households.partial"
    try:
        summary = generator.write(out, progress=progress, households=households)
        written = write_extracts(
            out,
            households,
            seed=seed,
            as_of=as_of,
            district=district,
            people=summary.people,
            progress=progress,
        )
    finally:
        households.unlink(missing_ok=True)
    return dataclasses.replace(summary, extracts=written)


class Command(BaseCommand):
    help = "Write a reproducible synthetic district: areas.csv, houses.csv and register.csv."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--people",
            type=people_count,
            required=True,
            help="people in the register (all who ever lived there)",
        )
        parser.add_argument(
            "--seed",
            type=seed_number,
            required=True,
            help="same seed and people: the same files, byte for byte",
        )
        parser.add_argument(
            "--out", type=Path, required=True, help="directory to write the files into"
        )
        parser.add_argument(
            "--district",
            default=XUHUI,
            help="division code of a Shanghai district (default 310104, Xuhui)",
        )
        parser.add_argument(
            "--as-of",
            type=_day,
            default=datetime.date(2025, 12, 31),
            help="the day the register is as of (default 2025-12-31)",
        )
        parser.add_argument(
            "--grids", type=_grids, default=0, help="grids per committee (default none)"
        )
        parser.add_argument(
            "--force", action="store_true", help="write into a directory that is not empty"
        )
        parser.add_argument(
            "--extracts",
            action="store_true",
            help=(
                f"also write department extracts of the same people into OUT/{EXTRACTS}/: "
                "files, mappings, sources.txt and truth.csv"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        district: str = options["district"]
        if district not in district_codes():
            raise CommandError(
                _("%(code)s is not a district of Shanghai (e.g. 310104 for Xuhui)")
                % {"code": district}
            )
        out: Path = options["out"]
        prepare_output(out, force=options["force"])
        started = time.monotonic()
        summary = generate(
            people=options["people"],
            seed=options["seed"],
            out=out,
            district=district,
            as_of=options["as_of"],
            grids=options["grids"],
            progress=options["verbosity"] >= 1,
            extracts=options["extracts"],
        )
        seconds = time.monotonic() - started
        self.stdout.write(
            _(
                "Wrote %(people)s people (%(rows)s register rows), %(houses)s houses and "
                "%(areas)s areas to %(out)s in %(seconds).1f s."
            )
            % {
                "people": f"{summary.people:,}",
                "rows": f"{summary.register_rows:,}",
                "houses": f"{summary.houses:,}",
                "areas": f"{summary.areas:,}",
                "out": out,
                "seconds": seconds,
            }
        )
        if summary.extracts is not None:
            extracts = summary.extracts
            self.stdout.write(
                _(
                    "Department extracts in %(out)s: %(records)s records of %(persons)s "
                    "distinct people (%(duplicates)s recorded twice in one source)."
                )
                % {
                    "out": out / EXTRACTS,
                    "records": f"{sum(extracts.records.values()):,}",
                    "persons": f"{extracts.persons:,}",
                    "duplicates": f"{sum(extracts.duplicates.values()):,}",
                }
            )
            for code, count in extracts.records.items():
                self.stdout.write(f"  {code}: {count:,}")
        if options["verbosity"] >= 2:
            for status, count in summary.by_status.items():
                self.stdout.write(f"  {status}: {count:,}")
