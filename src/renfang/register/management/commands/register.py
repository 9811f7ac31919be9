"""``renfang register import FILE`` and ``renfang register export FILE``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from renfang.core.commands import action_parser
from renfang.core.csvimport import ImportRejected
from renfang.people.golden import no_history_note
from renfang.register.exporter import register_export
from renfang.register.importer import register_import


class Command(BaseCommand):
    help = "Import or export the register in the register format (one CSV row per residence spell)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{import,export}")
        importing = action_parser(
            actions,
            "import",
            help="import a register-format CSV: all rows or none; importing twice changes nothing",
        )
        importing.add_argument("file", type=Path)
        importing.add_argument(
            "--no-progress", action="store_true", help="do not show a progress bar"
        )
        exporting = action_parser(
            actions, "export", help="write the register as a register-format CSV"
        )
        exporting.add_argument("file", type=Path)
        exporting.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        progress = not options["no_progress"]
        if options["action"] == "import":
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
            try:
                summary = register_import(path=path, progress=progress)
            except ImportRejected as rejected:
                raise rejected.as_command_error() from rejected
            self.stdout.write(f"imported {path}: {summary.as_text()}")
            note = no_history_note(summary.no_history)
            if note:
                self.stdout.write(self.style.WARNING(note))
            if options["verbosity"] >= 2:
                for stage, seconds in summary.stages.items():
                    self.stdout.write(f"  {stage}: {seconds:.1f} s")
        else:
            if path.parent and not path.parent.exists():
                raise CommandError(f"{path.parent}: no such directory")
            rows = register_export(path=path, progress=progress)
            self.stdout.write(f"exported {rows} rows to {path}")
