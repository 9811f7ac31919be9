"""``renfang areas load FILE.csv`` and ``renfang areas load-builtin``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from renfang.areas.services import areas_load, areas_load_builtin
from renfang.core.commands import action_parser
from renfang.core.csvimport import ImportRejected


class Command(BaseCommand):
    help = (
        "Load areas (divisions): `load FILE.csv` with columns code,name,parent_code,level "
        "(levels city, district, street, committee, grid), or `load-builtin` for Shanghai's "
        "districts, streets and towns and Xuhui's committees. All or nothing; idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        load = action_parser(actions, "load", help="load an area file")
        load.add_argument("file", type=Path, metavar="FILE.csv")
        action_parser(actions, "load-builtin", help="load the Shanghai areas shipped with renfang")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "load":
                path: Path = options["file"]
                if not path.is_file():
                    raise CommandError(f"no such file: {path}")
                result = areas_load(path=path)
            else:
                result = areas_load_builtin()
        except ImportRejected as exc:
            raise exc.as_command_error() from exc
        self.stdout.write(str(result))
