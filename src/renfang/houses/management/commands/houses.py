"""``renfang houses load FILE.csv``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from renfang.core.commands import action_parser
from renfang.core.csvimport import ImportRejected
from renfang.houses.services import houses_load


class Command(BaseCommand):
    help = (
        "Load houses from a houses.csv (house_code,area_code,road,number,building,unit,room,"
        "kind,use,use_from,floor_area,rooms,latitude,longitude). All or nothing; loading the "
        "same file again changes nothing; a changed use closes the old one and opens the new."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        load = action_parser(actions, "load", help="load a houses.csv")
        load.add_argument("file", type=Path, metavar="FILE.csv")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            result = houses_load(path=path, progress=options["verbosity"] >= 1)
        except ImportRejected as exc:
            raise exc.as_command_error() from exc
        self.stdout.write(str(result))
