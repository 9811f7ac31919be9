"""``renfang codes load [PATH ...]``: load code sets, the package's or a district's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from renfang.codes.files import history_paths
from renfang.codes.services import (
    code_sets_load_files,
    code_sets_load_package,
    division_history_load,
)
from renfang.core.commands import action_parser
from renfang.core.csvimport import ImportRejected


class Command(BaseCommand):
    help = (
        "Load code sets. Without PATH: every set shipped with renfang. With PATH: a district's "
        "own set files (<key>.csv, a full copy of the set) or a directory of them, with a "
        "code_sets.csv index for new sets. A changed set gets a new version; codes missing "
        "from the file are closed, never deleted. Without PATH the historic division codes "
        "(earlier revisions of GB/T 2260) are loaded too; with PATH, a division_history.csv "
        "among them is (a district's own copy, e.g. with successors it adds)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        load = action_parser(actions, "load", help="load code set files")
        load.add_argument("paths", nargs="*", type=Path, metavar="PATH")

    def handle(self, *args: Any, **options: Any) -> None:
        paths: list[Path] = options["paths"]
        try:
            with transaction.atomic():  # the sets and the history: all or nothing
                if paths:
                    results = code_sets_load_files(paths=paths)
                    history = [division_history_load(path=path) for path in history_paths(paths)]
                else:
                    results = code_sets_load_package()
                    history = [division_history_load()]
        except ImportRejected as exc:
            raise exc.as_command_error() from exc
        except FileNotFoundError as exc:
            raise CommandError(str(exc)) from exc
        for result in [*results, *history]:
            self.stdout.write(str(result))
