"""``renfang links export FILE.csv``: every source record and its person."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from renfang.core.commands import action_parser
from renfang.linkage.selectors import links_export


class Command(BaseCommand):
    help = "Export the links of source records to persons (source,record_id,person_id)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{export}")
        exporting = action_parser(
            actions,
            "export",
            help="write source,record_id,person_id for every source record "
            "(a merged-away person as the person it was merged into)",
        )
        exporting.add_argument("file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if path.parent and not path.parent.exists():
            raise CommandError(f"{path.parent}: no such directory")
        rows = links_export(path)
        self.stdout.write(f"exported {rows} links to {path}")
