"""Writes to the code sets: loading set files into the tables, versioned.

Loading a set compares the file with the table. Nothing differs: nothing is written, the
version stays. Something differs: the set's version goes up by one; codes new to the set start
at that version (``since_version``); codes missing from the file are closed (``active=False``,
``until_version`` = the version that dropped them) but never deleted, since old records still
carry them; names, English names, the sensitive flag and the order follow the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from renfang.codes.files import (
    DIVISION_HISTORY_CSV,
    CodeSetSource,
    division_history,
    package_sources,
    read_sources,
)
from renfang.codes.models import Code, CodeSet, HistoricDivision
from renfang.codes.selectors import clear_cache
from renfang.core.csvimport import ImportRejected, RowError


@dataclass(frozen=True)
class CodeSetLoadResult:
    key: str
    version: int
    created: bool = False
    added: int = 0  # new codes, and closed codes that came back
    closed: int = 0
    changed: int = 0  # name, English name, sensitivity or order changed

    @property
    def unchanged(self) -> bool:
        return not (self.created or self.added or self.closed or self.changed)

    def __str__(self) -> str:
        if self.created:
            return f"{self.key}: created, version {self.version}, {self.added} codes"
        if self.unchanged:
            return f"{self.key}: unchanged, version {self.version}"
        return (
            f"{self.key}: version {self.version} "
            f"({self.added} added, {self.closed} closed, {self.changed} changed)"
        )


def _set_create(source: CodeSetSource) -> CodeSetLoadResult:
    assert source.meta is not None
    code_set = CodeSet.objects.create(
        key=source.key,
        name=source.meta.name,
        name_en=source.meta.name_en,
        standard=source.meta.standard,
        version=1,
    )
    Code.objects.bulk_create(
        [
            Code(
                code_set=code_set,
                code=row.code,
                name=row.name,
                name_en=row.name_en,
                sensitive=row.sensitive,
                sort_order=position,
                since_version=1,
            )
            for position, row in enumerate(source.codes)
        ],
        batch_size=1000,
    )
    return CodeSetLoadResult(source.key, 1, created=True, added=len(source.codes))


def _set_update(code_set: CodeSet, source: CodeSetSource) -> CodeSetLoadResult:
    version = code_set.version + 1  # used only if something changed
    existing = {code.code: code for code in code_set.codes.all()}
    new_codes: list[Code] = []
    touched: list[Code] = []
    added = changed = 0
    for position, row in enumerate(source.codes):
        code = existing.get(row.code)
        if code is None:
            new_codes.append(
                Code(
                    code_set=code_set,
                    code=row.code,
                    name=row.name,
                    name_en=row.name_en,
                    sensitive=row.sensitive,
                    sort_order=position,
                    since_version=version,
                )
            )
            continue
        differs = (code.name, code.name_en, code.sensitive, code.sort_order) != (
            row.name,
            row.name_en,
            row.sensitive,
            position,
        )
        if not code.active:
            # Back in the set: its current span starts now.
            code.active, code.since_version, code.until_version = True, version, None
            added += 1
        elif differs:
            changed += 1
        else:
            continue
        code.name, code.name_en, code.sensitive, code.sort_order = (
            row.name,
            row.name_en,
            row.sensitive,
            position,
        )
        touched.append(code)
    in_file = {row.code for row in source.codes}
    for code in existing.values():
        if code.active and code.code not in in_file:
            code.active, code.until_version = False, version
            touched.append(code)
    closed = sum(1 for code in touched if not code.active)
    added += len(new_codes)

    meta = source.meta
    meta_changed = meta is not None and (meta.name, meta.name_en, meta.standard) != (
        code_set.name,
        code_set.name_en,
        code_set.standard,
    )
    if meta is not None:
        code_set.name, code_set.name_en, code_set.standard = meta.name, meta.name_en, meta.standard
    if not (new_codes or touched):
        if meta_changed:  # a renamed set is not a new version of its codes
            code_set.save(update_fields=["name", "name_en", "standard", "loaded_at"])
        return CodeSetLoadResult(code_set.key, code_set.version)
    Code.objects.bulk_create(new_codes, batch_size=1000)
    Code.objects.bulk_update(
        touched,
        ["name", "name_en", "sensitive", "sort_order", "active", "since_version", "until_version"],
        batch_size=500,
    )
    code_set.version = version
    code_set.save()
    return CodeSetLoadResult(code_set.key, version, added=added, closed=closed, changed=changed)


def code_sets_load(*, sources: list[CodeSetSource]) -> list[CodeSetLoadResult]:
    """Load these sets, all or nothing. A set that is not in the tables yet needs its index row
    (its name); raises ImportRejected otherwise."""
    known = set(
        CodeSet.objects.filter(key__in=[s.key for s in sources]).values_list("key", flat=True)
    )
    for source in sources:
        if source.meta is None and source.key not in known:
            raise ImportRejected(
                [RowError(1, "-", f"there is no code set {source.key}: list it in code_sets.csv")],
                file_name=source.file_name,
            )
    results = []
    try:
        with transaction.atomic():
            for source in sources:
                code_set = CodeSet.objects.select_for_update().filter(key=source.key).first()
                if code_set is None:
                    results.append(_set_create(source))
                else:
                    results.append(_set_update(code_set, source))
    finally:
        clear_cache()
    return results


def code_sets_load_files(*, paths: list[Path]) -> list[CodeSetLoadResult]:
    """Load a district's own set files and directories (``renfang codes load PATH``)."""
    return code_sets_load(sources=read_sources(paths))


def code_sets_load_package() -> list[CodeSetLoadResult]:
    """Load every set shipped with renfang (``renfang codes load``)."""
    return code_sets_load(sources=package_sources())


def code_sets_load_missing(*, using: str = DEFAULT_DB_ALIAS) -> list[CodeSetLoadResult]:
    """Load the package sets the tables do not have yet; sets already there are left alone, so a
    district's own changes survive. Runs after ``migrate``: a new database has its code sets."""
    if using != DEFAULT_DB_ALIAS:
        return []
    tables = connections[using].introspection.table_names()
    if CodeSet._meta.db_table not in tables or Code._meta.db_table not in tables:
        return []
    present = set(CodeSet.objects.values_list("key", flat=True))
    missing = [source for source in package_sources() if source.key not in present]
    return code_sets_load(sources=missing) if missing else []


@dataclass(frozen=True)
class DivisionHistoryLoadResult:
    codes: int
    added: int = 0
    changed: int = 0

    def __str__(self) -> str:
        if not (self.added or self.changed):
            return f"division history: unchanged, {self.codes} historic codes"
        return (
            f"division history: {self.codes} historic codes "
            f"({self.added} added, {self.changed} changed)"
        )


_HISTORY_FIELDS = ["name", "full_name", "first_seen", "last_seen", "gone_in", "successor"]


def division_history_load(*, path: Path = DIVISION_HISTORY_CSV) -> DivisionHistoryLoadResult:
    """Load the historic division codes (GB/T 2260 codes of earlier revisions, ADR 0026) from
    their file: new codes are added, changed ones updated, nothing is deleted (records keep
    carrying a code the file may one day leave out). Loading the same file again writes
    nothing."""
    rows = division_history(path)
    try:
        with transaction.atomic():
            existing = {row.code: row for row in HistoricDivision.objects.all()}
            new: list[HistoricDivision] = []
            touched: list[HistoricDivision] = []
            for row in rows:
                values = {name: getattr(row, name) for name in _HISTORY_FIELDS}
                known = existing.get(row.code)
                if known is None:
                    new.append(HistoricDivision(code=row.code, **values))
                elif any(getattr(known, name) != value for name, value in values.items()):
                    for name, value in values.items():
                        setattr(known, name, value)
                    touched.append(known)
            HistoricDivision.objects.bulk_create(new, batch_size=1000)
            HistoricDivision.objects.bulk_update(touched, _HISTORY_FIELDS, batch_size=500)
    finally:
        clear_cache()
    return DivisionHistoryLoadResult(len(existing) + len(new), len(new), len(touched))


def division_history_load_missing(
    *, using: str = DEFAULT_DB_ALIAS
) -> DivisionHistoryLoadResult | None:
    """Load the historic division codes into a database that has none yet (after ``migrate``)."""
    if using != DEFAULT_DB_ALIAS:
        return None
    if HistoricDivision._meta.db_table not in connections[using].introspection.table_names():
        return None
    if HistoricDivision.objects.exists():
        return None
    return division_history_load()
