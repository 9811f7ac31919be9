"""``renfang sources add|mapping|list|show|check|publishers``: department systems, their
mappings, and the accounts that may publish their records one at a time."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from renfang.core.commands import action_parser
from renfang.sources.mapping import MappingError, MappingSpec, parse_mapping
from renfang.sources.models import ImportStatus, Source
from renfang.sources.selectors import (
    imports_list,
    mappings_list,
    source_get,
    sources_list,
    unmapped_codes_list,
)
from renfang.sources.services import SourceError, mapping_update, source_add
from renfang.sources.services.publish.publishers import source_publishers_set

if TYPE_CHECKING:
    from renfang.sources.selectors import ListedSource

IMPORTS_SHOWN = 10


def read_mapping_file(path: Path) -> str:
    if not path.is_file():
        raise CommandError(_("%(path)s: no such file") % {"path": path})
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CommandError(_("%(path)s: a mapping file is UTF-8 text") % {"path": path}) from exc


def mapping_refused(path: Path, error: MappingError) -> CommandError:
    return CommandError(
        _("%(path)s is not a usable mapping:") % {"path": path}
        + "".join(f"\n  {problem}" for problem in error.problems)
    )


def _when(at: Any) -> str:
    return f"{timezone.localtime(at):%Y-%m-%d %H:%M}" if at is not None else "-"


def _width(text: str) -> int:
    """Columns a text takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def table_text(rows: list[list[str]], indent: str = "") -> str:
    """Rows as aligned columns (for Chinese too)."""
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        indent
        + "  ".join(
            cell + " " * (width - _width(cell)) for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        for row in rows
    )


class Command(BaseCommand):
    help = str(_("Department systems (sources) and their mapping files."))

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="{add,mapping,list,show,check,publishers}"
        )
        adding = action_parser(actions, "add", help=str(_("register a source with its mapping")))
        adding.add_argument("code", help=str(_("the source's code, e.g. police")))
        adding.add_argument("--name", required=True, help=str(_("the source's name")))
        adding.add_argument("--mapping", required=True, type=Path, help=str(_("mapping YAML")))
        adding.add_argument(
            "--publisher",
            action="append",
            default=[],
            metavar="USERNAME",
            help=str(_("a user who may publish records of the source through the API")),
        )
        mapping = action_parser(
            actions, "mapping", help=str(_("give a source a new version of its mapping"))
        )
        mapping.add_argument("code")
        mapping.add_argument("file", type=Path)
        action_parser(actions, "list", help=str(_("every source with its figures")))
        showing = action_parser(
            actions, "show", help=str(_("a source's mappings, imports and unmapped codes"))
        )
        showing.add_argument("code")
        checking = action_parser(
            actions, "check", help=str(_("check a mapping file without saving anything"))
        )
        checking.add_argument("file", type=Path)
        publishing = action_parser(
            actions,
            "publishers",
            help=str(_("who may publish records of a source through the API")),
        )
        publishing.add_argument("code")
        publishing.add_argument("--add", action="append", default=[], metavar="USERNAME")
        publishing.add_argument("--remove", action="append", default=[], metavar="USERNAME")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "add":
            self.do_add(options["code"], options["name"], options["mapping"])
            if options["publisher"]:
                self.do_publishers(options["code"], options["publisher"], [])
        elif action == "publishers":
            self.do_publishers(options["code"], options["add"], options["remove"])
        elif action == "mapping":
            self.do_mapping(options["code"], options["file"])
        elif action == "list":
            self.do_list()
        elif action == "show":
            self.do_show(options["code"])
        else:
            self.do_check(options["file"])

    def do_add(self, code: str, name: str, path: Path) -> None:
        text = read_mapping_file(path)
        try:
            source = source_add(code, name, text, actor=None)
        except MappingError as error:
            raise mapping_refused(path, error) from error
        except SourceError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            _("added source %(code)s (%(name)s) with mapping version 1")
            % {"code": source.code, "name": source.name}
        )

    def do_publishers(self, code: str, add: list[str], remove: list[str]) -> None:
        source = source_or_error(code)
        try:
            names = source_publishers_set(source, add=add, remove=remove, actor=None)
        except SourceError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            _("publishers of %(code)s: %(names)s")
            % {"code": source.code, "names": ", ".join(names) or "-"}
        )

    def do_mapping(self, code: str, path: Path) -> None:
        source = source_or_error(code)
        text = read_mapping_file(path)
        current = source.current_mapping()
        try:
            mapping = mapping_update(source, text, actor=None)
        except MappingError as error:
            raise mapping_refused(path, error) from error
        if current is not None and mapping.pk == current.pk:
            self.stdout.write(
                _("the mapping of %(code)s is unchanged (version %(version)d)")
                % {"code": code, "version": mapping.version}
            )
        else:
            self.stdout.write(
                _("%(code)s: mapping version %(version)d; import the files again to apply it")
                % {"code": code, "version": mapping.version}
            )

    def do_list(self) -> None:
        sources = list(sources_list())
        if not sources:
            self.stdout.write(
                _(
                    "No sources. Add one with: renfang sources add CODE --name NAME "
                    "--mapping FILE.yaml"
                )
            )
            return
        rows = [
            [
                _("code"),
                _("name"),
                _("mapping"),
                _("records"),
                _("unmapped codes"),
                _("last import"),
            ]
        ]
        for source in sources:
            status = source.last_import_status
            last = f"{_when(source.last_import_at)} {ImportStatus(status).label}" if status else "-"
            rows.append(
                [
                    source.code,
                    source.name,
                    f"v{source.mapping_version}" if source.mapping_version else "-",
                    f"{source.record_count:,}",
                    f"{source.unmapped_count:,}",
                    last,
                ]
            )
        self.stdout.write(table_text(rows))

    def do_show(self, code: str) -> None:
        source = source_or_error(code)
        self.stdout.write(f"{source.code}  {source.name}")
        self.stdout.write(
            _("%(records)s records, %(unmapped)s unmapped codes")
            % {
                "records": f"{source.record_count:,}",
                "unmapped": f"{source.unmapped_count:,}",
            }
        )
        self.stdout.write("\n" + _("Mapping versions:"))
        for mapping in mappings_list(source):
            self.stdout.write(
                f"  v{mapping.version}  {_when(mapping.created_at)}  {mapping.created_by}"
            )
        imports = list(imports_list(source)[:IMPORTS_SHOWN])
        self.stdout.write("\n" + _("Last imports:"))
        if not imports:
            self.stdout.write("  -")
        rows = (
            [
                [
                    _("started"),
                    _("file"),
                    _("status"),
                    _("records"),
                    _("new"),
                    _("changed"),
                    _("unchanged"),
                    _("flagged"),
                ]
            ]
            if imports
            else []
        )
        for done in imports:
            rows.append(
                [
                    _when(done.started_at),
                    done.file_name,
                    str(done.get_status_display()),
                    f"{done.records:,}",
                    f"{done.new:,}",
                    f"{done.changed:,}",
                    f"{done.unchanged:,}",
                    f"{done.flagged:,}",
                ]
            )
        if rows:
            self.stdout.write(table_text(rows, indent="  "))
        codes = list(unmapped_codes_list(source))
        self.stdout.write("\n" + _("Unmapped codes:"))
        if not codes:
            self.stdout.write("  -")
            return
        rows = [[_("field"), _("value"), _("records")]]
        rows += [[c.field, c.value, f"{c.records:,}"] for c in codes]
        self.stdout.write(table_text(rows, indent="  "))

    def do_check(self, path: Path) -> None:
        text = read_mapping_file(path)
        try:
            spec = parse_mapping(text)
        except MappingError as error:
            raise mapping_refused(path, error) from error
        self.stdout.write(describe(path, spec))


def describe(path: Path, spec: MappingSpec) -> str:
    return _(
        "%(path)s is a good mapping: record id %(record_id)s; fields %(fields)s; "
        "reads the columns %(columns)s"
    ) % {
        "path": path,
        "record_id": spec.record_id.text,
        "fields": ", ".join(spec.fields),
        "columns": ", ".join(spec.columns),
    }


def source_or_error(code: str) -> ListedSource:
    source = source_get(code)
    if source is None:
        known = ", ".join(Source.objects.values_list("code", flat=True)) or "-"
        raise CommandError(
            _("there is no source %(code)s (sources: %(known)s)") % {"code": code, "known": known}
        )
    return source
